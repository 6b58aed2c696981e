"""The key cache: new keys work at once, revoked ones stop, bad keys cost (almost) no queries."""

from __future__ import annotations

import asyncio

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
