"""The model catalog: `creator/model` ids, display data, limits, lifecycle, and which provider
serves each as what.

A model the catalog does not list still works (`provider/anything` is forwarded in the
provider's own spelling, routing/plan.py), so new models work the day they ship. The config may
add entries. Lifecycle is per provider (Bedrock and Vertex retire models on dates of their own):
a model's status on a provider follows from its dates and today's date, so it never goes stale
between releases; the gateway never refuses a model on the catalog's word (the upstream decides).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

import yaml

EPOCH = "1970-01-01T00:00:00Z"
Status = Literal["active", "deprecated", "retired"]


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """A model's lifecycle on one provider: when its retirement was announced, when it retires
    (requests fail from that day), and the model id its provider recommends instead."""

    deprecated: dt.date | None = None
    retires: dt.date | None = None
    successor: str | None = None

    def status(self, today: dt.date) -> Status:
        if self.retires is not None and today >= self.retires:
            return "retired"
        if self.retires is not None or (self.deprecated is not None and today >= self.deprecated):
            return "deprecated"
        return "active"

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Lifecycle:
        return cls(_date(raw.get("deprecated")), _date(raw.get("retires")), raw.get("successor"))


ACTIVE = Lifecycle()


def _date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class CatalogModel:
    id: str
    display_name: str
    created_at: str
    providers: dict[str, str] = field(default_factory=dict)
    context_window: int | None = None  # input tokens
    max_output: int | None = None  # output tokens of one answer
    lifecycle: dict[str, Lifecycle] = field(default_factory=dict)  # provider key -> its lifecycle

    def lifecycle_on(self, *keys: str) -> Lifecycle:
        """The lifecycle on the first of `keys` (a provider's name, then its kind) the entry has."""
        return next((self.lifecycle[k] for k in keys if k in self.lifecycle), ACTIVE)


@dataclass(frozen=True, slots=True)
class ListedModel:
    """A model as a provider's own listing names it (Provider.list_models)."""

    id: str  # the provider's model id
    display_name: str | None = None
    created_at: str | None = None  # RFC 3339
    context_window: int | None = None
    max_output: int | None = None


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
            model = _model(raw)
            models.append(model)
            aliases.update({a: model.id for a in raw.get("aliases") or []})
        return cls(models, aliases)

    def get(self, model_id: str) -> CatalogModel | None:
        return self._by_id.get(model_id)

    def upstream_entry(self, kind: str, upstream: str) -> CatalogModel | None:
        """The entry a provider kind serves as `upstream` (a live listing's id), if any."""
        return next((m for m in self.models if m.providers.get(kind) == upstream), None)


def _model(raw: dict[str, Any]) -> CatalogModel:
    return CatalogModel(
        id=raw["id"],
        display_name=raw.get("display_name") or raw["id"],
        created_at=raw.get("created_at") or EPOCH,
        providers=dict(raw["providers"]),
        context_window=raw.get("context_window"),
        max_output=raw.get("max_output"),
        lifecycle={key: Lifecycle.parse(dict(v)) for key, v in (raw.get("lifecycle") or {}).items()},
    )
