"""Prometheus metrics, served at `GET /metrics`.

Invariants:
- the hot path never touches prometheus_client: `Metrics.observe` runs once per request, where
  the ledger row is built, and only adds numbers into plain dicts keyed by label tuples (one
  dict lookup per family, a bisect per histogram); nothing runs per stream chunk;
- prometheus_client only renders: a custom collector turns those dicts (and the breakers and the
  in-flight count, read at scrape time) into metric families when `/metrics` is scraped;
- everything runs on the event loop, so the dicts need no lock;
- with `serve --workers N` a scrape renders the sum of every worker's dicts instead
  (observability/snapshots.py); the dicts and `observe` are the same either way;
- labels carry ids and names only (model, provider, key id, credential label), never secrets.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from aigateway.routing.fallback import Tried
    from aigateway.routing.health import Health
    from aigateway.store.rows import LedgerRow

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_STATES = ("closed", "open", "half_open")
BreakerRow = tuple[str, str, str, int]  # provider, credential, state, consecutive failures


class _Histogram:
    """Per-bucket counts (not cumulative; made cumulative when rendered) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self, size: int) -> None:
        self.counts = [0] * (size + 1)  # the last slot is +Inf
        self.total = 0.0


class Metrics:
    def __init__(self) -> None:
        # (model, provider, key_id, endpoint, status) -> requests
        self.requests: dict[tuple[str, str, str, str, str], int] = {}
        # (model, provider, key_id) -> [input, output, cache_read, cache_write, cost in nano-USD]
        self.usage: dict[tuple[str, str, str], list[int]] = {}
        self.latency: dict[tuple[str, str], _Histogram] = {}
        self.ttft: dict[tuple[str, str], _Histogram] = {}
        # (provider, outcome) for failed attempts; (provider,) for retries and fallbacks
        self.upstream_errors: dict[tuple[str, str], int] = {}
        self.retries: dict[str, int] = {}
        self.fallbacks: dict[str, int] = {}
        self.in_flight = 0

    def observe(self, row: LedgerRow, tried: Sequence[Tried]) -> None:
        """Adds one finished request; called once, with its ledger row and its attempts."""
        model, provider, key = row.model or "", row.provider or "", row.key_id or ""
        rk = (model, provider, key, row.endpoint, str(row.status))
        self.requests[rk] = self.requests.get(rk, 0) + 1
        if row.input_tokens or row.output_tokens or row.cost_nanousd:
            u = self.usage.get((model, provider, key))
            if u is None:
                u = self.usage[(model, provider, key)] = [0, 0, 0, 0, 0]
            u[0] += row.input_tokens
            u[1] += row.output_tokens
            u[2] += row.cache_read_tokens
            u[3] += row.cache_write_tokens
            u[4] += row.cost_nanousd or 0
        mp = (model, provider)
        _add(self.latency, mp, LATENCY_BUCKETS, row.latency_ms / 1000)
        if row.ttft_ms is not None:
            _add(self.ttft, mp, TTFT_BUCKETS, row.ttft_ms / 1000)
        if len(tried) > 1 or (tried and tried[0].outcome != "ok"):
            self._attempts(tried)

    def _attempts(self, tried: Sequence[Tried]) -> None:
        previous: Tried | None = None
        for t in tried:
            if t.outcome != "ok":
                k = (t.provider, t.outcome)
                self.upstream_errors[k] = self.upstream_errors.get(k, 0) + 1
            if previous is not None:
                same = (previous.provider, previous.credential, previous.upstream_model) == (
                    t.provider,
                    t.credential,
                    t.upstream_model,
                )
                counts = self.retries if same else self.fallbacks
                counts[t.provider] = counts.get(t.provider, 0) + 1
            previous = t


