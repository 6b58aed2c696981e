"""Prices and cost: exact integer arithmetic in nano-dollars (1e-9 USD).

Invariants:
- a price is USD per million tokens with at most three decimals, so its rate per token is an
  exact integer number of nano-dollars (price x 1000); costs are sums of integer products, never
  floats, and are shown as decimal strings;
- cost is computed from the four disjoint buckets of `Usage` (uncached input, cache reads, cache
  writes split by TTL, output): a cached token is charged once, at its own rate;
- the table is keyed by (catalog model id, provider): the same model can cost differently per
  provider, and a price follows the catalog's aliases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import yaml

from aigateway.ir.usage import Usage

NANO_PER_USD = 10**9
_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")


def to_nano(usd: Decimal | str | int) -> int:
    """Dollars as an exact integer of nano-dollars; more than nine decimals is an error."""
    value = Decimal(str(usd)) * NANO_PER_USD
    if value != value.to_integral_value():
        raise ValueError(f"{usd} has more than nine decimals")
    return int(value)


def usd(nano: int) -> str:
    """Nano-dollars as a plain decimal string of dollars, trailing zeros kept to six places."""
    text = format(Decimal(nano).scaleb(-9), "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return whole + "." + frac.ljust(6, "0")


@dataclass(frozen=True, slots=True)
class Price:
    """Nano-dollars per token for each bucket (= USD per million tokens x 1000)."""

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int

    @classmethod
    def per_million(cls, raw: Mapping[str, Any]) -> Price:
        rates = {}
        for name in _FIELDS:
            try:
                per_million = Decimal(str(raw[name]))
            except KeyError:
                raise ValueError(f"{name}: missing") from None
            except InvalidOperation:
                raise ValueError(f"{name}: not a number") from None
            per_token = per_million * 1000
            if per_million < 0 or per_token != per_token.to_integral_value():
                raise ValueError(f"{name}: must be >= 0 with at most three decimals")
            rates[name] = int(per_token)
        return cls(**rates)

    def cost(self, usage: Usage) -> int:
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_read_input_tokens * self.cache_read
            + usage.cache_creation_5m_input_tokens * self.cache_write_5m
            + usage.cache_creation_1h_input_tokens * self.cache_write_1h
        )

    @property
    def max_input(self) -> int:
        """The dearest rate an input token can be billed at (a 1 h cache write, usually)."""
        return max(self.input, self.cache_write_5m, self.cache_write_1h, self.cache_read)

    def per_million_view(self) -> dict[str, str]:
        return {name: _per_million_text(getattr(self, name)) for name in _FIELDS}


def _per_million_text(rate: int) -> str:
    text = format(Decimal(rate).scaleb(-3), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class PriceTable:
    def __init__(self, version: str, prices: Mapping[tuple[str, str], Price]):
        self.version = version
        self._prices = dict(prices)

    @classmethod
    def load(cls, overrides: Iterable[Mapping[str, Any]] = ()) -> PriceTable:
        text = resources.files("aigateway.routing").joinpath("prices.yaml").read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        prices = {(r["model"], r["provider"]): Price.per_million(r) for r in doc["prices"]}
        version = str(doc["version"])
        extra = list(overrides)
        for raw in extra:
            prices[(raw["model"], raw["provider"])] = Price.per_million(raw)
        if extra:
            version += "+config"
        return cls(version, prices)

    def get(self, model: str, provider: str) -> Price | None:
        return self._prices.get((model, provider))

    def for_model(self, model: str) -> dict[str, Price]:
        return {p: price for (m, p), price in self._prices.items() if m == model}
