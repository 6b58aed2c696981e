"""What this gateway serves, for GET /v1/models and `aigateway models`: every catalog model a
configured provider serves, and every model a provider's own list names that the catalog does
not know (as `provider/id`), each with its offers: who serves it as what, at what price (and
where the price comes from), in what lifecycle state.

Invariant: nothing here asks an upstream; listings are what the background reader last got.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aigateway.routing.catalog import Catalog, CatalogModel, ListedModel, Route
from aigateway.routing.plan import candidates
from aigateway.routing.prices import Quote


@dataclass(frozen=True, slots=True)
class Offer:
    provider: str
    upstream: str
    quote: Quote | None
    status: str  # active, deprecated, retired
    retires: dt.date | None
    successor: str | None


@dataclass(frozen=True, slots=True)
class Served:
    model: CatalogModel
    offers: list[Offer]
    context_window: int | None
    max_output: int | None


@dataclass(frozen=True, slots=True)
class Sources:
    """What the inventory reads: how routes resolve, are priced and spelled."""

    catalog: Catalog
    kinds: Mapping[str, str]
    quote: Callable[[Route], Quote | None]
    context_window: Callable[[str, str], int | None]  # (provider, upstream id) -> tokens
    listings: Mapping[str, Sequence[ListedModel]]


def inventory(src: Sources, today: dt.date | None = None) -> list[Served]:
    day = today or dt.datetime.now(dt.UTC).date()
    served = [s for m in src.catalog.models if (s := _served(src, m, _routes(src, m.id), day)) is not None]
    for provider, listed in src.listings.items():
        kind = src.kinds[provider]
        for item in listed:
            if src.catalog.upstream_entry(kind, item.id) is None:
                entry = CatalogModel(
                    f"{provider}/{item.id}", item.display_name or item.id, item.created_at or "1970-01-01T00:00:00Z"
                )
                route = Route(entry.id, provider, item.id, None)
                found = _served(src, entry, [route], day, item)
                if found is not None:
                    served.append(found)
    return served


def _routes(src: Sources, model_id: str) -> list[Route]:
    entry = src.catalog.get(model_id)
    if entry is None or not any(_named(key, src.kinds) for key in entry.providers):
        return []
    return [r for r in candidates(model_id, src.kinds, src.catalog) if r.entry is entry]


def _named(key: str, kinds: Mapping[str, str]) -> bool:
    return key in kinds or key in kinds.values()


def _served(
    src: Sources, m: CatalogModel, routes: list[Route], day: dt.date, listed: ListedModel | None = None
) -> Served | None:
    if not routes:
        return None
    offers = []
    for r in routes:
        life = m.lifecycle_on(r.provider, src.kinds[r.provider])
        offers.append(Offer(r.provider, r.upstream_model, src.quote(r), life.status(day), life.retires, life.successor))
    window = m.context_window or (listed.context_window if listed else None)
    window = window or next((w for r in routes if (w := src.context_window(r.provider, r.upstream_model))), None)
    output = m.max_output or (listed.max_output if listed else None)
    return Served(m, offers, window, output)
