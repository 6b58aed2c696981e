"""Translation CPU alone: every recorded 200 answer of every translating provider, decoded into
the core through the provider's public interface (`stream_decoder`, `read_message`), in-process.

    .venv/bin/python bench/decoders.py                 # median of 5 rounds, µs per event / per answer
    .venv/bin/python bench/decoders.py --rounds 9 --json out.json

Streams are fed whole (one `feed`, then `finish`); the figure is CPU time per event produced.
JSON answers are read whole; the figure is CPU time per answer. Run it on two checkouts (or
before and after a change) in the same minute and compare the medians: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fixtures import ROOT, exchanges

from aigateway.ir.messages import parse_request
from aigateway.providers.registry import DESCRIPTORS, build_provider

# fixture folder -> provider kind that translates it
FOLDERS = {
    "openai-chat": "openai",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral": "mistral",
    "ollama": "ollama",
    "openrouter": "openrouter",
    "together": "together",
    "xai": "xai",
    "gemini": "gemini",
    "bedrock": "bedrock",
}
REQUEST = parse_request({"model": "x/m", "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}]})


def _provider(kind: str):  # type: ignore[no-untyped-def]
    extra = {"region": "us-east-1"} if kind == "bedrock" else {}
    config = DESCRIPTORS[kind].config(base_url="http://127.0.0.1:9", api_key="k", **extra)
    return build_provider(kind, kind, config)


def _cases(folder: str, kind: str) -> list[tuple[str, bytes, bool]]:
    out = []
    for ex in exchanges(folder):
        if ex.status != 200 or not ex.response_file:
            continue
        if kind == "bedrock" and "converse" not in ex.url:
            continue  # InvokeModel answers are Claude's, passed through, not translated
        stream = ex.response_file.endswith((".sse", ".eventstream"))
        out.append((ex.name, ex.response_bytes(), stream))
    return out


def _round(provider, cases: list[tuple[str, bytes, bool]]) -> tuple[float, int, float, int]:  # type: ignore[no-untyped-def]
    stream_s = json_s = 0.0
    events = answers = 0
    for _, body, stream in cases:
        if stream:
            t = time.process_time()
            decoder = provider.stream_decoder(REQUEST, "x/m", "msg_bench", 0)
            produced = decoder.feed(body) + decoder.finish()
            stream_s += time.process_time() - t
            events += len(produced)
        else:
            t = time.process_time()
            provider.read_message(body, REQUEST, "x/m")
            json_s += time.process_time() - t
            answers += 1
    return stream_s, events, json_s, answers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--loops", type=int, default=200, help="decodes of each recording per round")
    ap.add_argument("--json", type=Path, help="write the medians here")
    args = ap.parse_args()
    if not (ROOT / "index.json").exists():
        sys.exit(f"no recordings at {ROOT} (set AIGATEWAY_FIXTURES)")
    results = {}
    print(f"{'provider':<14}{'streams':>8}{'events':>8}{'us/event':>10}{'answers':>9}{'us/answer':>11}")
    for folder, kind in FOLDERS.items():
        provider, cases = _provider(kind), _cases(folder, kind)
        if not cases:
            continue
        per_event, per_answer = [], []
        for _ in range(args.rounds):
            totals = [0.0, 0, 0.0, 0]
            for _ in range(args.loops):
                for i, v in enumerate(_round(provider, cases)):
                    totals[i] += v
            if totals[1]:
                per_event.append(totals[0] / totals[1] * 1e6)
            if totals[3]:
                per_answer.append(totals[2] / totals[3] * 1e6)
        ev = statistics.median(per_event) if per_event else None
        an = statistics.median(per_answer) if per_answer else None
        streams = sum(1 for c in cases if c[2])
        results[folder] = {"us_per_event": ev, "us_per_answer": an, "streams": streams, "answers": len(cases) - streams}
        events = totals[1] // args.loops
        print(
            f"{folder:<14}{streams:>8}{events:>8}{ev if ev is None else round(ev, 2)!s:>10}"
            f"{len(cases) - streams:>9}{an if an is None else round(an, 1)!s:>11}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
