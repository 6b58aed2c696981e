"""The model catalog: `creator/model` ids, display data, and which provider serves each as what.

Invariant: resolution never fails for a well-formed id whose provider is configured; a model the
catalog does not list is forwarded under its own name, so new models work the day they ship.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import yaml

EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    display_name: str
    created_at: str
    providers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Route:
    model: str  # the id the client asked for
    provider: str
    upstream_model: str
    entry: CatalogModel | None


class Catalog:
    def __init__(self, models: list[CatalogModel], aliases: dict[str, str]):
        self.models = models
        self._by_id = {m.id: m for m in models}
        for alias, target in aliases.items():
            self._by_id[alias] = self._by_id[target]

    @classmethod
    def load(cls) -> Catalog:
        text = resources.files("aigateway.routing").joinpath("models.yaml").read_text(encoding="utf-8")
        models, aliases = [], {}
        for raw in yaml.safe_load(text)["models"]:
            model = CatalogModel(
                id=raw["id"],
                display_name=raw.get("display_name", raw["id"]),
                created_at=raw.get("created_at", EPOCH),
                providers=dict(raw["providers"]),
            )
            models.append(model)
            aliases.update({a: model.id for a in raw.get("aliases", [])})
        return cls(models, aliases)

    def get(self, model_id: str) -> CatalogModel | None:
        return self._by_id.get(model_id)

    def route(self, model_id: str, provider: str) -> Route:
        """`model_id` is `provider/model`; `provider` is its (already checked) first part."""
        entry = self._by_id.get(model_id)
        if entry is not None and provider in entry.providers:
            return Route(model_id, provider, entry.providers[provider], entry)
        return Route(model_id, provider, model_id.split("/", 1)[1], entry)