def _add(hists: dict[tuple[str, str], _Histogram], key: tuple[str, str], bounds: tuple[float, ...], v: float) -> None:
    h = hists.get(key)
    if h is None:
        h = hists[key] = _Histogram(len(bounds))
    h.counts[bisect_left(bounds, v)] += 1
    h.total += v


def breakers(health: Health) -> list[BreakerRow]:
    return [(p, c, b.state, b.failures) for (p, c), b in sorted(health.breakers.items())]


class _Collector(Collector):
    def __init__(self, metrics: Metrics, breakers: Sequence[BreakerRow]) -> None:
        self.m = metrics
        self.breakers = breakers

    def collect(self) -> Iterator[Metric]:
        m = self.m
        requests = CounterMetricFamily(
            "aigateway_requests", "Requests answered", labels=["model", "provider", "key", "endpoint", "status"]
        )
        for labels, n in m.requests.items():
            requests.add_metric(labels, n)
        yield requests
        yield from self._usage()
        yield _histogram(
            "aigateway_request_duration_seconds", "Time from request to last byte", m.latency, LATENCY_BUCKETS
        )
        yield _histogram(
            "aigateway_time_to_first_token_seconds", "Time from request to first content", m.ttft, TTFT_BUCKETS
        )
        errors = CounterMetricFamily(
            "aigateway_upstream_errors", "Failed upstream attempts", labels=["provider", "outcome"]
        )
        for labels2, n in m.upstream_errors.items():
            errors.add_metric(labels2, n)
        yield errors
        for name, doc, counts in (
            ("aigateway_upstream_retries", "Retries of an attempt on the same upstream", m.retries),
            ("aigateway_upstream_fallbacks", "Moves to another provider, credential or model", m.fallbacks),
        ):
            family = CounterMetricFamily(name, doc, labels=["provider"])
            for provider, n in counts.items():
                family.add_metric([provider], n)
            yield family
        yield from self._gauges()

    def _usage(self) -> Iterator[Metric]:
        tokens = CounterMetricFamily("aigateway_tokens", "Tokens", labels=["model", "provider", "key", "type"])
        cost = CounterMetricFamily(
            "aigateway_cost_usd", "Cost at the configured prices", labels=["model", "provider", "key"]
        )
        for (model, provider, key), u in self.m.usage.items():
            for kind, n in zip(("input", "output", "cache_read", "cache_write"), u, strict=False):
                tokens.add_metric([model, provider, key, kind], n)
            cost.add_metric([model, provider, key], u[4] / 1e9)
        yield tokens
        yield cost

    def _gauges(self) -> Iterator[Metric]:
        in_flight = GaugeMetricFamily("aigateway_requests_in_flight", "Requests being answered")
        in_flight.add_metric([], self.m.in_flight)
        yield in_flight
        state = GaugeMetricFamily(
            "aigateway_breaker_state", "1 for the breaker's current state", labels=["provider", "credential", "state"]
        )
        failures = GaugeMetricFamily(
            "aigateway_breaker_failures", "Consecutive failures", labels=["provider", "credential"]
        )
        for provider, credential, current, n in self.breakers:
            for s in _STATES:
                state.add_metric([provider, credential, s], 1.0 if current == s else 0.0)
            failures.add_metric([provider, credential], n)
        yield state
        yield failures


def _histogram(name: str, doc: str, hists: dict[tuple[str, str], _Histogram], bounds: tuple[float, ...]) -> Metric:
    family = HistogramMetricFamily(name, doc, labels=["model", "provider"])
    for labels, h in hists.items():
        running = 0
        buckets: list[tuple[str, float]] = []
        for bound, n in zip((*map(str, bounds), "+Inf"), h.counts, strict=True):
            running += n
            buckets.append((bound, running))
        family.add_metric(list(labels), buckets, h.total)
    return family


def registry(metrics: Metrics, breakers: Sequence[BreakerRow]) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(_Collector(metrics, breakers))
    return reg


def render(reg: CollectorRegistry) -> bytes:
    return generate_latest(reg)
