"""Turns the client's `provider/model` into the upstream call to make.

G1 has one attempt per request; fallbacks and retries (G4) grow from here.
"""

from __future__ import annotations

from collections.abc import Mapping

from aigateway.errors import InvalidRequest, NotFound
from aigateway.routing.catalog import Catalog, Route


def resolve_route(model: str, configured: Mapping[str, object], catalog: Catalog) -> Route:
    provider, sep, name = model.partition("/")
    if not sep or not provider or not name:
        raise InvalidRequest(
            f"model: '{model}' is not of the form 'provider/model' (for example 'anthropic/claude-sonnet-4.5')"
        )
    if provider not in configured:
        raise NotFound(f"model: provider '{provider}' is not configured on this gateway")
    return catalog.route(model, provider)
