"""Both stores for the policy tests: embedded SQLite and the local PostgreSQL (a fresh database each)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from aigateway.store.sql import open_store

PG = os.environ.get("AIGATEWAY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")  # server, no database


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator:
    if request.param == "sqlite":
        eng = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'l.db'}")
        yield eng
        await eng.dispose()
        return
    name = "aigw_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(PG + "/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        eng = await open_store(f"{PG}/{name}")  # migrations run up from empty
        yield eng
        await eng.dispose()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


REDIS = os.environ.get("AIGATEWAY_TEST_REDIS", "redis://127.0.0.1:6379/0")


async def drop_prefix(prefix: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["local", "redis"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator:
    """The two implementations of the counters, each with fresh state (Redis: a prefix of its own)."""
    from aigateway.policy.counters import LocalCounters
    from aigateway.policy.redis_counters import RedisCounters

    if request.param == "local":
        yield LocalCounters()
        return
    prefix = f"aigw-test-{uuid.uuid4().hex[:12]}:"
    store = RedisCounters(REDIS, prefix)
    try:
        yield store
    finally:
        await store.aclose()
        await drop_prefix(prefix)
