"""The dashboard's reads of the ledger: time series, percentiles, the request log, one row.

Invariants (the ledger may hold millions of rows):
- every query filters on a `created_at` range first, so the (created_at) index or a
  (model | provider | key_id, created_at) index of migration 0002 bounds what is read; on SQLite,
  a range holding more than an eighth of the table is read sequentially instead (cheaper than a
  lookup per row);
- time buckets, groups and histogram bins are computed in SQL (`GROUP BY`): two grouped passes
  over the range, and only aggregates (bucket x group x bin) cross to Python;
- percentiles (p50, p95 of latency and time to first token) come from per-bucket histograms over
  fixed log-spaced bins (`_BIN_EDGES`, each 25% wider than the last), interpolated inside the bin:
  within a bin's width of the exact value, and never a sort of the rows by latency;
- the request log pages by keyset (`created_at`, `request_id` strictly before a cursor), never by
  OFFSET, so page 1000 costs what page 1 costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, cast, func, or_, select
from sqlalchemy import Integer as SqlInteger
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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


_RATIO = 1.25


def _bin(column: ColumnElement[Any], dialect: str, has_ln: bool) -> ColumnElement[Any]:
    """The index of the first edge above the value: by logarithm when the database has `ln`, else by
    comparisons (SQLite builds without math functions)."""
    top = len(_BIN_EDGES)
    if not has_ln:
        return case(*[(column < edge, i) for i, edge in enumerate(_BIN_EDGES)], else_=top).label("bin")
    ratio = func.ln(column / _BIN_EDGES[0]) / math.log(_RATIO)
    index = cast(ratio, SqlInteger) if dialect == "sqlite" else cast(func.floor(ratio), SqlInteger)
    return case((column < _BIN_EDGES[0], 0), (column >= _BIN_EDGES[-1], top), else_=index + 1).label("bin")


def series_queries(
    dialect: str, start: float, end: float, step: int, group: str, *, has_ln: bool = False, scan: bool = False
) -> list[Select[Any]]:
    """Totals per (bucket, group, latency bin), and TTFT bins per bucket: two passes over the range.

    `scan` (SQLite, a range holding much of the table) reads the table in order rather than through
    the `created_at` index: a sequential read beats a random lookup per row when most rows qualify.
    """
    c = ledger.c
    bucket = _bucket(step, dialect)
    grp = GROUPS[group].label("grp")
    at = c.created_at + 0 if scan else c.created_at  # an expression, so SQLite does not use the index
    in_range = and_(at >= start, at < end)
    lat_bin, ttft_bin = _bin(c.latency_ms, dialect, has_ln), _bin(c.ttft_ms, dialect, has_ln)
    totals = (
        select(
            bucket,
            grp,
            lat_bin,
            func.count(),
            func.sum(c.cost_nanousd),
            func.sum(c.input_tokens),
            func.sum(c.output_tokens),
            func.sum(c.cache_read_tokens + c.cache_write_tokens),
            func.sum(case((c.status >= 400, 1), else_=0)),
        )
        .where(in_range)
        .group_by(bucket, grp, lat_bin)
    )
    ttft = select(bucket, ttft_bin, func.count()).where(in_range, c.ttft_ms.is_not(None)).group_by(bucket, ttft_bin)
    return [totals, ttft]


_HAS_LN: dict[str, bool] = {}


async def _plan_inputs(conn: AsyncConnection, start: float, end: float) -> tuple[bool, bool]:
    """(has_ln, scan) for this database and range."""
    dialect = conn.dialect.name
    if dialect != "sqlite":
        return True, False  # PostgreSQL has ln, and its planner weighs index against scan itself
    url = str(conn.engine.url)
    if url not in _HAS_LN:
        try:
            await conn.exec_driver_sql("SELECT ln(2.0)")
            _HAS_LN[url] = True
        except DBAPIError:
            _HAS_LN[url] = False
    c = ledger.c
    in_range = (await conn.execute(select(func.count()).where(c.created_at >= start, c.created_at < end))).scalar()
    everything = (await conn.exec_driver_sql("SELECT max(rowid) FROM ledger")).scalar()
    return _HAS_LN[url], int(in_range or 0) * 8 > int(everything or 0) > 0


async def series(engine: AsyncEngine, start: float, end: float, step: int, group: str) -> dict[str, Any]:
    """Per bucket and group: requests, cost, tokens; per bucket: latency and TTFT p50/p95."""
    async with engine.connect() as conn:
        has_ln, scan = await _plan_inputs(conn, start, end)
        totals, ttft = series_queries(engine.dialect.name, start, end, step, group, has_ln=has_ln, scan=scan)
        rows = (await conn.execute(totals)).all()
        ttft_rows = (await conn.execute(ttft)).all()
    groups: dict[tuple[float, Any], list[int]] = {}
    lat_hists: dict[float, dict[int, int]] = {}
    for b, g, bin_, n, cost, i, o, ca, e in rows:
        t = float(b)
        acc = groups.setdefault((t, g), [0, 0, 0, 0, 0, 0])
        for k, v in enumerate((n, cost, i, o, ca, e)):
            acc[k] += int(v or 0)
        hist = lat_hists.setdefault(t, {})
        hist[int(bin_)] = hist.get(int(bin_), 0) + n
    return {
        "step": step,
        "groups": [
            {
                "t": t,
                "group": g,
                "requests": n,
                "cost_usd": cost / 1e9,
                "input_tokens": i,
                "output_tokens": o,
                "cache_tokens": ca,
                "errors": e,
            }
            for (t, g), (n, cost, i, o, ca, e) in groups.items()
        ],
        "latency_ms": [_point(t, h) for t, h in sorted(lat_hists.items())],
        "ttft_ms": _percentiles(ttft_rows),
    }


def _point(t: float, hist: dict[int, int]) -> dict[str, float]:
    return {"t": t, "p50": quantile(hist, 0.5), "p95": quantile(hist, 0.95)}


def _percentiles(rows: Sequence[Any]) -> list[dict[str, float]]:
    hists: dict[float, dict[int, int]] = {}
    for b, bin_, n in rows:
        hists.setdefault(float(b), {})[int(bin_)] = n
    return [_point(t, h) for t, h in sorted(hists.items())]


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
