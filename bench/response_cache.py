"""CPU the gateway spends on the response cache (pipeline/response_cache.py), per request.

A miss is what `responseCache` adds to a request that goes upstream anyway: the key (GHASH, keyed
by the gateway's secret, over the body's top-level members, then BLAKE2b over that and the
scope), a lookup in a full in-process store that finds nothing, and storing the answer
afterwards. The Messages door reads the members with the request's head, so its key joins them
and hashes that; the OpenAI doors have the body decoded into objects, so theirs packs those
values (msgpack) and hashes that. A hit is the key and a lookup that finds the entry.
Timed on a small body (about 1 KB), on Claude Code's requests (50 and 88 KB) and on Codex's
(41 KB), with the floor beside them: GHASH over the body's bytes once, nothing else; and, for
the OpenAI doors' choice, a second scan of the body for its members. Also the Messages door's
head read as it is now (members, then the head from a few of them) beside one decode of the
head from the whole body, as it was. Medians of `--runs` runs of `--number` calls, µs of CPU
(`time.process_time`).

Usage: PYTHONPATH=src .venv/bin/python bench/response_cache.py [--runs 7] [--number 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import fixtures

from aigateway.frontends.anthropic.request import MessagesHead, read_head
from aigateway.pipeline.response_cache import Entry, MemoryStore, ResponseCache, from_members, from_values
from aigateway.settings import ResponseCacheConfig

SMALL = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "metadata": {"user_id": "u-1"},
    "messages": [{"role": "user", "content": "Summarise this paragraph for me, please. " * 22}],
}
ANSWER = Entry(b'{"type":"message"}' * 50, False, b"application/json", "end_turn")  # about 1 KB


def _bodies() -> dict[str, bytes]:
    bodies = {"small": json.dumps(SMALL).encode()}
    for name in ("claude-code-sonnet-first-turn", "claude-code-unknown-model-tool-result-turn", "codex-first-turn"):
        body = json.loads((fixtures.ROOT / "requests" / f"{name}.json").read_text())["body"]
        bodies[name] = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return bodies


def _median_us(fn: Callable[[], object], runs: int, number: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        for _ in range(number):
            fn()
        times.append(time.process_time() - start)
    return statistics.median(times) / number * 1e6


def _run(step: Coroutine[Any, Any, Any]) -> Any:
    """The in-process store never awaits: runs the coroutine in place."""
    try:
        step.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the in-process store awaited")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--number", type=int, default=500)
    args = ap.parse_args()
    secret = os.urandom(32)
    cache = ResponseCache(ResponseCacheConfig(), MemoryStore(1000, 2**40), lambda: secret)
    loop = asyncio.new_event_loop()
    for i in range(1000):  # a full store, as after a while in service
        loop.run_until_complete(cache.put(i.to_bytes(20), Entry(b"{}", False), 3600))
    counter = iter(range(10**9))

    def lookup(material: bytes) -> bytes:
        # Each call its own key id: a new slot, as for a request the store has not seen.
        key = cache.key(str(next(counter)), "messages", "anthropic/claude-sonnet-4.5", False, material)
        assert _run(cache.get(key)) is None
        return key

    def miss(material: bytes) -> None:
        _run(cache.put(lookup(material), ANSWER, 3600))  # evicts the least recent entry: the store stays full

    hits = ResponseCache(ResponseCacheConfig(), MemoryStore(1000, 2**40), lambda: secret)  # misses would evict these

    def hit(material: bytes) -> None:
        key = hits.key("hit", "messages", "anthropic/claude-sonnet-4.5", False, material)
        assert _run(hits.get(key)) is not None

    ghash, nonce = AESGCM(os.urandom(16)), bytes(12)
    members = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
    whole_head = msgspec.json.Decoder(MessagesHead).decode
    for name, body in _bodies().items():
        read, values = members(body), msgspec.json.decode(body)
        for material in (from_members(read), from_values(values)):  # entries for the hits, sent fresh each time
            _run(hits.put(hits.key("hit", "messages", "anthropic/claude-sonnet-4.5", False, material), ANSWER, 3600))
        doors = {"Messages door": lambda m=read: from_members(m), "OpenAI doors": lambda v=values: from_values(v)}
        line = f"{name} ({len(body) / 1000:.1f} KB):"
        for door, material in doors.items():
            whole = _median_us(lambda f=material: miss(f()), args.runs, args.number)
            looked = _median_us(lambda f=material: lookup(f()), args.runs, args.number)
            hit_ = _median_us(lambda f=material: hit(f()), args.runs, args.number)
            line += f" {door}: miss {whole:.1f} µs (key and lookup {looked:.1f}), hit {hit_:.1f};"
        floor = _median_us(lambda b=body: ghash.encrypt(nonce, b"", b), args.runs, args.number)
        scan = _median_us(lambda b=body: members(b), args.runs, args.number)
        line += f" GHASH over the body once {floor:.1f} µs; scanning it for its members {scan:.1f} µs"
        if "max_tokens" in read:  # a Messages body
            head_now = _median_us(lambda b=body: read_head(b, MessagesHead), args.runs, args.number)
            head_was = _median_us(lambda b=body: whole_head(b), args.runs, args.number)
            line += f"; Messages head read {head_now:.1f} µs (one decode of the head from the body: {head_was:.1f} µs)"
        print(line)


if __name__ == "__main__":
    main()
