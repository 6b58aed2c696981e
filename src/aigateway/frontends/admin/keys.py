"""The admin API: `/admin/keys` (GET list, POST create) and `/admin/keys/{id}` (GET, PATCH, DELETE).

Invariants:
- every route needs the admin key (`admin_key` / `AIGATEWAY_ADMIN_KEY`), compared in constant
  time; without one configured the admin API answers 403 to everyone;
- a key's secret appears once, in the answer to its creation; never in lists, logs or errors;
- errors are Anthropic's envelope, like every other route of the gateway;
- changes land in the database; every replica picks them up within `keys.refresh_interval`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.asgi import Request
from aigateway.errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from aigateway.gateway import Gateway, presented_secret
from aigateway.policy import keys
from aigateway.routing.prices import usd
from aigateway.wire import document

PREFIX = "/admin/keys"
_LIMIT = 64 * 1024


def require_admin(gw: Gateway, req: Request) -> None:
    if not gw.is_admin(req):
        if presented_secret(req) is None:
            raise AuthenticationFailed("Missing admin key: send it as x-api-key or Authorization: Bearer")
        raise PermissionDenied("This route needs the admin key")


def key_view(row: keys.KeyRow) -> dict[str, Any]:
    return {
        "type": "api_key",
        "id": row.id,
        "name": row.name,
        "hint": row.hint,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        **row.policy.view(usd),
    }


async def _json_object(gw: Gateway, req: Request) -> dict[str, Any]:
    doc = document.decode(await req.body(_LIMIT), gw.settings.server.max_json_depth)
    if not isinstance(doc, dict):
        raise InvalidRequest("Request body must be a JSON object")
    return doc


def _policy(base: keys.KeyPolicy, changes: dict[str, Any]) -> keys.KeyPolicy:
    try:
        return keys.change_policy(base, changes)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


async def dispatch(gw: Gateway, req: Request) -> None:
    require_admin(gw, req)
    await keys_api(gw, req, req.path[len(PREFIX) :])


async def keys_api(gw: Gateway, req: Request, rest: str) -> None:
    """The key routes below the prefix; the caller has checked it is the admin (key or dashboard session)."""
    if rest in ("", "/"):
        if req.method == "GET":
            rows = await keys.list_keys(gw.engine)
            await req.respond(200, msgspec.json.encode({"data": [key_view(r) for r in rows]}))
            return
        if req.method == "POST":
            await _create(gw, req)
            return
    elif rest.startswith("/") and "/" not in rest[1:]:
        await _one(gw, req, rest[1:])
        return
    raise NotFound(f"No route for {req.method} {req.path}")


async def _create(gw: Gateway, req: Request) -> None:
    doc = await _json_object(gw, req)
    name = doc.pop("name", None)
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("name: Field required (a non-empty string)")
    row, secret = await keys.create_key(gw.engine, name, _policy(keys.KeyPolicy(), doc))
    await req.respond(201, msgspec.json.encode({**key_view(row), "secret": secret}))


async def _one(gw: Gateway, req: Request, key_id: str) -> None:
    row = await keys.get_key(gw.engine, key_id)
    if row is None:
        raise NotFound(f"No key with id {key_id}")
    if req.method == "GET":
        await req.respond(200, msgspec.json.encode(key_view(row)))
    elif req.method == "PATCH":
        doc = await _json_object(gw, req)
        name = doc.pop("name", None)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise InvalidRequest("name: must be a non-empty string")
        if row.revoked_at is not None or not await keys.update_key(gw.engine, key_id, _policy(row.policy, doc), name):
            raise InvalidRequest(f"Key {key_id} is revoked")
        updated = await keys.get_key(gw.engine, key_id)
        assert updated is not None
        await req.respond(200, msgspec.json.encode(key_view(updated)))
    elif req.method == "DELETE":
        await keys.revoke_key(gw.engine, key_id)
        revoked = await keys.get_key(gw.engine, key_id)
        assert revoked is not None
        await req.respond(200, msgspec.json.encode(key_view(revoked)))
    else:
        raise NotFound(f"No route for {req.method} {req.path}")
