"""The dashboard's reads of the ledger: time series, percentiles, the request log, one row.

Invariants (the ledger may hold millions of rows):
- the overview reads rollups (store/rollups.py), not ledger rows: a range is cut into the
  coarsest rollup slots that fit it, finer ones toward its ends, and the ledger's own rows only
  for the parts of a minute at either end (`segments`), so its totals are exact and its cost
  follows the number of slots, not of requests;
- buckets and groups are summed in SQL (`GROUP BY`): only totals per (bucket, group) and
  histograms per bucket and per group cross to Python;
- percentiles (p50, p95 of latency and time to first token) come from histograms over the
  rollups' log-spaced bins, interpolated inside the bin: within a bin's width (25%) of the exact
  value, and never a sort of the rows by latency;
- the request log pages by keyset (`created_at`, `request_id` strictly before a cursor), never by
  OFFSET, so page 1000 costs what page 1 costs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, TextClause, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.store.rollups import EDGES, WIDTHS, binned
from aigateway.store.rows import LedgerRow
from aigateway.store.tables import BINS, ROLLUP_HISTOGRAMS, ROLLUP_SUMS, ledger

GROUPS = {"model": ledger.c.model, "provider": ledger.c.provider, "key": ledger.c.key_id}
_STEPS = (60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400)


def pick_step(span: float, points: int = 72) -> int:
    """A round bucket width giving about `points` buckets over `span` seconds."""
    for step in _STEPS:
        if span / step <= points:
            return step
    return 86400 * math.ceil(span / 86400 / points)


def segments(start: float, end: float, step: int) -> list[tuple[int, float, float]]:
    """[start, end) as (width, from, to) pieces: rollup slots of `width` seconds, or the ledger's
    rows where width is 0. Every width used divides `step`, so no slot straddles two buckets."""
    widths = [w for w in WIDTHS if step % w == 0]

    def cut(lo: float, hi: float, widths: list[int]) -> list[tuple[int, float, float]]:
        if lo >= hi:
            return []
        if not widths:
            return [(0, lo, hi)]
        w = widths[-1]
        a, b = math.ceil(lo / w) * w, math.floor(hi / w) * w
        if a > b:
            return cut(lo, hi, widths[:-1])
        if a == b:  # no whole slot, but a slot boundary: pieces never straddle one
            return [*cut(lo, a, widths[:-1]), *cut(a, hi, widths[:-1])]
        return [*cut(lo, a, widths[:-1]), (w, a, b), *cut(b, hi, widths[:-1])]

    return cut(start, end, widths)


_COLUMNS = {"model": "model", "provider": "provider", "key": "key_id"}


def series_queries(start: float, end: float, step: int, group: str) -> dict[str, TextClause]:
    """The overview's reads: from the rollups, totals per (bucket, group) and histograms per
    bucket and per group (summed in SQL, so only those cross to Python); from the ledger, its
    rows at the ends of the range per (bucket, group, latency bin, TTFT bin).

    Plain SQL that both databases take, built once per shape: with a hundred and twenty columns,
    building and compiling expressions cost more than running them."""
    pieces = segments(start, end, step)
    out: dict[str, TextClause] = {}
    rolled = [(w, a, b) for w, a, b in pieces if w]
    if rolled:
        whole = [(w, a, b) for w, a, b in segments(start, end, 3600) if w]
        out["totals"] = _rolled("totals", len(rolled)).bindparams(**_params(group, rolled), step=step)
        # Every dimension sums to the same per-bucket histograms: providers have the fewest rows.
        out["by_bucket"] = _rolled("by_bucket", len(rolled)).bindparams(**_params("provider", rolled), step=step)
        # Over the whole range the buckets do not matter: the coarsest slots that fit serve.
        out["by_group"] = _rolled("by_group", len(whole)).bindparams(**_params(group, whole))
    raw = [(a, b) for w, a, b in pieces if not w]
    if raw:
        params: dict[str, Any] = {}
        for i, (a, b) in enumerate(raw):
            params.update({f"a{i}": a, f"b{i}": b, f"t{i}": math.floor(a / step) * step})
        out["edges"] = _edges(_COLUMNS[group], len(raw)).bindparams(**params)
    return out


def _params(dim: str, pieces: list[tuple[int, float, float]]) -> dict[str, Any]:
    params: dict[str, Any] = {"dim": dim}
    for i, (w, a, b) in enumerate(pieces):
        params.update({f"w{i}": w, f"a{i}": int(a), f"b{i}": int(b)})
    return params


@functools.cache
def _rolled(kind: str, n: int) -> TextClause:
    hists = ", ".join(f"sum({c})" for c in ROLLUP_HISTOGRAMS)
    head, tail = {
        "totals": ("slot - slot % :step AS bucket, grp, " + ", ".join(f"sum({c})" for c in ROLLUP_SUMS), "bucket, grp"),
        "by_bucket": ("slot - slot % :step AS bucket, " + hists, "bucket"),
        "by_group": ("grp, " + hists, "grp"),
    }[kind]
    slots = " OR ".join(f"(width = :w{i} AND slot >= :a{i} AND slot < :b{i})" for i in range(n))
    return text(f"SELECT {head} FROM ledger_rollup WHERE dim = :dim AND ({slots}) GROUP BY {tail}")


@functools.cache
def _edges(column: str, n: int) -> TextClause:
    """The ledger's rows in n pieces (each inside one minute, so inside one bucket: `:t<i>`)."""
    whens = " ".join(f"WHEN created_at < :b{i} THEN CAST(:t{i} AS BIGINT)" for i in range(n - 1))
    bucket = f"CASE {whens} ELSE CAST(:t{n - 1} AS BIGINT) END" if n > 1 else "CAST(:t0 AS BIGINT)"
    sums = (
        "count(*), sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END), sum(coalesce(cost_nanousd, 0)),"
        " sum(input_tokens), sum(output_tokens), sum(cache_read_tokens + cache_write_tokens), sum(cache_read_tokens)"
    )
    lat, ttft = binned("latency_ms"), binned("ttft_ms")
    where = " OR ".join(f"(created_at >= :a{i} AND created_at < :b{i})" for i in range(n))
    return text(
        f"SELECT {bucket} AS bucket, coalesce({column}, '') AS grp, {lat} AS lat, {ttft} AS ttft, {sums}"
        f" FROM ledger WHERE {where} GROUP BY 1, 2, 3, 4"
    )


