"""Usage reports from the ledger: requests, tokens and cost over a time range, grouped.

Invariant: reports read the database (they are not on the request path) with one grouped query
whose filter is a `created_at` range plus, for a gateway key, its `key_id`: the (key_id,
created_at), (model, created_at) and (provider, created_at) indexes of migration 0002 serve it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.routing.prices import usd
from aigateway.store.tables import ledger

GroupBy = Literal["day", "model", "provider", "key"]
GROUPS: tuple[GroupBy, ...] = ("day", "model", "provider", "key")


_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z, the last time dates and the stores can show


def parse_time(text: str, field: str) -> float:
    """RFC 3339 (a bare date is midnight UTC) or Unix seconds, between 1970 and 9999 (so `nan`,
    `inf` or `-1e308` are a caller's error, not a failed query)."""
    try:
        value = float(text)
    except ValueError:
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{field}: must be an RFC 3339 time, a date, or Unix seconds") from None
        value = (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()
    if not 0 <= value <= _LAST_SECOND:  # also false for nan
        raise ValueError(f"{field}: must be a time between 1970 and 9999")
    return value


def _group_column(group_by: GroupBy, dialect: str) -> ColumnElement[Any]:
    c = ledger.c
    if group_by == "model":
        return c.model
    if group_by == "provider":
        return c.provider
    if group_by == "key":
        return c.key_id
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d", c.created_at, "unixepoch")
    return func.to_char(func.timezone("UTC", func.to_timestamp(c.created_at)), literal_column("'YYYY-MM-DD'"))


async def usage_report(
    engine: AsyncEngine, start: float, end: float, group_by: GroupBy, key_id: str | None = None
) -> list[dict[str, Any]]:
    c = ledger.c
    group = _group_column(group_by, engine.dialect.name).label("group")
    query = (
        select(
            group,
            func.count().label("requests"),
            func.sum(c.input_tokens),
            func.sum(c.output_tokens),
            func.sum(c.cache_read_tokens),
            func.sum(c.cache_write_tokens),
            func.sum(c.cost_nanousd),
            func.count(c.cost_nanousd),
        )
        .where(c.created_at >= start, c.created_at < end)
        .group_by(group)
        .order_by(group)
    )
    if key_id is not None:
        query = query.where(c.key_id == key_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            group_by: g,
            "requests": n,
            "input_tokens": int(i or 0),
            "output_tokens": int(o or 0),
            "cache_read_input_tokens": int(cr or 0),
            "cache_creation_input_tokens": int(cw or 0),
            "cost_usd": usd(int(cost or 0)),
            "unpriced_requests": n - priced,  # rows of models without a price: not in cost_usd
        }
        for g, n, i, o, cr, cw, cost, priced in rows
    ]
