"""Async load generator: the same Messages load straight to the upstream and through the gateway.

Each run keeps `concurrency` requests in flight (one worker per slot, pooled aiohttp session on
uvloop) until `--requests` are done or `--duration` seconds pass, after a discarded warm-up, and
reports latency p50/p99 (request sent -> body fully read), requests/s and, for streams, time to
first token (first content_block_delta) p50/p99. Overhead = gateway minus direct. Given the
server's pid, it also reports the server's CPU time per request, which other tenants of a shared
machine cannot inflate the way they inflate wall-clock latency.

Usage: python bench/load.py --direct http://127.0.0.1:9100 --gateway http://127.0.0.1:8080 \
           --key SECRET [--stream] [--concurrency 1] [--requests 2000 | --duration 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import time
from pathlib import Path

import aiohttp
import uvloop

MODEL = "claude-sonnet-4-5"
_PROMPT = (
    "Summarise the following notes in two sentences. The gateway forwards each request to the "
    "configured upstream with only the model id and the credentials changed. "
) * 6
_DELTA = b"event: content_block_delta"
_STOP = b"event: message_stop"
METRICS = ("p50_ms", "p99_ms", "rps", "ttft_p50_ms", "ttft_p99_ms")


def request_body(model: str, stream: bool) -> bytes:
    """~1 KB Messages body; the gateway is sent `anthropic/<model>`, the upstream `<model>`."""
    doc: dict[str, object] = {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": _PROMPT}]}
    if stream:
        doc["stream"] = True
    return json.dumps(doc, separators=(",", ":")).encode()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all threads included (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(p * len(sorted_values)) - 1)]


class Bad(Exception):
    """A response that is not the one expected (counted as an error, not timed)."""


async def _one(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], stream: bool
) -> tuple[float, float | None]:
    t0 = time.perf_counter()
    ttft = None
    async with session.post(url, data=body, headers=headers) as resp:
        if resp.status != 200:
            await resp.read()
            raise Bad(f"status {resp.status}")
        if not stream:
            await resp.read()
            return time.perf_counter() - t0, None
        tail = b""
        async for chunk in resp.content.iter_any():
            seen = tail + chunk  # a marker may straddle two chunks
            if ttft is None and _DELTA in seen:
                ttft = time.perf_counter() - t0
            tail = seen[-128:]
        if ttft is None or _STOP not in tail:
            raise Bad("stream without content_block_delta or message_stop")
    return time.perf_counter() - t0, ttft


async def run_load(
    url: str,
    *,
    headers: dict[str, str],
    body: bytes,
    stream: bool,
    concurrency: int,
    requests: int = 2000,
    duration: float | None = None,
    warmup: int = 100,
    server_pid: int | None = None,
) -> dict[str, object]:
    """One measured run against one target. Stops after `requests` or `duration` seconds."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    latencies: list[float] = []
    ttfts: list[float] = []
    errors: list[str] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker(budget: list[int], deadline: float, record: bool) -> None:
            while budget[0] > 0 and time.perf_counter() < deadline:
                budget[0] -= 1
                try:
                    lat, ttft = await _one(session, url, body, headers, stream)
                except (Bad, aiohttp.ClientError, TimeoutError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                if record:
                    latencies.append(lat)
                    if ttft is not None:
                        ttfts.append(ttft)

        async def phase(n: int, seconds: float, record: bool) -> float:
            budget, start = [n], time.perf_counter()
            await asyncio.gather(*(worker(budget, start + seconds, record) for _ in range(concurrency)))
            return time.perf_counter() - start

        await phase(warmup, 60.0, record=False)
        errors.clear()
        n, seconds = (1 << 62, duration) if duration else (requests, 600.0)  # both bounded
        cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
        elapsed = await phase(n, seconds, record=True)
        cpu = cpu_seconds(server_pid) - cpu0 if server_pid else None
    latencies.sort()
    ttfts.sort()
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p99_ms": ms(percentile(latencies, 0.99)),
        "ttft_p50_ms": ms(percentile(ttfts, 0.50)),
        "ttft_p99_ms": ms(percentile(ttfts, 0.99)),
        "server_cpu_us": None if cpu is None or not latencies else round(cpu / len(latencies) * 1e6, 1),
    }


async def compare(
    direct: str,
    gateway: str,
    key: str,
    *,
    stream: bool,
    concurrency: int,
    requests: int = 2000,
    duration: float | None = None,
    warmup: int = 100,
    pids: dict[str, int] | None = None,
) -> dict[str, object]:
    """The same load to the upstream (as the gateway would call it) and through the gateway."""
    common = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
    targets = {
        "direct": (direct, {**common, "x-api-key": "anything"}, request_body(MODEL, stream)),
        "gateway": (gateway, {**common, "x-api-key": key}, request_body("anthropic/" + MODEL, stream)),
    }
    out: dict[str, object] = {}
    for name, (base, headers, body) in targets.items():
        out[name] = await run_load(
            base.rstrip("/") + "/v1/messages",
            headers=headers,
            body=body,
            stream=stream,
            concurrency=concurrency,
            requests=requests,
            duration=duration,
            warmup=warmup,
            server_pid=(pids or {}).get(name),
        )
    out["overhead"] = overhead(out["direct"], out["gateway"])  # type: ignore[arg-type]
    return out


def overhead(direct: dict[str, object], gateway: dict[str, object]) -> dict[str, float | None]:
    """Added latency (ms) of the gateway; negative rps means the gateway serves fewer requests/s."""
    diff = {}
    for m in METRICS:
        d, g = direct.get(m), gateway.get(m)
        diff[m] = None if d is None or g is None else round(g - d, 3)  # type: ignore[operator]
    return diff


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--direct", required=True, help="fake upstream base URL (127.0.0.1 only)")
    p.add_argument("--gateway", required=True, help="gateway base URL (127.0.0.1 only)")
    p.add_argument("--key", required=True, help="gateway key, sent as x-api-key")
    p.add_argument("--stream", action="store_true")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--duration", type=float, help="seconds per target instead of a request count")
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--direct-pid", type=int, help="upstream pid, to report its CPU time per request")
    p.add_argument("--gateway-pid", type=int, help="gateway pid, to report its CPU time per request")
    a = p.parse_args()
    for url in (a.direct, a.gateway):
        if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
            p.error("only loopback targets are allowed")
    result = uvloop.run(
        compare(
            a.direct,
            a.gateway,
            a.key,
            stream=a.stream,
            concurrency=a.concurrency,
            requests=a.requests,
            duration=a.duration,
            warmup=a.warmup,
            pids={"direct": a.direct_pid, "gateway": a.gateway_pid},
        )
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
