"""The dashboard's reads of the ledger: time series, percentiles, the request log, one row.

Invariants (the ledger may hold millions of rows):
- every query filters on a `created_at` range first, so the (created_at) index or a
  (model | provider | key_id, created_at) index of migration 0002 bounds what is read;
- time buckets and groups are computed in SQL (`GROUP BY bucket, group`): only the aggregates
  cross to Python, a few hundred rows at most whatever the ledger's size;
- percentiles (p50, p95 of latency and time to first token) come from per-bucket histograms
  counted in SQL over fixed log-spaced bins (`_BIN_EDGES`, each 25% wider than the last), then
  interpolated inside the bin in Python: the answer is within a bin's width of the exact value,
  and the cost is one grouped scan, never a sort of the rows;
- the request log pages by keyset (`created_at`, `request_id` strictly before a cursor), never by
  OFFSET, so page 1000 costs what page 1 costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, cast, func, or_, select
from sqlalchemy import Integer as SqlInteger
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.policy.ledger import LedgerRow
from aigateway.store.tables import ledger

GROUPS = {"model": ledger.c.model, "provider": ledger.c.provider, "key": ledger.c.key_id}
# Bin edges in ms: 5 ms to about 20 min, each 1.25 times the previous.
_BIN_EDGES = tuple(round(5 * 1.25**i, 3) for i in range(56))
_STEPS = (60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400)


def pick_step(span: float, points: int = 72) -> int:
    """A round bucket width giving about `points` buckets over `span` seconds."""
    for step in _STEPS:
        if span / step <= points:
            return step
    return 86400 * math.ceil(span / 86400 / points)


def _bucket(step: int, dialect: str) -> ColumnElement[Any]:
    ratio = ledger.c.created_at / step
    # SQLite's CAST truncates (created_at is positive); PostgreSQL's rounds, so it floors.
    index = cast(ratio, SqlInteger) if dialect == "sqlite" else func.floor(ratio)
    return (index * step).label("bucket")


def _bin(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return case(*[(column < edge, i) for i, edge in enumerate(_BIN_EDGES)], else_=len(_BIN_EDGES)).label("bin")


def series_queries(dialect: str, start: float, end: float, step: int, group: str) -> list[Select[Any]]:
    """Totals per (bucket, group), latency bins per bucket, TTFT bins per bucket."""
    c = ledger.c
    bucket = _bucket(step, dialect)
    grp = GROUPS[group].label("grp")
    in_range = and_(c.created_at >= start, c.created_at < end)
    totals = (
        select(
            bucket,
            grp,
            func.count(),
            func.sum(c.cost_nanousd),
            func.sum(c.input_tokens),
            func.sum(c.output_tokens),
            func.sum(c.cache_read_tokens + c.cache_write_tokens),
            func.sum(case((c.status >= 400, 1), else_=0)),
        )
        .where(in_range)
        .group_by(bucket, grp)
    )
    lat_bin, ttft_bin = _bin(c.latency_ms), _bin(c.ttft_ms)
    latency = select(bucket, lat_bin, func.count()).where(in_range).group_by(bucket, lat_bin)
    ttft = select(bucket, ttft_bin, func.count()).where(in_range, c.ttft_ms.is_not(None)).group_by(bucket, ttft_bin)
    return [totals, latency, ttft]


async def series(engine: AsyncEngine, start: float, end: float, step: int, group: str) -> dict[str, Any]:
    """Per bucket and group: requests, cost, tokens; per bucket: latency and TTFT p50/p95."""
    totals, latency, ttft = series_queries(engine.dialect.name, start, end, step, group)
    async with engine.connect() as conn:
        rows = (await conn.execute(totals)).all()
        lat_rows = (await conn.execute(latency)).all()
        ttft_rows = (await conn.execute(ttft)).all()
    return {
        "step": step,
        "groups": [
            {
                "t": float(b),
                "group": g,
                "requests": n,
                "cost_usd": int(cost or 0) / 1e9,
                "input_tokens": int(i or 0),
                "output_tokens": int(o or 0),
                "cache_tokens": int(ca or 0),
                "errors": int(e or 0),
            }
            for b, g, n, cost, i, o, ca, e in rows
        ],
        "latency_ms": _percentiles(lat_rows),
        "ttft_ms": _percentiles(ttft_rows),
    }


def _percentiles(rows: Sequence[Any]) -> list[dict[str, float]]:
    hists: dict[float, dict[int, int]] = {}
    for b, bin_, n in rows:
        hists.setdefault(float(b), {})[int(bin_)] = n
    return [{"t": t, "p50": quantile(h, 0.5), "p95": quantile(h, 0.95)} for t, h in sorted(hists.items())]


def quantile(hist: dict[int, int], q: float) -> float:
    """The q-quantile of a histogram over `_BIN_EDGES`, interpolated geometrically inside its bin."""
    total = sum(hist.values())
    rank = q * total
    seen = 0
    for i in sorted(hist):
        n = hist[i]
        if seen + n >= rank:
            low = _BIN_EDGES[i - 1] if i > 0 else _BIN_EDGES[0] / 1.25
            high = _BIN_EDGES[i] if i < len(_BIN_EDGES) else _BIN_EDGES[-1] * 1.25
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
    query = select(ledger).where(c.created_at >= start, c.created_at < end, *_log_filters(filters))
    if before is not None:
        at, rid = before
        query = query.where(or_(c.created_at < at, and_(c.created_at == at, c.request_id < rid)))
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
