"""Each configured provider's own model list, read in the background.

Invariants:
- never on the request path: `run` reads every list at start and then every `interval` seconds;
  requests only read `models` (per provider a tuple, replaced whole, never mutated);
- every read has a timeout; a failed read keeps the last good list, and is logged once until a
  read of that provider succeeds again (an upstream without a listing is not logged every cycle);
- only configured upstreams are asked, with their own credentials; log lines name the provider
  and what failed, never a credential.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import msgspec

from aigateway.errors import GatewayError
from aigateway.observability.logging import log
from aigateway.providers.base import Provider
from aigateway.routing.catalog import ListedModel


def same_model(a: str, b: str) -> bool:
    """Two spellings of one id: case aside, a dot and a dash are the same separator."""
    return a.lower().replace(".", "-") == b.lower().replace(".", "-")


class Listings:
    def __init__(self, providers: Mapping[str, Provider], *, interval: float, timeout: float):
        self._providers = dict(providers)
        self._interval = interval
        self._timeout = timeout
        self._failing: set[str] = set()
        self.models: dict[str, tuple[ListedModel, ...]] = {}

    def find(self, provider: str, model: str) -> str | None:
        """The provider's own id for `model` as its list spells it, if it lists it."""
        listed = self.models.get(provider, ())
        exact = next((m.id for m in listed if m.id == model), None)
        return exact or next((m.id for m in listed if same_model(m.id, model)), None)

    async def refresh(self) -> bool:
        """Reads every list once; True when one of them changed."""
        read = await asyncio.gather(*(self._read(name, p) for name, p in self._providers.items()))
        changed = False
        for name, models in zip(self._providers, read, strict=True):
            if models is not None and models != self.models.get(name):
                self.models[name] = models
                changed = True
        return changed

    async def run(self, on_change: Callable[[], None]) -> None:
        while True:
            if await self.refresh():
                on_change()
            await asyncio.sleep(self._interval)

    async def _read(self, name: str, provider: Provider) -> tuple[ListedModel, ...] | None:
        try:
            models = tuple(await asyncio.wait_for(provider.list_models(self._timeout), self._timeout + 1))
        except (GatewayError, msgspec.DecodeError, TimeoutError) as exc:
            if name not in self._failing:
                self._failing.add(name)
                what = exc.message if isinstance(exc, GatewayError) else type(exc).__name__
                log.warning("model list unavailable", extra={"fields": {"provider": name, "error": what}})
            return None
        if name in self._failing:
            self._failing.discard(name)
            log.info("model list available again", extra={"fields": {"provider": name, "models": len(models)}})
        return models
