"""CPU the gateway spends placing prompt-cache breakpoints (pipeline/caching.py), per request.

Times, in this process, what `caching: auto` adds to one attempt: on a passthrough body (Claude
Code's 88 KB and 50 KB requests, once as sent, with three breakpoints of their own, and once with
none) and on the core request of a translated one. Medians of `--runs` runs of `--number` calls.

Usage: PYTHONPATH=src .venv/bin/python bench/caching.py [--runs 7] [--number 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support import fixtures

from aigateway.ir.messages import parse_request
from aigateway.pipeline import caching


def _capture(name: str, *, strip: bool) -> dict:
    body = json.loads((fixtures.ROOT / "requests" / f"{name}.json").read_text())["body"]
    body = json.loads(body) if isinstance(body, str) else body
    if strip:
        for m in body["messages"]:
            for b in m["content"] if isinstance(m["content"], list) else []:
                b.pop("cache_control", None)
        for b in body["system"]:
            b.pop("cache_control", None)
    return body


def _median_us(fn, runs: int, number: int) -> float:
    return statistics.median(timeit.repeat(fn, repeat=runs, number=number)) / number * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--number", type=int, default=200)
    args = ap.parse_args()
    for name in ("claude-code-sonnet-first-turn", "claude-code-unknown-model-tool-result-turn"):
        for strip in (False, True):
            raw = _capture(name, strip=strip)
            body = json.dumps(raw).encode()
            request = parse_request(raw)
            label = f"{name} ({len(body) // 1000} KB, {'no' if strip else 'its own'} breakpoints)"
            passthrough = _median_us(lambda b=body, r=raw: caching.mark_body(b, r, False), args.runs, args.number)
            core = _median_us(lambda q=request: caching.mark_request(q, False), args.runs, args.number)
            print(f"{label}: passthrough body {passthrough:.1f} µs, core request {core:.1f} µs")


if __name__ == "__main__":
    main()
