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