class _Sums:
    """Totals per (bucket, group) and histograms per bucket and per group, from both sources."""

    def __init__(self) -> None:
        self.groups: dict[tuple[float, str], list[int]] = {}
        self.by_bucket: dict[str, dict[Any, dict[int, int]]] = {"lat": {}, "ttft": {}}
        self.by_group: dict[str, dict[Any, dict[int, int]]] = {"lat": {}, "ttft": {}}

    def add(self, t: float, g: str, sums: Sequence[Any]) -> None:
        acc = self.groups.setdefault((t, g), [0] * len(ROLLUP_SUMS))
        for i, v in enumerate(sums):
            acc[i] += int(v or 0)

    def histograms(self, into: dict[str, dict[Any, dict[int, int]]], at: Any, counts: Sequence[Any]) -> None:
        """`counts`: the latency bins, then the TTFT bins, as the rollup's columns."""
        for kind, first in (("lat", 0), ("ttft", BINS)):
            hist = into[kind].setdefault(at, {})
            for i, n in enumerate(counts[first : first + BINS]):
                if n:
                    hist[i] = hist.get(i, 0) + int(n)

    def edge(self, t: float, g: str, lat: int, ttft: int | None, sums: Sequence[Any]) -> None:
        self.add(t, g, sums)
        n = int(sums[0])
        for kind, bin_ in (("lat", lat), ("ttft", ttft)):
            if bin_ is None:
                continue
            for into, at in ((self.by_bucket, t), (self.by_group, g)):
                hist = into[kind].setdefault(at, {})
                hist[bin_] = hist.get(bin_, 0) + n


