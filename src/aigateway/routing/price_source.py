"""Prices from the genai-prices package: the data shipped inside the pinned package, read offline.

Invariants:
- nothing here fetches anything: the package's optional updater (`genai_prices.UpdatePrices`) is
  started only by `start_updates`, which app.py calls only when the operator turns it on in config;
- a lookup names the source's provider id and the model id as the upstream spells it; the
  package matches model ids (dated snapshots, Bedrock `us.`/`eu.`/`global.` profiles, Vertex's
  `@date` ids) and picks the price in force at the request's time (dated price changes, DeepSeek's
  off-peak hours); request-specific variants (batch, priority or flex tiers, fast modes) are not
  chosen: the gateway bills the standard price;
- a price is returned as `Level`s: the base rates, then one level per long-context threshold, each
  holding the USD rate of every bucket the gateway bills, with the package's fallbacks applied
  (a bucket without its own price is billed at its parent's: cache reads and writes at the input
  price, 5-minute and 1-hour writes at the cache-write price);
- lookups are cached per model and per price object, bounded (model ids come from clients).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import genai_prices
from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, TieredPrices

_MAX_CACHED = 4096
# The gateway's buckets -> the package's price keys, the first one priced wins.
_KEYS = {
    "input": ("input_mtok",),
    "output": ("output_mtok",),
    "cache_read": ("cache_read_mtok", "input_mtok"),
    "cache_write_5m": ("cache_write_5m_mtok", "cache_write_mtok", "input_mtok"),
    "cache_write_1h": ("cache_write_1h_mtok", "cache_write_mtok", "input_mtok"),
    "web_search_per_1000": ("web_searches_kcount",),
}


@dataclass(frozen=True, slots=True)
class Level:
    above_input_tokens: int | None  # None: the base rates
    rates: dict[str, Decimal]  # bucket -> USD per million tokens (per 1,000 calls for fees)


def warm_up() -> None:
    """Loads the package's data (about half a second): at start-up, not on a first request."""
    data_snapshot.get_snapshot()


def label() -> str:
    snapshot = data_snapshot.get_snapshot()
    if snapshot.from_auto_update:
        return f"genai-prices {genai_prices.__version__} (updated {snapshot.timestamp:%Y-%m-%dT%H:%M:%S})"
    return f"genai-prices {genai_prices.__version__}"


_models: dict[tuple[int, str, str], ModelInfo | None] = {}
_levels: dict[int, tuple[ModelPrice, tuple[Level, ...] | None]] = {}
_lock = threading.Lock()  # the updater thread may replace the snapshot under us


def lookup(provider_id: str, model_ref: str, at: datetime) -> tuple[Level, ...] | None:
    """The source's price of `model_ref` at `provider_id` in force at `at`; None: not priced."""
    model = find_model(provider_id, model_ref)
    if model is None:
        return None
    price = model.get_prices(at)
    cached = _levels.get(id(price))
    if cached is not None and cached[0] is price:
        return cached[1]
    levels = convert(price)
    with _lock:
        if len(_levels) >= _MAX_CACHED:
            _levels.clear()
        _levels[id(price)] = (price, levels)
    return levels


def find_model(provider_id: str, model_ref: str) -> ModelInfo | None:
    snapshot = data_snapshot.get_snapshot()
    key = (id(snapshot), provider_id, model_ref)
    if key in _models:
        return _models[key]
    try:
        _, model = snapshot.find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        model = None
    with _lock:
        if len(_models) >= _MAX_CACHED:
            _models.clear()
        _models[key] = model
    return model


def context_window(provider_id: str, model_ref: str) -> int | None:
    model = find_model(provider_id, model_ref)
    return model.context_window if model is not None else None


def convert(price: ModelPrice) -> tuple[Level, ...] | None:
    """A model price as levels; None when it has no input token price (not a token-billed model)."""
    if _value(price, "input_mtok") is None:
        return None
    thresholds = sorted(
        {t.start for key in _all_keys() if isinstance(v := _value(price, key), TieredPrices) for t in v.tiers}
    )
    return tuple(Level(above, _rates(price, above)) for above in [None, *thresholds])


def _rates(price: ModelPrice, above: int | None) -> dict[str, Decimal]:
    rates = {}
    for bucket, keys in _KEYS.items():
        amount = next((_at(v, above) for key in keys if (v := _value(price, key)) is not None), None)
        rates[bucket] = Decimal(0) if amount is None else amount
    return rates


def _at(value: Decimal | TieredPrices, above: int | None) -> Decimal:
    """A price's rate for requests whose input is just above `above` tokens (tiers: input > start)."""
    if not isinstance(value, TieredPrices):
        return value
    rate = value.base
    for tier in value.tiers:
        if above is not None and tier.start <= above:
            rate = tier.price
    return rate


def _value(price: ModelPrice, key: str) -> Any:
    return getattr(price, key, None)


def _all_keys() -> set[str]:
    return {key for keys in _KEYS.values() for key in keys}


def start_updates(interval: float) -> genai_prices.UpdatePrices:
    """The package's background updater (a thread fetching its maintainers' latest data): only
    when the operator asks for it in config."""
    updater = genai_prices.UpdatePrices(update_interval=interval)
    updater.start()
    return updater
