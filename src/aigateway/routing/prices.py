"""Prices and cost: exact integer arithmetic in nano-dollars (1e-9 USD).

Invariants:
- a price is USD per million tokens with at most three decimals, so its rate per token is an
  exact integer number of nano-dollars (price x 1000); costs are sums of integer products, never
  floats, and are shown as decimal strings;
- cost is computed from the four disjoint buckets of `Usage` (uncached input, cache reads, cache
  writes split by TTL, output): a cached token is charged once, at its own rate;
- the table is keyed by (catalog model id, provider): the same model can cost differently per
  provider, and a price follows the catalog's aliases;
- a price may have a long-context tier: when a request's whole input (uncached + cache reads +
  cache writes) exceeds its threshold, every token of that request is billed at the tier's rates.
"""

from __future__ import annotations

import dataclasses
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
    long_threshold: int | None = None  # input tokens above which `long` applies to the whole request
    long: Price | None = None

    @classmethod
    def per_million(cls, raw: Mapping[str, Any]) -> Price:
        base = cls._rates(raw)
        tier = raw.get("long_context")
        if not tier:
            return base
        threshold = tier.get("above_input_tokens")
        if not isinstance(threshold, int) or threshold < 1:
            raise ValueError("long_context.above_input_tokens: must be a whole number >= 1")
        return dataclasses.replace(base, long_threshold=threshold, long=cls._rates(tier))

    @classmethod
    def _rates(cls, raw: Mapping[str, Any]) -> Price:
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
        r = rates
        return cls(r["input"], r["output"], r["cache_write_5m"], r["cache_write_1h"], r["cache_read"])

    def tier(self, input_tokens: int) -> Price:
        """The rates a request with this many input tokens (all buckets) is billed at."""
        if self.long is not None and self.long_threshold is not None and input_tokens > self.long_threshold:
            return self.long
        return self

    def worst_case(self, max_input_tokens: int, max_output_tokens: int) -> int:
        """Most a request can cost: every input token at the dearest input rate, all of max_tokens."""
        rates = self.tier(max_input_tokens)
        return max_input_tokens * rates.max_input + max_output_tokens * rates.output

    def cost(self, usage: Usage) -> int:
        total_input = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
        rates = self.tier(total_input)
        if rates is not self:
            return rates.cost(usage)
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

    def per_million_view(self) -> dict[str, object]:
        view: dict[str, object] = {name: _per_million_text(getattr(self, name)) for name in _FIELDS}
        if self.long is not None:
            view["long_context"] = {"above_input_tokens": self.long_threshold, **self.long.per_million_view()}
        return view


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
