"""The dashboard's reads on a big ledger: the overview of each range and pages of the request log.

Fills a fresh store with `--rows` ledger rows spread over the last `--span` seconds, written by
the gateway's own ledger writer (rows and rollups in one transaction per batch; the fill rate is
printed, as the writer's cost), then times each query `--runs` times and prints medians.

Usage: .venv/bin/python bench/dashboard.py [--rows 1000000] [--span 86400] [--runs 5]
       [--store sqlite|postgresql] [--pg postgresql://127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import math
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aigateway.dashboard import queries
from aigateway.policy.ledger import Ledger
from aigateway.store.rows import LedgerRow
from aigateway.store.sql import open_store

MODELS = [
    f"{p}/{m}" for p, m in (("anthropic", "claude-sonnet-4.5"), ("openai", "gpt-5"), ("google", "gemini-2.5-pro"))
]
MODELS += ["anthropic/claude-haiku-4.5", "openai/gpt-5-mini", "xai/grok-4"]
PROVIDERS = ["anthropic", "openai", "google", "bedrock"]
KEYS = [f"key_{i:02d}" for i in range(20)]


def synthetic(n: int, start: float, span: float, seed: int = 1) -> list[LedgerRow]:
    """Traffic with a daily rhythm, a few popular models and keys, each model its own speed."""
    rnd = random.Random(seed)
    times: list[float] = []
    while len(times) < n:
        t = rnd.uniform(0, span)
        if rnd.random() < (1 + 0.6 * math.sin(2 * math.pi * (start + t) / 86400)) / 1.6:
            times.append(start + t)
    times.sort()
    rows = []
    for i, at in enumerate(times):
        m = rnd.choices(range(len(MODELS)), weights=(40, 25, 15, 10, 6, 4))[0]
        latency = rnd.lognormvariate(6.5 + 0.3 * m, 0.8)
        streamed = rnd.random() < 0.7
        inp, out = rnd.randint(10, 20000), rnd.randint(1, 2000)
        rows.append(
            LedgerRow(
                request_id=f"req_{i:09d}",
                created_at=at,
                key_id=KEYS[min(int(rnd.expovariate(0.3)), len(KEYS) - 1)],
                endpoint="messages",
                model=MODELS[m],
                provider=PROVIDERS[m % len(PROVIDERS)],
                upstream_model="m",
                streamed=streamed,
                status=200 if rnd.random() < 0.97 else rnd.choice((429, 500, 529)),
                error_type=None,
                stop_reason="end_turn",
                input_tokens=inp,
                output_tokens=out,
                cache_read_tokens=rnd.randint(0, 5000),
                cache_write_tokens=0,
                ttft_ms=latency / 4 if streamed else None,
                latency_ms=latency,
                cache_write_1h_tokens=0,
                cost_nanousd=(inp * 3000 + out * 15000) // (m + 1),
            )
        )
    return rows


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--span", type=float, default=86400)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg", default="postgresql://127.0.0.1:5432")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory()
    admin = None
    if args.store == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    else:
        import asyncpg

        name = "aigw_bench_" + uuid.uuid4().hex[:8]
        admin = await asyncpg.connect(args.pg + "/test")
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{args.pg}/{name}"
    engine = await open_store(url)
    try:
        now = time.time()
        rows = synthetic(args.rows, now - args.span, args.span)
        writer = Ledger(engine)
        t = time.perf_counter()
        for i in range(0, len(rows), 500):  # the writer's own batches
            await writer._write_all(rows[i : i + 500])
        fill = time.perf_counter() - t
        print(
            f"{args.store}: {args.rows} rows over {args.span / 3600:g} h written in {fill:.1f} s "
            f"({args.rows / fill:,.0f} rows/s with rollups)"
        )
        if args.store == "postgresql":
            async with engine.begin() as conn:
                await conn.exec_driver_sql("ANALYZE")
        print("| query | median ms |\n|---|---|")
        end = time.time()
        for label, span in (("1h", 3600), ("24h", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400)):
            for group in ("model", "key"):
                call = functools.partial(queries.series, engine, end - span, end, queries.pick_step(span), group)
                print(f"| overview {label} by {group} | {await timed(call, args.runs):.1f} |")
        first = functools.partial(queries.request_log, engine, end - 86400, end, {}, None, 50)
        print(f"| request log, first page | {await timed(first, args.runs):.1f} |")
        deep = functools.partial(
            queries.request_log, engine, end - 86400, end, {"model": MODELS[1]}, (now - args.span / 2, "req_~"), 50
        )
        print(f"| request log, one model, a page half way back | {await timed(deep, args.runs):.1f} |")
    finally:
        await engine.dispose()
        if admin is not None:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await admin.close()
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
