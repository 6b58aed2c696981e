"""Prices and cost: exact integer arithmetic, rates in pico-dollars (1e-12 USD), costs in nano-dollars.

Invariants:
- a token price is USD per million tokens with at most six decimals, so its rate per token is an
  exact integer number of pico-dollars (price x 10^6); a fee is USD per 1,000 calls, its rate per
  call an exact integer of pico-dollars (price x 10^9); costs are sums of integer products, never
  floats, rounded up once per request to whole nano-dollars (a price with at most three decimals,
  as every provider's list price is, never needs the rounding);
- cost is computed from the disjoint buckets of `Usage` (uncached input, cache reads, cache
  writes split by TTL, output) plus the server-side tool calls it reports (web searches): a
  cached token is charged once, at its own rate;
- a price may have long-context tiers: when a request's whole input (uncached + cache reads +
  cache writes) exceeds a tier's threshold, every token of that request is billed at that tier's
  rates (tiers nest: the highest threshold crossed wins);
- where a price comes from (config, this table, the genai-prices package, a self-hosted kind's
  zero) is decided in one place, `PriceTable.quote`, in that order.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib import resources
from typing import Any

import yaml

from aigateway.ir.usage import Usage
from aigateway.routing import price_source

NANO_PER_USD = 10**9
PICO_PER_NANO = 1000
PICO_PER_MTOK_USD = 10**6  # USD per million tokens -> pico-dollars per token
PICO_PER_KCALL_USD = 10**9  # USD per 1,000 calls -> pico-dollars per call
_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_FEES = {"web_search": "web_search_per_1000"}  # Price field -> its name in config and views


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


def pico(amount: Decimal, scale: int, *, exact: bool = True) -> int:
    """A decimal price in pico-dollars; `exact`: more decimals than the unit holds is an error,
    else it is rounded half up (a source's derived prices, such as 0.0833333...)."""
    value = amount * scale
    whole = value.to_integral_value(ROUND_HALF_UP)
    if exact and value != whole:
        raise ValueError("must have at most six decimals")
    return int(whole)


def _nano_up(picos: int) -> int:
    return -(-picos // PICO_PER_NANO)


@dataclass(frozen=True, slots=True)
class Price:
    """Pico-dollars per token for each bucket (= USD per million tokens x 10^6), per web search."""

    input: int
    output: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    web_search: int = 0
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
        fees = {name: getattr(base, name) for name in _FEES}
        return dataclasses.replace(base, long_threshold=threshold, long=cls._rates({**tier}, fees))

    @classmethod
    def _rates(cls, raw: Mapping[str, Any], fees: Mapping[str, int] | None = None) -> Price:
        rates = {name: _rate(raw, name, PICO_PER_MTOK_USD) for name in _FIELDS}
        for name, key in _FEES.items():
            given = raw.get(key)
            rates[name] = (fees or {}).get(name, 0) if given is None else _rate(raw, key, PICO_PER_KCALL_USD)
        return cls._of(rates)

    @classmethod
    def _of(cls, r: Mapping[str, int], long_threshold: int | None = None, long: Price | None = None) -> Price:
        return cls(
            r["input"],
            r["output"],
            r["cache_write_5m"],
            r["cache_write_1h"],
            r["cache_read"],
            r["web_search"],
            long_threshold,
            long,
        )

    @classmethod
    def from_levels(cls, levels: Sequence[price_source.Level]) -> Price:
        """A source's price, its rates rounded half up to whole pico-dollars (see `pico`)."""
        price: Price | None = None
        threshold: int | None = None
        for level in reversed(levels):
            r = level.rates
            rates = {name: pico(r[name], PICO_PER_MTOK_USD, exact=False) for name in _FIELDS}
            rates.update({name: pico(r[key], PICO_PER_KCALL_USD, exact=False) for name, key in _FEES.items()})
            price = cls._of(rates, threshold, price)
            threshold = level.above_input_tokens
        assert price is not None, "a source price has its base level"
        return price

    def tier(self, input_tokens: int) -> Price:
        """The rates a request with this many input tokens (all buckets) is billed at."""
        if self.long is not None and self.long_threshold is not None and input_tokens > self.long_threshold:
            return self.long.tier(input_tokens)
        return self

    def worst_case(self, max_input_tokens: int, max_output_tokens: int) -> int:
        """Most a request's tokens can cost, in nano-dollars: every input token at the dearest
        input rate of its tier, all of max_tokens at the output rate."""
        rates = self.tier(max_input_tokens)
        return _nano_up(max_input_tokens * rates.max_input + max_output_tokens * rates.output)

    def cost(self, usage: Usage) -> int:
        """What `usage` costs, in nano-dollars."""
        total_input = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
        r = self.tier(total_input)
        picos = (
            usage.input_tokens * r.input
            + usage.output_tokens * r.output
            + usage.cache_read_input_tokens * r.cache_read
            + usage.cache_creation_5m_input_tokens * r.cache_write_5m
            + usage.cache_creation_1h_input_tokens * r.cache_write_1h
            + usage.web_search_requests * r.web_search
        )
        return _nano_up(picos)

    @property
    def max_input(self) -> int:
        """The dearest rate an input token can be billed at (a 1 h cache write, usually)."""
        return max(self.input, self.cache_write_5m, self.cache_write_1h, self.cache_read)

    def per_million_view(self) -> dict[str, object]:
        view: dict[str, object] = {name: _text(getattr(self, name), PICO_PER_MTOK_USD) for name in _FIELDS}
        view.update({key: _text(getattr(self, name), PICO_PER_KCALL_USD) for name, key in _FEES.items()})
        if self.long is not None:
            view["long_context"] = {"above_input_tokens": self.long_threshold, **self.long.per_million_view()}
        return view


def _rate(raw: Mapping[str, Any], name: str, scale: int) -> int:
    try:
        amount = Decimal(str(raw[name]))
    except KeyError:
        raise ValueError(f"{name}: missing") from None
    except InvalidOperation:
        raise ValueError(f"{name}: not a number") from None
    if amount < 0:
        raise ValueError(f"{name}: must be >= 0")
    try:
        return pico(amount, scale)
    except ValueError:
        raise ValueError(f"{name}: must be >= 0 with at most six decimals") from None


def _text(rate: int, scale: int) -> str:
    text = format(Decimal(rate) / scale, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True, slots=True)
class PriceBook:
    """How one configured provider is priced: its kind, the source's provider id for it (None:
    the source does not price it), whether it is self-hosted (zero unless config prices it), and
    upstream ids the source knows under another model id (an Azure deployment -> its model)."""

    kind: str
    source_id: str | None = None
    free: bool = False
    aliases: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Quote:
    price: Price
    source: str  # "config", "genai-prices 0.2.3", "aigateway 2026-12-04", "self-hosted"


ZERO = Price(0, 0, 0, 0, 0)


class PriceTable:
    def __init__(
        self,
        version: str,
        prices: Mapping[tuple[str, str], Price],
        config: Mapping[tuple[str, str], Price] | None = None,
        books: Mapping[str, PriceBook] | None = None,
    ):
        self.version = version  # the shipped table's
        self._prices = dict(prices)
        self._config = dict(config or {})
        self._books = dict(books or {})
        self._from_source: dict[int, tuple[tuple[price_source.Level, ...], Price]] = {}
        # quote() of now, per (model, provider, upstream) and minute: it runs twice per request, and
        # a price in force changes at most on the hour (dated changes, off-peak hours)
        self._now: dict[tuple[str, str, str], tuple[int, Quote | None]] = {}

    @classmethod
    def load(
        cls, overrides: Iterable[Mapping[str, Any]] = (), books: Mapping[str, PriceBook] | None = None
    ) -> PriceTable:
        text = resources.files("aigateway.routing").joinpath("prices.yaml").read_text(encoding="utf-8")
        doc = yaml.safe_load(text)
        prices = {(r["model"], r["provider"]): Price.per_million(r) for r in doc["prices"]}
        config = {(raw["model"], raw["provider"]): Price.per_million(raw) for raw in overrides}
        return cls(str(doc["version"]), prices, config, books)

    def quote(self, model: str, provider: str, upstream: str, at: datetime | None = None) -> Quote | None:
        """The price of `model` (a catalog id, or the id as asked) served by the configured provider
        `provider` as `upstream`: config's, then this table's, then the source's, then a
        self-hosted kind's zero; None: nobody prices it."""
        if at is not None:
            return self._quote(model, provider, upstream, at)
        minute, key = int(time.time() // 60), (model, provider, upstream)
        cached = self._now.get(key)
        if cached is None or cached[0] != minute:
            if len(self._now) >= 4096:  # bounded: model ids come from clients
                self._now.clear()
            cached = self._now[key] = (minute, self._quote(model, provider, upstream, datetime.now(UTC)))
        return cached[1]

    def _quote(self, model: str, provider: str, upstream: str, at: datetime) -> Quote | None:
        book = self._books.get(provider) or PriceBook(provider)
        for names, table, source in (
            ((provider, book.kind), self._config, "config"),
            ((provider, book.kind), self._prices, f"aigateway {self.version}"),
        ):
            for name in names:
                price = table.get((model, name))
                if price is not None:
                    return Quote(price, source)
        if book.source_id is not None:
            levels = price_source.lookup(book.source_id, book.aliases.get(upstream, upstream), at)
            if levels is not None:
                return Quote(self._converted(levels), price_source.label())
        return Quote(ZERO, "self-hosted") if book.free else None

    def _converted(self, levels: tuple[price_source.Level, ...]) -> Price:
        cached = self._from_source.get(id(levels))
        if cached is None or cached[0] is not levels:
            if len(self._from_source) >= 4096:  # bounded: model ids come from clients
                self._from_source.clear()
            cached = self._from_source[id(levels)] = (levels, Price.from_levels(levels))
        return cached[1]

    def context_window(self, provider: str, upstream: str) -> int | None:
        """The source's context window of a model (for views where the catalog has none)."""
        book = self._books.get(provider)
        if book is None or book.source_id is None:
            return None
        return price_source.context_window(book.source_id, book.aliases.get(upstream, upstream))

    def get(self, model: str, provider: str) -> Price | None:
        """Config's or this table's price for (model, provider name or kind), without the source."""
        return self._config.get((model, provider)) or self._prices.get((model, provider))
