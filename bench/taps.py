"""Passthrough tap CPU alone: every recorded 200 stream of Anthropic's API read by the tap that
watches a relayed stream (`Provider.passthrough_tap`): commit point, usage, stop reason, errors.

    .venv/bin/python bench/taps.py                 # median of 5 rounds, µs per event
    .venv/bin/python bench/taps.py --rounds 9

Each stream is fed one event per `feed`, as a paced upstream delivers it (the worst case: a read
that brings several events costs less per event). Run it on two checkouts in the same minute and
compare the medians: the machine is shared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fixtures import exchanges

from aigateway.providers.anthropic.tap import AnthropicStreamTap


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=100)
    args = ap.parse_args()
    streams = [ex.response_bytes() for ex in exchanges("anthropic") if ex.stream and ex.status == 200]
    events = [[block + b"\n\n" for block in body.split(b"\n\n") if block] for body in streams]
    count = sum(map(len, events))
    rounds = []
    for _ in range(args.rounds):
        start = time.process_time()
        for _ in range(args.repeat):
            for stream in events:
                tap = AnthropicStreamTap()
                for event in stream:
                    tap.feed(event)
                tap.finish()
        rounds.append((time.process_time() - start) / args.repeat / count * 1e6)
    print(f"anthropic tap: {statistics.median(rounds):.2f} µs per event ({count} events in {len(events)} streams)")


if __name__ == "__main__":
    main()
