"""A budget counter Redis lost is never read as zero: nothing is taken from it until it is seeded
again, a settle does not bring it back with a negative value, and seeding counts what this process
has reserved and not yet written to the ledger."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from aigateway.ir.usage import Usage
from aigateway.policy.admission import Admission
from aigateway.policy.budget import BudgetSeeder
from aigateway.policy.counters import UNSEEDED, Spend
from aigateway.policy.keys import GatewayKey, KeyPolicy
from aigateway.policy.ledger import Ledger
from aigateway.policy.redis_counters import RedisCounters
from aigateway.routing.catalog import Route
from aigateway.routing.prices import PriceTable
from tests.policy.conftest import REDIS, drop_prefix


async def test_a_lost_redis_budget_counter_is_neither_taken_from_nor_settled_into():
    prefix = f"aigw-test-{uuid.uuid4().hex[:12]}:"
    counters = RedisCounters(REDIS, prefix)
    spend = Spend("budget:k:month:2026-11-01", limit=10_000, amount=100)
    try:
        assert (await counters.acquire([], spend)).failed == UNSEEDED
        assert await counters.spent(spend.name) is None
        await counters.settle([], Spend(spend.name, 10_000, -100))
        assert await counters.spent(spend.name) is None  # not brought back as -100
        await counters.seed(spend.name, 9_950, None)
        verdict = await counters.acquire([], spend)
        assert not verdict.ok and verdict.failed == -1 and verdict.spent == 9_950
    finally:
        await counters.aclose()
        await drop_prefix(prefix)


async def test_seeding_a_lost_counter_counts_unwritten_rows_and_open_reservations(engine):
    prefix = f"aigw-test-{uuid.uuid4().hex[:12]}:"
    admission = Admission(RedisCounters(REDIS, prefix), PriceTable.load([]))
    ledger = Ledger(engine, flush_interval=60)
    BudgetSeeder(engine, admission, ledger)
    key = GatewayKey(id="k1", name="k", secret_hash="", policy=KeyPolicy(budget_nanousd=10**9, budget_period="month"))
    route = Route("anthropic/claude-sonnet-4", "anthropic", "claude-sonnet-4-0", None)
    body = b'{"messages":[{"role":"user","content":"hi"}]}'
    try:
        open_ticket = await admission.admit(key, [route], body, 100)  # seeded at 0, then reserved
        assert open_ticket.spend is not None
        reserved = open_ticket.spend.amount
        redis = Redis.from_url(REDIS)
        await redis.delete(prefix + open_ticket.spend.name)  # Redis restarted empty
        await redis.aclose()
        second = await admission.admit(key, [route], body, 100)
        assert second.spend is not None
        spent = await admission.counters.spent(second.spend.name)
        assert spent == reserved + second.spend.amount  # the open reservation was counted again
        admission.settle(open_ticket, route, Usage(input_tokens=10, output_tokens=10))
        admission.settle(second, route, Usage(input_tokens=10, output_tokens=10))
        await admission.aclose()
        assert admission.reserved(second.spend.name) == 0
    finally:
        await drop_prefix(prefix)
