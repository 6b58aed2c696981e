"""aiohttp ClientSession vs httpx.AsyncClient as the gateway's pooled upstream client.

Starts bench/fake_upstream.py on its own CPU (0) and measures each client from this process on
the other (1), both pooled and on uvloop, POSTing the ~1 KB Messages body at each concurrency for
`--seconds`, alternating clients, `--repeats` times. Reports median requests/s and the client's
own CPU time per request (process CPU / requests: less sensitive to a shared machine than rps).

Usage: .venv/bin/python bench/client_compare.py [--concurrency 32 128] [--repeats 3] [--stream]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import MODEL, request_body
from procs import accepts, free_port, on_cpu, stop, wait_until

HEADERS = {"x-api-key": "anything", "anthropic-version": "2023-06-01", "content-type": "application/json"}
Post = Callable[[], Awaitable[int]]  # one request, body read to the end; returns bytes read


async def drive(post: Post, concurrency: int, seconds: float) -> tuple[int, float, float]:
    """Keeps `concurrency` requests in flight until the deadline: (requests, wall s, CPU s)."""
    count = 0

    async def worker(deadline: float) -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            if await post() <= 0:
                raise RuntimeError("empty response")
            count += 1

    await asyncio.gather(*(worker(time.perf_counter() + 0.5) for _ in range(concurrency)))  # warm-up
    count = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(t0 + seconds) for _ in range(concurrency)))
    return count, time.perf_counter() - t0, time.process_time() - cpu0


async def with_aiohttp(url: str, body: bytes, stream: bool, concurrency: int, seconds: float):  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def post() -> int:
            async with session.post(url, data=body, headers=HEADERS) as resp:
                if not stream:
                    return len(await resp.read())
                return sum([len(c) async for c in resp.content.iter_any()])

        return await drive(post, concurrency, seconds)


async def with_httpx(
    url: str,
    body: bytes,
    stream: bool,
    concurrency: int,
    seconds: float,  # type: ignore[no-untyped-def]
    lib=httpx,
):
    limits = lib.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with lib.AsyncClient(limits=limits, timeout=30) as client:

        async def post() -> int:
            if not stream:
                return len((await client.post(url, content=body, headers=HEADERS)).content)
            async with client.stream("POST", url, content=body, headers=HEADERS) as resp:
                return sum([len(c) async for c in resp.aiter_raw()])

        return await drive(post, concurrency, seconds)


CLIENTS = {"aiohttp": with_aiohttp, "httpx": with_httpx}
try:  # httpx's successor fork, if installed (the anthropic SDK pulls it in): same API
    import httpx2

    CLIENTS["httpx2"] = lambda *a: with_httpx(*a, lib=httpx2)
except ImportError:
    httpx2 = None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--concurrency", type=int, nargs="+", default=[32, 128])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    p.add_argument("--stream", action="store_true", help="read the 50-event SSE answer instead of JSON")
    args = p.parse_args()

    pinned = bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2
    if pinned:
        os.sched_setaffinity(0, {1})
    port = free_port()
    log = Path(os.devnull)
    up = subprocess.Popen(
        on_cpu("0", [sys.executable, str(Path(__file__).with_name("fake_upstream.py")), "--port", str(port)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1/messages"
    body = request_body(MODEL, args.stream)
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    try:
        wait_until(lambda: accepts(port), "fake upstream", up, log)
        for c in args.concurrency:
            for i in range(args.repeats):
                for name, fn in CLIENTS.items():
                    n, wall, cpu = uvloop.run(fn(url, body, args.stream, c, args.seconds))
                    runs.setdefault((name, c), []).append((n / wall, cpu / n * 1e6))
                    print(
                        f"  {name} c={c} run {i + 1}: {n / wall:.0f} req/s, {cpu / n * 1e6:.0f} µs CPU/req", flush=True
                    )
    finally:
        stop(up, signal.SIGTERM)

    kind = "SSE, 50 events" if args.stream else "JSON"
    print(f"\n| client ({kind}) | concurrency | req/s (median of {args.repeats}) | client CPU µs/req |")
    print("|---|---|---|---|")
    for (name, c), vals in runs.items():
        print(
            f"| {name} {version(name)} | {c} | {statistics.median(v[0] for v in vals):.0f} "
            f"| {statistics.median(v[1] for v in vals):.0f} |"
        )


def version(name: str) -> str:
    return {"aiohttp": aiohttp, "httpx": httpx, "httpx2": httpx2}[name].__version__


if __name__ == "__main__":
    main()
