"""CPU the gateway spends on a response-cache miss (pipeline/response_cache.py), per request.

A miss is what `responseCache` adds to every request that goes upstream anyway: the key (one
BLAKE3 over the body's top-level members) and a lookup in the in-process store that finds
nothing. The Messages door reads the members with the request's head, so its miss is the key and
the lookup only; the OpenAI doors have the body decoded into objects, so theirs packs those
values (msgpack) and hashes that.
Timed on a small body (about 1 KB), on Claude Code's requests (50 and 88 KB) and on Codex's
(41 KB), with the floor beside it: hashing the same bytes once, nothing else. Also the Messages
door's head read as it is now (members, then the head from a few of them) beside one decode of
the head from the whole body, as it was. Medians of `--runs` runs of `--number` calls, µs of CPU
(`time.process_time`).

Usage: PYTHONPATH=src .venv/bin/python bench/response_cache.py [--runs 7] [--number 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from blake3 import blake3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import fixtures

from aigateway.frontends.anthropic.request import MessagesHead, read_head
from aigateway.pipeline.response_cache import Buffer, Entry, MemoryStore, ResponseCache, from_members, from_values
from aigateway.settings import ResponseCacheConfig

SMALL = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "metadata": {"user_id": "u-1"},
    "messages": [{"role": "user", "content": "Summarise this paragraph for me, please. " * 22}],
}


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--number", type=int, default=500)
    args = ap.parse_args()
    cache = ResponseCache(ResponseCacheConfig(), MemoryStore(1000, 64 * 2**20))
    loop = asyncio.new_event_loop()
    for i in range(1000):  # a full store, as after a while in service
        loop.run_until_complete(cache.put(i.to_bytes(20), Entry(b"{}", False), 3600))

    def miss(material: list[Buffer]) -> None:
        key = cache.key("key-id", "messages", "anthropic/claude-sonnet-4.5", False, material)
        lookup = cache.get(key)
        try:
            lookup.send(None)  # the in-process store never awaits: run the coroutine in place
        except StopIteration as done:
            assert done.value is None

    members = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
    whole_head = msgspec.json.Decoder(MessagesHead).decode
    for name, body in _bodies().items():
        read, values = members(body), msgspec.json.decode(body)
        messages = _median_us(lambda m=read: miss(from_members(m)), args.runs, args.number)
        openai = _median_us(lambda v=values: miss(from_values(v)), args.runs, args.number)
        floor = _median_us(lambda b=body: blake3(b).digest(), args.runs, args.number)
        line = (
            f"{name} ({len(body) / 1000:.1f} KB): miss on the Messages door {messages:.1f} µs,"
            f" on the OpenAI doors {openai:.1f} µs; hashing the body once {floor:.1f} µs"
        )
        if "max_tokens" in read:  # a Messages body
            head_now = _median_us(lambda b=body: read_head(b, MessagesHead), args.runs, args.number)
            head_was = _median_us(lambda b=body: whole_head(b), args.runs, args.number)
            line += f"; Messages head read {head_now:.1f} µs (one decode of the head from the body: {head_was:.1f} µs)"
        print(line)


if __name__ == "__main__":
    main()
