"""`/metrics` of `serve --workers N`: one scrape shows the whole server, whichever worker answers.

Invariants:
- only with more than one worker: the parent makes a private directory (mode 0700) for the run,
  hands it to the workers and removes it at exit; a single process writes no file and renders
  its own dicts;
- the hot path is untouched: each worker writes a snapshot of its `Metrics` dicts and breakers
  (`<pid>.msgpack`, temp file then `os.replace`, so a reader never sees half a file) from a task
  on its loop about once a second (not when nothing changed), and at shutdown marked final;
- a scrape writes the answering worker's own snapshot first, then sums it with the other files:
  the other workers' numbers are up to about a second old, but no counter goes backwards from
  one scrape to the next (each worker's file is at least as new as what a scrape showed of it);
- writes are synchronous, on the worker's loop, one at a time: a newer file is never replaced
  by an older one;
- counters and histograms are summed over every snapshot, exited workers included; gauges only
  over live ones (not final, pid running): in-flight requests are summed, and each breaker is
  reported in its worst state across workers (open > half_open > closed) with the most failures.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import msgspec

from aigateway.observability.logging import log
from aigateway.observability.metrics import LATENCY_BUCKETS, TTFT_BUCKETS, BreakerRow, Metrics, _Histogram, breakers
from aigateway.routing.health import Health

K = TypeVar("K")
SUFFIX = ".msgpack"
INTERVAL = 1.0  # seconds between a worker's snapshots
_WORST = {"closed": 0, "half_open": 1, "open": 2}

Hist = tuple[tuple[str, str], list[int], float]  # (model, provider), per-bucket counts, sum


class Snapshot(msgspec.Struct, array_like=True):
    """A worker's numbers; `take` shares the live dicts, so encode or merge it at once."""

    pid: int
    final: bool  # written at shutdown: the worker's gauges no longer count
    requests: dict[tuple[str, str, str, str, str], int]
    usage: dict[tuple[str, str, str], list[int]]
    latency: list[Hist]
    ttft: list[Hist]
    upstream_errors: dict[tuple[str, str], int]
    retries: dict[str, int]
    fallbacks: dict[str, int]
    in_flight: int
    breakers: list[BreakerRow]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(Snapshot).decode


def take(m: Metrics, health: Health, pid: int, final: bool = False) -> Snapshot:
    return Snapshot(
        pid=pid,
        final=final,
        requests=m.requests,
        usage=m.usage,
        latency=[(k, h.counts, h.total) for k, h in m.latency.items()],
        ttft=[(k, h.counts, h.total) for k, h in m.ttft.items()],
        upstream_errors=m.upstream_errors,
        retries=m.retries,
        fallbacks=m.fallbacks,
        in_flight=m.in_flight,
        breakers=breakers(health),
    )


def merge(snapshots: Iterable[tuple[Snapshot, bool]]) -> tuple[Metrics, list[BreakerRow]]:
    """The sum of (snapshot, worker alive) pairs: gauges only from live workers."""
    total = Metrics()
    worst: dict[tuple[str, str], tuple[str, int]] = {}
    for s, alive in snapshots:
        _sum(total.requests, s.requests)
        for k, u in s.usage.items():
            acc = total.usage.setdefault(k, [0] * len(u))
            for i, n in enumerate(u):
                acc[i] += n
        _sum_hists(total.latency, s.latency, len(LATENCY_BUCKETS))
        _sum_hists(total.ttft, s.ttft, len(TTFT_BUCKETS))
        _sum(total.upstream_errors, s.upstream_errors)
        _sum(total.retries, s.retries)
        _sum(total.fallbacks, s.fallbacks)
        if not alive:
            continue
        total.in_flight += s.in_flight
        for provider, credential, state, failures in s.breakers:
            seen = worst.get((provider, credential))
            if seen is None:
                worst[(provider, credential)] = (state, failures)
            else:
                top = state if _WORST.get(state, 0) > _WORST.get(seen[0], 0) else seen[0]
                worst[(provider, credential)] = (top, max(failures, seen[1]))
    return total, [(p, c, state, n) for (p, c), (state, n) in sorted(worst.items())]


def _sum(into: dict[K, int], items: dict[K, int]) -> None:
    for k, n in items.items():
        into[k] = into.get(k, 0) + n


def _sum_hists(into: dict[tuple[str, str], _Histogram], items: list[Hist], size: int) -> None:
    for k, counts, total in items:
        h = into.get(k)
        if h is None:
            h = into[k] = _Histogram(size)
        for i, n in enumerate(counts):
            h.counts[i] += n
        h.total += total


def read(path: str | Path) -> Snapshot:
    with open(path, "rb") as f:
        return _decode(f.read())


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Shared:
    """A worker's side: writes its snapshots and, when scraped, sums everyone's."""

    def __init__(self, directory: Path, metrics: Metrics, health: Health, pid: int | None = None) -> None:
        self.dir = directory
        self.metrics = metrics
        self.health = health
        self.pid = os.getpid() if pid is None else pid
        self.path = directory / f"{self.pid}{SUFFIX}"
        self._tmp = directory / f"{self.pid}.tmp"
        self._written = b""

    def write(self, final: bool = False) -> Snapshot:
        snap = take(self.metrics, self.health, self.pid, final)
        data = _encode(snap)
        if data != self._written:
            try:
                self._tmp.write_bytes(data)
                os.replace(self._tmp, self.path)
            except OSError as exc:
                log.warning("could not write a metrics snapshot", extra={"fields": {"error": str(exc)}})
            else:
                self._written = data
        return snap

    async def run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL)
            self.write()

    def merged(self) -> tuple[Metrics, list[BreakerRow]]:
        """For a scrape: this worker's fresh numbers plus every other worker's last snapshot."""
        pairs = [(self.write(), True)]
        for entry in os.scandir(self.dir):
            if not entry.name.endswith(SUFFIX) or entry.path == str(self.path):
                continue
            try:
                snap = read(entry.path)
            except (OSError, msgspec.DecodeError) as exc:
                log.warning("could not read a metrics snapshot", extra={"fields": {"error": str(exc)}})
                continue
            pairs.append((snap, not snap.final and _running(snap.pid)))
        return merge(pairs)
