"""The model catalog: `creator/model` ids, display data, and which provider serves each as what.

A model the catalog does not list still works (`provider/anything` is forwarded as `anything`,
routing/plan.py), so new models work the day they ship. The config may add entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

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
    def load(cls, extra: list[dict[str, Any]] | None = None) -> Catalog:
        """The shipped catalog, with the config's entries added (same id: the config's wins)."""
        text = resources.files("aigateway.routing").joinpath("models.yaml").read_text(encoding="utf-8")
        entries = {raw["id"]: raw for raw in yaml.safe_load(text)["models"]}
        entries.update({raw["id"]: raw for raw in extra or []})
        models, aliases = [], {}
        for raw in entries.values():
            model = CatalogModel(
                id=raw["id"],
                display_name=raw.get("display_name") or raw["id"],
                created_at=raw.get("created_at") or EPOCH,
                providers=dict(raw["providers"]),
            )
            models.append(model)
            aliases.update({a: model.id for a in raw.get("aliases") or []})
        return cls(models, aliases)

    def get(self, model_id: str) -> CatalogModel | None:
        return self._by_id.get(model_id)
