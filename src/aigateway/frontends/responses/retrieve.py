"""Responses the gateway kept, read back: `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}`,
`GET /v1/responses/{id}/input_items`; and, for background responses, `GET ...?stream=true`
(`starting_after`) and `POST /v1/responses/{id}/cancel` (background.py).

Shapes: openai-python `types/responses/response.py`, `response_item_list.py`,
`input_item_list_params.py`; deletion answers `{"id", "object": "response", "deleted": true}`.

Invariants:
- only the key that made a response reads or deletes it: for any other key, and for an id
  that expired, was deleted or never was, the answer is the same 404 in OpenAI's envelope;
- reasoning items show `encrypted_content` only when the query asks for it
  (`include=reasoning.encrypted_content`), as at creation;
- input items are listed newest first unless `order=asc`, `limit` (1 to 100, 20 by default) at
  a time, after the item `after` names; a bad query parameter is a 400 naming it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import msgspec

from aigateway.asgi import Request
from aigateway.errors import InvalidRequest, NotFound
from aigateway.frontends.responses import background
from aigateway.frontends.responses.history import without_sealed
from aigateway.gateway import Gateway
from aigateway.policy.keys import GatewayKey
from aigateway.store.responses import Kept, ResponseStore

_encode = msgspec.json.encode
_SEALED = "reasoning.encrypted_content"


async def dispatch(gw: Gateway, req: Request, key: GatewayKey, response_id: str, action: str) -> None:
    store = gw.responses
    if store is None:  # the gateway keeps nothing: no id is known
        raise _missing(response_id)
    query = parse_qs(req.query.decode("latin-1"), keep_blank_values=True)
    if req.method == "GET" and action == "" and _one(query, "stream") == "true":
        after = _starting_after(query)
        await background.resume(gw, req, await _find(store, key, response_id), after)
    elif req.method == "GET" and action == "":
        await req.respond(200, _encode(_shown(await _find(store, key, response_id), query)))
    elif req.method == "POST" and action == "cancel":
        await background.cancel(gw, req, key, await _find(store, key, response_id))
    elif req.method == "DELETE" and action == "":
        if not await store.delete(key.id, response_id):
            raise _missing(response_id)
        await req.respond(200, _encode({"id": response_id, "object": "response", "deleted": True}))
    elif req.method == "GET" and action == "input_items":
        kept = await _find(store, key, response_id)
        await req.respond(200, _encode(_page(kept, query)))
    else:
        raise NotFound(f"No route for {req.method} {req.path}")


async def _find(store: ResponseStore, key: GatewayKey, response_id: str) -> Kept:
    kept = await store.load(key.id, response_id, settle=True)  # another replica may be writing it
    if kept is None:
        raise _missing(response_id)
    return kept


def _missing(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.")


def _includes_sealed(query: dict[str, list[str]]) -> bool:
    return _SEALED in query.get("include", []) + query.get("include[]", [])


def _shown(kept: Kept, query: dict[str, list[str]]) -> dict[str, Any]:
    body = kept.body()
    if not _includes_sealed(query):
        body["output"] = without_sealed(body.get("output") or [])
    return body


def _page(kept: Kept, query: dict[str, list[str]]) -> dict[str, Any]:
    items = kept.items if _includes_sealed(query) else without_sealed(kept.items)
    order = _one(query, "order") or "desc"
    if order not in ("asc", "desc"):
        raise InvalidRequest("order: must be asc or desc")
    limit_text = _one(query, "limit") or "20"
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
        raise InvalidRequest("limit: must be an integer from 1 to 100")
    limit = int(limit_text)
    ordered = items if order == "asc" else items[::-1]
    start = 0
    after = _one(query, "after")
    if after:
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise InvalidRequest(f"after: no input item of this response has the id '{after}'")
        start = ids.index(after) + 1
    page = ordered[start : start + limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0].get("id") if page else None,
        "last_id": page[-1].get("id") if page else None,
        "has_more": start + limit < len(ordered),
    }


def _starting_after(query: dict[str, list[str]]) -> int:
    value = _one(query, "starting_after")
    if value is None:
        return -1
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest("starting_after: must be an integer (an event's sequence_number)") from None


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None
