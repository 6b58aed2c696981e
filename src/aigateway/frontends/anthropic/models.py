"""`GET /v1/models` and `GET /v1/models/{id}` in Anthropic's shape (spec §8).

Each model object carries one field beyond Anthropic's: `pricing`, per configured provider, USD per
million tokens for each usage bucket and the price table's version.
Lists the catalog's `creator/model` ids that a configured provider can serve; pagination follows
the API: `limit` (1..1000, default 20), `after_id`, `before_id`, with `has_more`/`first_id`/`last_id`.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import msgspec

from aigateway.asgi import Request
from aigateway.errors import InvalidRequest, NotFound
from aigateway.gateway import Gateway
from aigateway.routing.catalog import CatalogModel
from aigateway.routing.plan import matching


def _info(gw: Gateway, m: CatalogModel) -> dict[str, object]:
    info: dict[str, object] = {"type": "model", "id": m.id, "display_name": m.display_name, "created_at": m.created_at}
    # Our addition to Anthropic's shape: USD per million tokens for each configured provider.
    prices = gw.admission.prices
    info["pricing"] = {
        provider: {"currency": "USD", "unit": "per_million_tokens", "version": prices.version, **p.per_million_view()}
        for provider, p in prices.for_model(m.id).items()
        if provider in gw.providers
    }
    return info


def _is_served(gw: Gateway, m: CatalogModel) -> bool:
    """A configured provider can serve it: one named as the entry says, or of that kind."""
    return any(matching(p, gw.kinds) for p in m.providers)


def _served(gw: Gateway) -> list[CatalogModel]:
    return [m for m in gw.catalog.models if _is_served(gw, m)]


async def list_models(gw: Gateway, req: Request) -> None:
    params = {k: v[-1] for k, v in parse_qs(req.query.decode("latin-1")).items()}
    try:
        limit = int(params.get("limit", "20"))
    except ValueError:
        raise InvalidRequest("limit: Input should be a valid integer") from None
    if not 1 <= limit <= 1000:
        raise InvalidRequest("limit: Input should be between 1 and 1000")
    models = _served(gw)
    ids = [m.id for m in models]
    start, stop = 0, len(models)
    if "after_id" in params:
        start = _position(ids, params["after_id"], "after_id") + 1
    if "before_id" in params:
        stop = _position(ids, params["before_id"], "before_id")
        start = max(start, stop - limit)
    page = models[start : min(stop, start + limit)]
    has_more = (start + len(page) < stop) if "before_id" not in params else start > 0
    body = {
        "data": [_info(gw, m) for m in page],
        "has_more": has_more,
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
    }
    await req.respond(200, msgspec.json.encode(body))


def _position(ids: list[str], model_id: str, field: str) -> int:
    try:
        return ids.index(model_id)
    except ValueError:
        raise InvalidRequest(f"{field}: unknown model id '{model_id}'") from None


async def get_model(gw: Gateway, req: Request, model_id: str) -> None:
    entry = gw.catalog.get(model_id)
    if entry is None or not _is_served(gw, entry):
        raise NotFound(f"model: {model_id}")
    await req.respond(200, msgspec.json.encode(_info(gw, entry)))