async def series(engine: AsyncEngine, start: float, end: float, step: int, group: str) -> dict[str, Any]:
    """Per bucket and group: requests, cost, tokens; per bucket, and per group over the range:
    latency and TTFT p50/p95."""
    reads = series_queries(start, end, step, group)
    async with engine.connect() as conn:
        results = {name: (await conn.execute(q)).all() for name, q in reads.items()}
    acc = _Sums()
    for t, g, *sums in results.get("totals", ()):
        acc.add(float(t), g, sums)
    for t, *counts in results.get("by_bucket", ()):
        acc.histograms(acc.by_bucket, float(t), counts)
    for g, *counts in results.get("by_group", ()):
        acc.histograms(acc.by_group, g, counts)
    for t, g, lat, ttft, *sums in results.get("edges", ()):
        acc.edge(float(t), g, int(lat), None if ttft is None else int(ttft), sums)
    return {
        "step": step,
        "groups": [
            {
                "t": t,
                "group": g or None,
                "requests": n,
                "cost_usd": cost / 1e9,
                "input_tokens": i,
                "output_tokens": o,
                "cache_tokens": ca,
                "cache_read_tokens": cr,
                "errors": e,
            }
            for (t, g), (n, e, cost, i, o, ca, cr) in sorted(acc.groups.items())
        ],
        "latency_ms": _points(acc.by_bucket["lat"]),
        "ttft_ms": _points(acc.by_bucket["ttft"]),
        "by_group": [
            {"group": g or None, "latency_ms": _quantiles(h), "ttft_ms": _quantiles(acc.by_group["ttft"].get(g, {}))}
            for g, h in sorted(acc.by_group["lat"].items())
            if h
        ],
    }


def _points(hists: dict[float, dict[int, int]]) -> list[dict[str, Any]]:
    return [{"t": t, **_quantiles(h)} for t, h in sorted(hists.items()) if h]


def _quantiles(hist: dict[int, int]) -> dict[str, float | None]:
    if not hist:
        return {"p50": None, "p95": None}
    return {"p50": quantile(hist, 0.5), "p95": quantile(hist, 0.95)}


def quantile(hist: dict[int, int], q: float) -> float:
    """The q-quantile of a histogram over `EDGES`, interpolated geometrically inside its bin."""
    total = sum(hist.values())
    rank = q * total
    seen = 0
    for i in sorted(hist):
        n = hist[i]
        if seen + n >= rank:
            low = EDGES[i - 1] if i > 0 else EDGES[0] / 1.25
            high = EDGES[i] if i < len(EDGES) else EDGES[-1] * 1.25
            within = (rank - seen) / n if n else 0.0
            return round(float(low * (high / low) ** within), 1)
        seen += n
    return 0.0


def _log_filters(filters: dict[str, str]) -> list[ColumnElement[bool]]:
    c = ledger.c
    where: list[ColumnElement[bool]] = []
    for name, column in GROUPS.items():
        if filters.get(name):
            where.append(column == filters[name])
    status = filters.get("status")
    if status == "ok":
        where.append(c.status < 400)
    elif status == "error":
        where.append(c.status >= 400)
    elif status:
        where.append(c.status == int(status))
    return where


def log_query(
    start: float, end: float, filters: dict[str, str], before: tuple[float, str] | None, limit: int
) -> Select[Any]:
    c = ledger.c
    upper, ties = c.created_at < end, []
    if before is not None:
        at, rid = before
        # One upper bound only, the cursor's, so the index seeks straight to it; the OR breaks ties.
        upper = c.created_at <= at if at < end else upper
        ties = [or_(c.created_at < at, c.request_id < rid)]
    query = select(ledger).where(c.created_at >= start, upper, *ties, *_log_filters(filters))
    return query.order_by(c.created_at.desc(), c.request_id.desc()).limit(limit + 1)


async def request_log(
    engine: AsyncEngine,
    start: float,
    end: float,
    filters: dict[str, str],
    before: tuple[float, str] | None,
    limit: int,
) -> tuple[list[dict[str, Any]], tuple[float, str] | None]:
    """One page, newest first, and the cursor of the next page (None after the last)."""
    query = log_query(start, end, filters, before, limit)
    async with engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (rows[-1]["created_at"], rows[-1]["request_id"]) if more else None
    return rows, cursor


async def one_row(engine: AsyncEngine, request_id: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(ledger).where(ledger.c.request_id == request_id))).mappings().first()
    return None if row is None else {name: row[name] for name in LedgerRow._fields}
