"""Rate-limit buckets and budget counters: in process and in Redis, the same answers."""

from __future__ import annotations

import asyncio

from aigateway.policy.counters import Bucket, Spend


async def test_a_burst_gets_exactly_the_limit(counters):
    verdicts = await asyncio.gather(*(counters.acquire([Bucket("rpm:k", 10, 1)], None) for _ in range(50)))
    assert sum(v.ok for v in verdicts) == 10
    refused = [v for v in verdicts if not v.ok]
    assert all(v.failed == 0 and 0 < v.retry_after_ms <= 6_000 for v in refused)  # 1 of 10/min: <= 6 s
    assert sorted(v.remaining[0] for v in verdicts if v.ok) == list(range(10))


async def test_all_or_nothing_across_buckets(counters):
    first = await counters.acquire([Bucket("a", 5, 1), Bucket("b", 1, 1)], None)
    assert first.ok
    # "b" is empty: the take from "a" must not happen either.
    for _ in range(3):
        refused = await counters.acquire([Bucket("a", 5, 1), Bucket("b", 1, 1)], None)
        assert not refused.ok and refused.failed == 1
    alone = await counters.acquire([Bucket("a", 5, 4)], None)
    assert alone.ok and alone.remaining == (0,)


async def test_tokens_are_corrected_by_settle(counters):
    assert (await counters.acquire([Bucket("tpm:k", 1000, 900)], None)).ok
    assert not (await counters.acquire([Bucket("tpm:k", 1000, 200)], None)).ok
    await counters.settle([Bucket("tpm:k", 1000, 100 - 900)], None)  # the request used 100, not 900
    verdict = await counters.acquire([Bucket("tpm:k", 1000, 200)], None)
    assert verdict.ok and verdict.remaining[0] in (700, 701)  # a millisecond of refill may land


async def test_a_request_bigger_than_the_bucket_passes_only_when_it_is_full(counters):
    assert (await counters.acquire([Bucket("tpm:big", 100, 500)], None)).ok
    refused = await counters.acquire([Bucket("tpm:big", 100, 1)], None)
    assert not refused.ok and refused.retry_after_ms > 60_000  # in debt for the excess


async def test_budget_is_never_overshot_by_concurrent_reservations(counters):
    spend = Spend("budget:k:total:total", limit=1_000, amount=150)
    await counters.seed(spend.name, 0, None)  # from the ledger, before any request (policy/budget.py)
    verdicts = await asyncio.gather(*(counters.acquire([], spend) for _ in range(40)))
    assert sum(v.ok for v in verdicts) == 6  # 6 * 150 = 900 <= 1000 < 7 * 150
    assert await counters.spent(spend.name) == 900
    assert all(v.failed == -1 for v in verdicts if not v.ok)
    await counters.settle([], Spend(spend.name, 1_000, 40 - 150))  # one request cost 40
    assert await counters.spent(spend.name) == 790
    assert (await counters.acquire([], spend)).ok


async def test_seeding_never_overwrites_a_live_counter(counters):
    spend = Spend("budget:k:day:2026-11-25", limit=10_000, amount=100)
    await counters.seed(spend.name, 500, 3600)
    assert (await counters.acquire([], spend)).spent == 600
    await counters.seed(spend.name, 0, 3600)
    assert await counters.spent(spend.name) == 600
