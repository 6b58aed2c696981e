"""The key cache: new keys work at once, revoked ones stop, bad keys cost (almost) no queries."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event

from aigateway.policy.keys import KeyCache, create_key, revoke_key


def count_queries(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


async def test_a_new_key_works_on_first_use(engine):
    cache = KeyCache(engine)
    await cache.refresh()
    row, secret = await create_key(engine, "fresh")
    key = await cache.lookup(secret)
    assert key is not None and key.id == row.id


async def test_a_revoked_key_stops_at_the_next_refresh(engine):
    cache = KeyCache(engine)
    row, secret = await create_key(engine, "soon-gone")
    await cache.refresh()
    assert await cache.lookup(secret) is not None
    assert await revoke_key(engine, row.id)
    await cache.refresh()
    assert await cache.lookup(secret) is None


async def test_a_flood_of_bad_keys_shares_a_few_refreshes(engine):
    cache = KeyCache(engine, miss_interval=0.1)
    await cache.refresh()
    queries = count_queries(engine)
    fake = "agw_" + "x" * 43  # well formed, never issued
    results = await asyncio.gather(*(cache.lookup(fake[:-3] + f"{n:03d}") for n in range(500)))
    assert results == [None] * 500
    assert 1 <= len(queries) <= 2


async def test_malformed_keys_cost_no_query(engine):
    cache = KeyCache(engine)
    await cache.refresh()
    queries = count_queries(engine)
    for secret in ("", "sk-ant-123", "agw_short", "Bearer agw_" + "x" * 43):
        assert await cache.lookup(secret) is None
    assert queries == []


async def test_policy_round_trips_through_the_store_and_the_cache(engine):
    from aigateway.policy.keys import KeyPolicy, change_policy, get_key, update_key

    policy = change_policy(
        KeyPolicy(),
        {
            "allowed_models": ["anthropic/claude-haiku-4.5"],
            "rpm": 60,
            "tpm_per_model": 1000,
            "budget_usd": "19.99",
            "budget_period": "month",
            "expires_at": "2030-01-01T00:00:00Z",
            "tags": ["team-a", "ci"],
        },
    )
    assert policy.budget_nanousd == 19_990_000_000 and policy.expires_at == 1893456000.0
    row, secret = await create_key(engine, "with-policy", policy)
    cache = KeyCache(engine)
    await cache.refresh()
    key = await cache.lookup(secret)
    assert key is not None and key.policy == policy
    loosened = change_policy(policy, {"rpm": None, "budget_usd": None})
    assert loosened.budget_period is None and loosened.rpm is None and loosened.tags == ("team-a", "ci")
    assert await update_key(engine, row.id, loosened, name="renamed")
    stored = await get_key(engine, row.id)
    assert stored is not None and stored.policy == loosened and stored.name == "renamed"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rpm": 0}, "rpm: must be a whole number >= 1"),
        ({"tpm": "10"}, "tpm: must be a whole number >= 1"),
        ({"budget_usd": "ten"}, "budget_usd: must be a decimal number"),
        ({"budget_usd": "1"}, "budget_period: required"),
        ({"budget_usd": "1", "budget_period": "year"}, "budget_period: must be one of"),
        ({"expires_at": "tomorrow"}, "expires_at: must be an RFC 3339 time"),
        ({"allowed_models": "anthropic/x"}, "allowed_models: must be a list of strings"),
        ({"colour": "blue"}, "colour: unknown field"),
    ],
)
def test_bad_policy_changes_name_the_field(changes, message):
    from aigateway.policy.keys import KeyPolicy, change_policy

    with pytest.raises(ValueError, match=message):
        change_policy(KeyPolicy(), changes)


def test_limits_stay_where_counters_are_exact():
    from aigateway.policy.keys import KeyPolicy, change_policy

    with pytest.raises(ValueError, match="budget: at most"):
        change_policy(KeyPolicy(), {"budget_usd": "1000000.01", "budget_period": "total"})
    with pytest.raises(ValueError, match="tpm: at most"):
        change_policy(KeyPolicy(), {"tpm": 10**9 + 1})
