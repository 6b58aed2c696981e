"""Async load generator (aiohttp on uvloop): latency, throughput, stream timing and server CPU.

`run_load(target, ...)` keeps `concurrency` requests in flight until `requests` are done (or
`duration` seconds pass), after a warm-up, and reports:
- p50/p99 latency, sent -> whole body read, and requests/s;
- for streams: time to first token (first chunk holding `target.first`), p50/p99; the gaps
  between chunk arrivals inside each stream (`gap_p50_ms`/`gap_p99_ms`: with a paced upstream one
  chunk is one event); events read (blank-line terminated SSE events) in total and per stream;
- the CPU time (utime + stime from /proc, every thread of the process and of its children) that
  the given server processes spent during the measured phase, per request, and their largest
  resident memory (VmRSS summed over the process tree, sampled every 100 ms) during it.
A response whose status differs from `target.status`, or a stream without `target.last`, counts as
an error and is not timed. `compare()` runs the same load straight to the upstream and through
the gateway; the difference is what the gateway adds.

Usage (against servers you started): python bench/load.py --direct URL --gateway URL --key KEY
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import uvloop

MODEL = "claude-sonnet-4-5"
_PROMPT = (
    "Summarise the following notes in two sentences. The gateway forwards each request to the "
    "configured upstream with only the model id and the credentials changed. "
) * 6
METRICS = ("p50_ms", "p99_ms", "rps", "ttft_p50_ms", "ttft_p99_ms", "gap_p50_ms", "gap_p99_ms")
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01", "content-type": "application/json"}


def request_body(model: str, stream: bool, size: int = 0, tools: bool = False) -> bytes:
    """~1 KB Messages body (or about `size` bytes, the prompt padded)."""
    prompt = _PROMPT
    doc: dict[str, object] = {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": prompt}]}
    if stream:
        doc["stream"] = True
    if tools:
        schema = {"type": "object", "properties": {"password": {"type": "string"}}, "required": ["password"]}
        doc["tools"] = [{"name": "secret_retrieval_tool", "description": "Retrieves a secret.", "input_schema": schema}]
    body = json.dumps(doc, separators=(",", ":")).encode()
    if size > len(body):
        doc["messages"] = [{"role": "user", "content": prompt + "x" * (size - len(body))}]
        body = json.dumps(doc, separators=(",", ":")).encode()
    return body


def openai_body(model: str) -> bytes:
    """The Chat Completions request the gateway would send for a tools stream (direct baseline)."""
    doc = {
        "model": model,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 100,
        "messages": [{"role": "user", "content": _PROMPT}],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (the workers of `aigateway serve --workers N`)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split())
        except OSError:
            continue
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process tree, all threads (fields 14 and 15 of /proc/<pid>/stat)."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process tree, MiB (VmRSS from /proc/<pid>/status)."""
    kib = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kib += int(line.split()[1])
        except OSError:
            continue
    return round(kib / 1024, 1)


def percentile(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(p * len(sorted_values)) - 1)]


class Bad(Exception):
    """A response that is not the one expected (counted as an error, not timed)."""


@dataclass
class Target:
    url: str
    headers: dict[str, str]
    body: bytes
    stream: bool = False
    first: bytes = b"event: content_block_delta"  # the first token is in the chunk holding this
    last: bytes = b"event: message_stop"  # a complete stream holds this
    status: int = 200


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _one(session: aiohttp.ClientSession, t: Target, out: Sample | None) -> None:
    t0 = time.perf_counter()
    async with session.post(t.url, data=t.body, headers=t.headers) as resp:
        if resp.status != t.status:
            await resp.read()
            raise Bad(f"status {resp.status}")
        if not t.stream:
            await resp.read()
            if out is not None:
                out.latencies.append(time.perf_counter() - t0)
            return
        parts: list[bytes] = []
        stamps: list[float] = []
        ttft = None
        async for chunk in resp.content.iter_any():
            now = time.perf_counter()
            parts.append(chunk)
            stamps.append(now)
            if ttft is None and t.first in chunk:
                ttft = now - t0
        end = time.perf_counter()
    body = b"".join(parts)
    if t.last not in body:
        raise Bad("stream without its last event")
    if out is None:
        return
    if ttft is None:  # the marker straddled two chunks
        ttft = stamps[-1] - t0
    out.latencies.append(end - t0)
    out.ttfts.append(ttft)
    out.gaps.extend(b - a for a, b in itertools.pairwise(stamps))
    out.events.append(body.count(b"\n\n"))


