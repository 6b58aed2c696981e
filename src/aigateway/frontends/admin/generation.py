"""`GET /v1/generation?id=<request id>`: the ledger row of one request, as the gateway recorded it.

A gateway key sees only its own requests (another key's id is a 404, not a 403, so ids cannot be
probed); the admin key sees every request. A row not yet flushed to the store is read from
the ledger's memory, so the answer is there the moment the request has finished.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import msgspec
from sqlalchemy import select

from aigateway.asgi import Request
from aigateway.errors import InvalidRequest, NotFound
from aigateway.gateway import Gateway
from aigateway.routing.prices import usd
from aigateway.store.tables import ledger


async def get_generation(gw: Gateway, req: Request) -> None:
    params = parse_qs(req.query.decode("latin-1"))
    request_id = (params.get("id") or [""])[-1]
    if not request_id:
        raise InvalidRequest("id: Field required (the request-id header of the request)")
    key_id = None if gw.is_admin(req) else (await gw.authenticate(req)).id
    row = gw.ledger.pending(request_id) or await _stored(gw, request_id)
    if row is None or (key_id is not None and row["key_id"] != key_id):
        raise NotFound(f"id: no request '{request_id}' for this key")
    await req.respond(200, msgspec.json.encode(_view(row)))


async def _stored(gw: Gateway, request_id: str) -> dict[str, Any] | None:
    async with gw.engine.connect() as conn:
        found = (await conn.execute(select(ledger).where(ledger.c.request_id == request_id))).mappings().first()
    return dict(found) if found else None


def _view(row: dict[str, Any]) -> dict[str, Any]:
    cost = row.get("cost_nanousd")
    return {
        "type": "generation",
        "id": row["request_id"],
        **{k: v for k, v in row.items() if k not in ("request_id", "cost_nanousd", "tags")},
        "streamed": bool(row["streamed"]),
        "tags": row["tags"].split(",") if row.get("tags") else [],
        "cost_usd": usd(cost) if cost is not None else None,
    }
