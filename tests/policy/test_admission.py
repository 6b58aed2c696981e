"""Admission rules that need no server: budget windows in UTC and the input estimate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aigateway.policy.admission import PREAMBLE_TOKENS, REFERENCE_TOKENS, budget_window, estimate_input_tokens


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("period", "now", "name", "start"),
    [
        ("day", "2026-11-25T23:59:59", "2026-11-25", "2026-11-25T00:00:00"),
        ("week", "2026-11-25T12:00:00", "2026-11-23", "2026-11-23T00:00:00"),  # a Wednesday: Monday's week
        ("week", "2026-11-23T00:00:00", "2026-11-23", "2026-11-23T00:00:00"),
        ("month", "2026-12-31T23:00:00", "2026-12-01", "2026-12-01T00:00:00"),
        ("month", "2027-01-01T00:00:00", "2027-01-01", "2027-01-01T00:00:00"),
    ],
)
def test_budget_windows_are_utc(period, now, name, start):
    window, begins, keep = budget_window(period, ts(now))
    assert (window, begins) == (name, ts(start))
    assert keep is not None and keep > 86_400  # kept past the window's end for late settles


def test_total_budget_has_one_window_kept_forever():
    assert budget_window("total", ts("2026-11-25T00:00:00")) == ("total", 0.0, None)


def test_estimate_counts_bytes_preamble_and_references():
    body = b'{"messages":[{"role":"user","content":"hi"}]}'
    assert estimate_input_tokens(body) == len(body) + PREAMBLE_TOKENS
    with_url = b'{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x"}}]}]}'
    assert estimate_input_tokens(with_url) == len(with_url) + PREAMBLE_TOKENS + REFERENCE_TOKENS


async def test_unreachable_redis_fails_closed():
    from aigateway.errors import GatewayError
    from aigateway.policy.admission import Admission
    from aigateway.policy.keys import GatewayKey, KeyPolicy
    from aigateway.policy.redis_counters import RedisCounters
    from aigateway.routing.catalog import Route
    from aigateway.routing.prices import PriceTable
    from tests.support.gateway import free_port

    admission = Admission(RedisCounters(f"redis://127.0.0.1:{free_port()}/0", "x:"), PriceTable.load())
    key = GatewayKey("key_1", "k", "h", KeyPolicy(rpm=5))
    route = Route("anthropic/claude-sonnet-4", "anthropic", "claude-sonnet-4-0", None)
    with pytest.raises(GatewayError) as info:
        await admission.admit(key, [route], b"{}", 16)
    assert info.value.status == 503
    unlimited = await admission.admit(GatewayKey("key_2", "k", "h"), [route], b"{}", 16)  # never asks Redis
    assert unlimited.headers == []
    await admission.aclose()


def test_a_plan_keeps_the_attempts_the_key_may_make_and_reserves_the_dearest():
    from aigateway.errors import PermissionDenied
    from aigateway.policy.admission import Admission
    from aigateway.policy.counters import LocalCounters
    from aigateway.policy.keys import GatewayKey, KeyPolicy
    from aigateway.routing.catalog import Catalog, Route
    from aigateway.routing.prices import PriceBook, PriceTable

    catalog = Catalog.load()
    admission = Admission(LocalCounters(), PriceTable.load(books={"anthropic": PriceBook("anthropic", "anthropic")}))
    haiku = Route(
        "anthropic/claude-haiku-4.5", "anthropic", "claude-haiku-4-5", catalog.get("anthropic/claude-haiku-4.5")
    )
    opus = Route("anthropic/claude-opus-4.1", "anthropic", "claude-opus-4-1", catalog.get("anthropic/claude-opus-4.1"))
    unpriced = Route("anthropic/claude-x", "anthropic", "claude-x", None)
    only_haiku = GatewayKey("k", "k", "h", KeyPolicy(allowed_models=("anthropic/claude-haiku-4.5",)))
    assert admission.usable(only_haiku, [opus, haiku], spends=False) == [False, True]
    with pytest.raises(PermissionDenied, match=r"may not use model 'anthropic/claude-opus-4\.1'"):
        admission.usable(only_haiku, [opus], spends=False)
    budgeted = GatewayKey("b", "b", "h", KeyPolicy(budget_nanousd=10**12, budget_period="total"))
    assert admission.usable(budgeted, [unpriced, haiku], spends=True) == [False, True]
    assert admission.usable(budgeted, [unpriced], spends=False) == [True]  # count_tokens spends nothing


async def test_the_reservation_is_the_dearest_attempt_and_the_cost_the_one_that_answered():
    from aigateway.ir.usage import Usage
    from aigateway.policy.admission import Admission
    from aigateway.policy.counters import LocalCounters
    from aigateway.policy.keys import GatewayKey, KeyPolicy
    from aigateway.routing.catalog import Catalog, Route
    from aigateway.routing.prices import PriceBook, PriceTable

    catalog = Catalog.load()
    counters = LocalCounters()
    admission = Admission(counters, PriceTable.load(books={"anthropic": PriceBook("anthropic", "anthropic")}))
    haiku = Route(
        "anthropic/claude-haiku-4.5", "anthropic", "claude-haiku-4-5", catalog.get("anthropic/claude-haiku-4.5")
    )
    opus = Route("anthropic/claude-opus-4.1", "anthropic", "claude-opus-4-1", catalog.get("anthropic/claude-opus-4.1"))
    key = GatewayKey("b", "b", "h", KeyPolicy(budget_nanousd=10**12, budget_period="total"))
    body = b"{}"
    ticket = await admission.admit(key, [haiku, opus], body, 100)
    est = estimate_input_tokens(body)
    assert (
        ticket.spend is not None and ticket.spend.amount == est * 30_000 + 100 * 75_000
    )  # Opus 4.1: 1 h write, output
    assert admission.settle(ticket, haiku, Usage(10, 20)) == 10 * 1000 + 20 * 5000  # Haiku answered
    await admission.aclose()
    assert await counters.spent(ticket.spend.name) == 110_000


def _haiku():
    from aigateway.routing.catalog import Catalog, Route

    return Route(
        "anthropic/claude-haiku-4.5", "anthropic", "claude-haiku-4-5", Catalog.load().get("anthropic/claude-haiku-4.5")
    )


async def test_in_process_counters_are_settled_at_once_without_a_task():
    from aigateway.ir.usage import Usage
    from aigateway.policy.admission import Admission
    from aigateway.policy.counters import LocalCounters
    from aigateway.policy.keys import GatewayKey, KeyPolicy
    from aigateway.routing.prices import PriceBook, PriceTable

    counters = LocalCounters()
    admission = Admission(counters, PriceTable.load(books={"anthropic": PriceBook("anthropic", "anthropic")}))
    key = GatewayKey("s", "s", "h", KeyPolicy(tpm=1_000_000, budget_nanousd=10**12, budget_period="day"))
    ticket = await admission.admit(key, [_haiku()], b"{}", 100)
    assert ticket.spend is not None and admission.reserved(ticket.spend.name) == ticket.spend.amount
    cost = admission.settle(ticket, _haiku(), Usage(10, 20))
    assert not admission._pending  # nothing left to run in the background
    assert admission.reserved(ticket.spend.name) == 0
    assert counters._spend[ticket.spend.name] == cost  # no await between settle and this
    level, _ = counters._buckets[f"tpm:{key.id}"]
    assert level // 60_000 >= 1_000_000 - 30 - 1  # the reservation (1126 tokens) was given back but 30


async def test_limits_follow_a_changed_key_and_headers_name_the_tightest_bucket():
    from aigateway.policy.admission import Admission
    from aigateway.policy.counters import LocalCounters
    from aigateway.policy.keys import GatewayKey, KeyPolicy
    from aigateway.routing.prices import PriceTable

    admission = Admission(LocalCounters(), PriceTable.load())
    before = GatewayKey("c", "c", "h", KeyPolicy(rpm=100, rpm_per_model=5, tpm=10_000))
    headers = dict((await admission.admit(before, [_haiku()], b"{}", 100)).headers)
    assert headers[b"anthropic-ratelimit-requests-limit"] == b"5"  # the per-model bucket is the tighter
    assert headers[b"anthropic-ratelimit-requests-remaining"] == b"4"
    assert headers[b"anthropic-ratelimit-tokens-limit"] == b"10000"
    assert headers[b"anthropic-ratelimit-tokens-reset"].endswith(b"Z")
    after = GatewayKey("c", "c", "h", KeyPolicy(rpm=3))  # the key was edited and refreshed
    headers = dict((await admission.admit(after, [_haiku()], b"{}", 100)).headers)
    assert headers[b"anthropic-ratelimit-requests-limit"] == b"3" and b"anthropic-ratelimit-tokens-limit" not in headers
    assert (await admission.admit(GatewayKey("c", "c", "h", KeyPolicy()), [_haiku()], b"{}", 100)).headers == []