async def run_load(
    t: Target,
    *,
    concurrency: int,
    requests: int = 2000,
    duration: float | None = None,
    warmup: int = 100,
    server_pid: int | None = None,
    until: asyncio.Event | None = None,
) -> dict[str, object]:
    """One measured run against one target. Stops after `requests`, `duration` seconds or `until`."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    sample = Sample()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker(budget: list[int], deadline: float, out: Sample | None) -> None:
            while budget[0] > 0 and time.perf_counter() < deadline and not (until and until.is_set()):
                budget[0] -= 1
                try:
                    await _one(session, t, out)
                except (Bad, aiohttp.ClientError, TimeoutError) as exc:
                    sample.errors.append(f"{type(exc).__name__}: {exc}")

        async def phase(n: int, seconds: float, out: Sample | None) -> float:
            budget, start = [n], time.perf_counter()
            await asyncio.gather(*(worker(budget, start + seconds, out) for _ in range(concurrency)))
            return time.perf_counter() - start

        if warmup:
            await phase(warmup, 60.0, None)
        sample.errors.clear()
        n, seconds = (1 << 62, duration) if duration else (requests, 600.0)  # both bounded
        cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
        peak = [0.0]
        sampler = asyncio.create_task(_sample_rss(server_pid, peak)) if server_pid else None
        elapsed = await phase(n, seconds, sample)
        cpu = cpu_seconds(server_pid) - cpu0 if server_pid else None
        if sampler is not None:
            sampler.cancel()
            peak[0] = max(peak[0], rss_mib(server_pid))  # type: ignore[arg-type]
    return summarise(sample, elapsed, cpu, peak[0] if server_pid else None)


async def _sample_rss(pid: int, peak: list[float]) -> None:
    while True:
        peak[0] = max(peak[0], rss_mib(pid))
        await asyncio.sleep(0.1)


def summarise(s: Sample, elapsed: float, cpu: float | None, rss_max: float | None = None) -> dict[str, object]:
    for values in (s.latencies, s.ttfts, s.gaps):
        values.sort()
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    n = len(s.latencies)
    return {
        "requests": n,
        "errors": len(s.errors),
        "first_error": s.errors[0] if s.errors else None,
        "seconds": round(elapsed, 3),
        "rps": round(n / elapsed, 1) if elapsed else None,
        "p50_ms": ms(percentile(s.latencies, 0.50)),
        "p99_ms": ms(percentile(s.latencies, 0.99)),
        "ttft_p50_ms": ms(percentile(s.ttfts, 0.50)),
        "ttft_p99_ms": ms(percentile(s.ttfts, 0.99)),
        "gap_p50_ms": ms(percentile(s.gaps, 0.50)),
        "gap_p99_ms": ms(percentile(s.gaps, 0.99)),
        "events": sum(s.events) if s.events else None,
        "events_min": min(s.events) if s.events else None,
        "events_max": max(s.events) if s.events else None,
        "server_cpu_us": None if cpu is None or not n else round(cpu / n * 1e6, 1),
        "server_rss_max_mib": rss_max,
    }


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
    p.add_argument("--warmup", type=int, default=100)
    a = p.parse_args()
    for url in (a.direct, a.gateway):
        if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
            p.error("only loopback targets are allowed")
    direct = Target(
        a.direct.rstrip("/") + "/v1/messages",
        {**ANTHROPIC_HEADERS, "x-api-key": "anything"},
        request_body(MODEL, a.stream),
        a.stream,
    )
    gateway = Target(
        a.gateway.rstrip("/") + "/v1/messages",
        {**ANTHROPIC_HEADERS, "x-api-key": a.key},
        request_body("anthropic/" + MODEL, a.stream),
        a.stream,
    )
    out = {}
    for name, t in (("direct", direct), ("gateway", gateway)):
        out[name] = uvloop.run(run_load(t, concurrency=a.concurrency, requests=a.requests, warmup=a.warmup))
    out["overhead"] = overhead(out["direct"], out["gateway"])
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
