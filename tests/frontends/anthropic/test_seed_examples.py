"""The seed page's examples, run as written (only the base URL points at the gateway).

Python: verbatim with the last 0.x SDK, which still takes `temperature` as an argument (from 1.0
on it goes in `extra_body`); the same calls with the current SDK. TypeScript: node and the
official `@anthropic-ai/sdk`. All are installed by `./dev.sh test`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import fixtures
from tests.support.upstream import Reply

HERE = Path(__file__).parents[2]  # tests/
SDK0_PYTHON = HERE.parent / ".venv-sdk0" / "bin" / "python"
PROMPT = "Write a one-sentence bedtime story about a unicorn."


def recorded_text(ex) -> str:
    if ex.stream:
        texts = []
        for line in ex.response_bytes().decode().splitlines():
            if line.startswith("data: ") and '"text_delta"' in line:
                texts.append(json.loads(line[6:])["delta"]["text"])
        return "".join(texts)
    return json.loads(ex.response_bytes())["content"][0]["text"]


def run_example(cmd: list[str], source: Path, gateway, api_key: str, tmp_path: Path) -> str:
    script = tmp_path / source.name
    script.write_text(source.read_text().replace("http://127.0.0.1:8080", gateway.url))
    if source.suffix == ".mjs":  # resolve the SDK from the project's node_modules
        script = source.parent / f".run-{source.name}"
        script.write_text(source.read_text().replace("http://127.0.0.1:8080", gateway.url))
    env = {**os.environ, "AI_GATEWAY_API_KEY": api_key}
    env.pop("VERCEL_OIDC_TOKEN", None)
    try:
        proc = subprocess.run([*cmd, str(script)], capture_output=True, text=True, env=env, timeout=60)
    finally:
        if source.suffix == ".mjs":
            script.unlink()
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def assert_upstream_got_the_seed_request(upstream) -> None:
    (got,) = upstream.received
    body = json.loads(got.body)
    assert body["model"] == "claude-sonnet-4-5"
    assert body["temperature"] == 0.7 and body["max_tokens"] == 150
    assert body["messages"] == [{"role": "user", "content": PROMPT}]


@pytest.mark.parametrize(("example", "case"), [("create.py", "text-sync"), ("stream.py", "text-stream")])
def test_python_example_verbatim_with_sdk0(example, case, gateway, api_key, upstream, tmp_path):
    ex = fixtures.exchange("anthropic", case)
    assert SDK0_PYTHON.exists(), "run the suite with ./dev.sh test, which installs the 0.x SDK"
    version = subprocess.run(
        [str(SDK0_PYTHON), "-c", "import anthropic; print(anthropic.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.startswith("0.")
    upstream.expect(Reply.replay(ex))
    out = run_example([str(SDK0_PYTHON)], HERE / "seed" / example, gateway, api_key, tmp_path)
    assert recorded_text(ex) in out
    if not ex.stream:
        assert "Usage: Usage(" in out and "input_tokens=" in out
    assert_upstream_got_the_seed_request(upstream)


def test_python_example_with_current_sdk(client, upstream):
    sync, stream = fixtures.exchange("anthropic", "text-sync"), fixtures.exchange("anthropic", "text-stream")
    upstream.expect(Reply.replay(sync), Reply.replay(stream))
    params = {
        "model": "anthropic/claude-sonnet-4.5",
        "max_tokens": 150,
        "messages": [{"role": "user", "content": PROMPT}],
        "extra_body": {"temperature": 0.7},
    }
    message = client.messages.create(**params)
    assert message.content[0].text == recorded_text(sync)
    assert message.usage.input_tokens == json.loads(sync.response_bytes())["usage"]["input_tokens"]
    with client.messages.stream(**params) as streamed:
        assert "".join(streamed.text_stream) == recorded_text(stream)
    for got in upstream.received:
        assert json.loads(got.body)["temperature"] == 0.7


@pytest.mark.parametrize(("example", "case"), [("seed_create.mjs", "text-sync"), ("seed_stream.mjs", "text-stream")])
def test_typescript_example_with_node(example, case, gateway, api_key, upstream, tmp_path):
    ex = fixtures.exchange("anthropic", case)
    node = shutil.which("node")
    assert node, "node is needed for the TypeScript examples"
    assert (HERE / "node" / "node_modules" / "@anthropic-ai" / "sdk").exists(), "run ./dev.sh test"
    upstream.expect(Reply.replay(ex))
    out = run_example([node], HERE / "node" / example, gateway, api_key, tmp_path)
    assert recorded_text(ex) in out
    if not ex.stream:
        assert "Usage:" in out and "input_tokens" in out
    assert_upstream_got_the_seed_request(upstream)
