"""The gateway's own per-request work outside HTTP and the upstream call, in-process: µs of CPU.

What one non-streaming request of the benchmark's key (an RPM and a TPM limit, a monthly budget)
costs in request id, admission (`usable`, `admit`), settling, the ledger row, `Ledger.record`
with its spool, the JSON request log line (to /dev/null) and metrics, `--batch` requests per
event-loop iteration (as at c=32, where several requests finish in one iteration). Measured with
`time.process_time` (every thread), median of `--repeats` runs, each a fresh process; with
`--src A B ...` each checkout's `src/` in turn, interleaved, so two checkouts are compared in the
same minutes of a shared machine.

Usage: .venv/bin/python bench/request_work.py [--src src ../other-checkout/src] [--repeats 7]
       [--requests 20000] [--batch 32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def measure(requests: int, batch: int) -> dict[str, float]:
    import asyncio
    import time

    from sqlalchemy.ext.asyncio import create_async_engine

    from aigateway.asgi import new_request_id
    from aigateway.ir.usage import Usage
    from aigateway.observability.logging import log_request, setup_logging
    from aigateway.observability.metrics import Metrics
    from aigateway.policy.admission import Admission
    from aigateway.policy.counters import LocalCounters
    from aigateway.policy.keys import GatewayKey, KeyPolicy
    from aigateway.policy.ledger import Ledger
    from aigateway.policy.spool import Spool
    from aigateway.routing.catalog import Catalog, Route
    from aigateway.routing.prices import PriceBook, PriceTable
    from aigateway.store.rows import LedgerRow

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # the request log line goes to stderr
    setup_logging("info")
    catalog = Catalog.load()
    route = Route(
        "anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", catalog.get("anthropic/claude-sonnet-4-5")
    )
    admission = Admission(LocalCounters(), PriceTable.load(books={"anthropic": PriceBook("anthropic", "anthropic")}))
    policy = KeyPolicy(rpm=100_000_000, tpm=1_000_000_000, budget_nanousd=10**15, budget_period="month")
    key = GatewayKey("key_bench", "bench", "h", policy)
    body = b'{"model":"anthropic/claude-sonnet-4-5","max_tokens":1024,"messages":' + b"x" * 900 + b"}"
    usage = Usage(input_tokens=12, output_tokens=300)
    metrics = Metrics()
    routes = [route]

    async def one() -> None:
        rid = new_request_id()
        started, mono = time.time(), time.monotonic()
        admission.usable(key, routes, spends=True)
        ticket = await admission.admit(key, routes, body, 1024)
        cost = admission.settle(ticket, route, usage)
        row = LedgerRow.build(
            request_id=rid,
            started=started,
            started_mono=mono,
            key_id=key.id,
            endpoint="messages",
            model=route.model,
            provider=route.provider,
            upstream_model=route.upstream_model,
            streamed=False,
            status=200,
            stop_reason="end_turn",
            usage=usage,
            cost=cost,
            attempts=1,
        )
        ledger.record(row)
        log_request(row)
        metrics.observe(row, [])

    async def run() -> float:
        for _ in range(max(1, requests // 10 // batch)):  # warm-up
            for _ in range(batch):
                await one()
            await asyncio.sleep(0)
        ledger._buf.clear()
        began = time.process_time()
        for _ in range(requests // batch):
            for _ in range(batch):
                await one()
            await asyncio.sleep(0)  # the loop iteration ends (the spool writes its rows)
            if len(ledger._buf) > 500:  # the writer takes them every tick (not measured here)
                ledger._buf.clear()
        took = time.process_time() - began
        await asyncio.sleep(0.05)  # background settles (if any) finish
        return took

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_async_engine("sqlite+aiosqlite://")
        ledger = Ledger(engine, spool=Spool(Path(tmp) / "spool"))
        took = asyncio.run(run())
    return {"us_per_request": took / (requests // batch * batch) * 1e6}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--src", nargs="+", default=[str(BENCH.parent / "src")], help="checkouts' src/ directories")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--requests", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(measure(a.requests, a.batch)))
        return
    runs: dict[str, list[float]] = {src: [] for src in a.src}
    for _ in range(a.repeats):
        for src in a.src:
            env = {**os.environ, "PYTHONPATH": src}
            argv = [sys.executable, __file__, "--child", "--requests", str(a.requests), "--batch", str(a.batch)]
            out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
            runs[src].append(json.loads(out)["us_per_request"])
    print(f"load average {[round(x, 2) for x in os.getloadavg()]}")
    print("| src | µs/request, median (min-max) |\n|---|---|")
    for src, values in runs.items():
        print(f"| {src} | {statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f}) |")


if __name__ == "__main__":
    main()
