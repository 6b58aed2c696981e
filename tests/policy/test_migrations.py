"""Migrations: up from empty to head on SQLite and PostgreSQL, and 0001 -> 0002 keeps existing rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from aigateway.store import tables
from aigateway.store.sql import _MIGRATIONS, HEAD, make_engine, open_store
from tests.policy.conftest import PG


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    async for url in _fresh_pg():
        yield url


@pytest.fixture
async def empty_pg() -> AsyncIterator[str]:
    async for url in _fresh_pg():
        yield url


async def _fresh_pg() -> AsyncIterator[str]:
    name = "aigw_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(PG + "/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def _upgrade_to(conn, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def test_head_constant_is_alembics_head():
    """`open_store` skips Alembic when the database is at `HEAD`: it must be the real head."""
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD


async def test_up_from_empty_to_head(empty_url):
    engine = await open_store(empty_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == HEAD
            indexes = await conn.run_sync(
                lambda c: {i["name"]: i["column_names"] for i in inspect(c).get_indexes("ledger")}
            )
            columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("gateway_keys")})
            ledger_columns = await conn.run_sync(lambda c: [col["name"] for col in inspect(c).get_columns("ledger")])
            stored = await conn.run_sync(
                lambda c: {
                    name: (
                        [col["name"] for col in inspect(c).get_columns(name)],
                        inspect(c).get_pk_constraint(name)["constrained_columns"],
                        {i["name"]: i["column_names"] for i in inspect(c).get_indexes(name)},
                    )
                    for name in ("stored_responses", "response_events")
                }
            )
            rollup = await conn.run_sync(
                lambda c: (
                    [col["name"] for col in inspect(c).get_columns("ledger_rollup")],
                    inspect(c).get_pk_constraint("ledger_rollup")["constrained_columns"],
                )
            )
    finally:
        await engine.dispose()
    # The migrations build exactly the table the code writes (store/tables.py), in its order.
    assert ledger_columns == [c.name for c in tables.ledger.columns]
    assert rollup == ([c.name for c in tables.ledger_rollup.columns], ["width", "dim", "slot", "grp"])
    for table in (tables.stored_responses, tables.response_events):
        columns_of, pk, table_indexes = stored[table.name]
        assert columns_of == [c.name for c in table.columns]
        assert pk == [c.name for c in table.primary_key.columns]
        assert table_indexes == {i.name: [c.name for c in i.columns] for i in table.indexes}
    assert indexes["ix_ledger_key_created"] == ["key_id", "created_at"]
    assert indexes["ix_ledger_model_created"] == ["model", "created_at"]
    assert indexes["ix_ledger_provider_created"] == ["provider", "created_at"]
    assert {"rpm", "tpm", "budget_nanousd", "budget_period", "expires_at", "tags"} <= columns


async def test_0001_rows_survive_0002(empty_url):
    engine = make_engine(empty_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "0001")
            await conn.execute(
                text(
                    "INSERT INTO gateway_keys (id, name, secret_hash, hint, created_at) "
                    "VALUES ('key_old', 'old', 'h', 'abcd', 1.0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO ledger (request_id, created_at, key_id, endpoint, streamed, status, input_tokens,"
                    " output_tokens, cache_read_tokens, cache_write_tokens, latency_ms)"
                    " VALUES ('req_old', 1.0, 'key_old', 'messages', false, 200, 1, 2, 3, 4, 5.0)"
                )
            )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "head")
        async with engine.connect() as conn:
            row = (await conn.execute(text("SELECT * FROM ledger"))).mappings().one()
            key = (await conn.execute(text("SELECT * FROM gateway_keys"))).mappings().one()
    finally:
        await engine.dispose()
    assert (row["cache_write_tokens"], row["cache_write_1h_tokens"], row["cost_nanousd"]) == (4, 0, None)
    assert key["name"] == "old" and key["rpm"] is None and key["budget_nanousd"] is None


async def test_replicas_starting_together_migrate_once(empty_pg):
    engines = await asyncio.wait_for(asyncio.gather(*(open_store(empty_pg) for _ in range(3))), 60)
    for engine in engines:
        await engine.dispose()
