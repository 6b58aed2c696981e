"""The ledger writer on both stores: batched, chunked, nothing lost on failure or shutdown."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select

from aigateway.ir.usage import Usage
from aigateway.policy.ledger import Ledger
from aigateway.store.rows import LedgerRow
from aigateway.store.sql import open_store
from aigateway.store.tables import ledger


def row(n: int) -> LedgerRow:
    return LedgerRow.build(
        request_id=f"req_{n:08d}",
        started=time.time(),
        started_mono=time.monotonic(),
        key_id="key_1",
        endpoint="messages",
        model="anthropic/m",
        provider="anthropic",
        upstream_model="m",
        streamed=bool(n % 2),
        status=200,
        usage=Usage(n, 2 * n, 3, 4),
        ttft=time.monotonic(),
    )


async def count(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(ledger))).scalar_one()


def test_row_fields_follow_the_table():
    assert LedgerRow._fields == tuple(c.name for c in ledger.columns)


async def test_rows_are_written_in_chunks_and_read_back(engine):
    led = Ledger(engine, flush_interval=3600)
    for n in range(257):
        led.record(row(n))
    await led.close()
    assert await count(engine) == 257
    async with engine.connect() as conn:
        got = (await conn.execute(select(ledger).where(ledger.c.request_id == "req_00000007"))).mappings().one()
    assert got["input_tokens"] == 7 and got["output_tokens"] == 14
    assert got["cache_read_tokens"] == 3 and got["cache_write_tokens"] == 4
    assert got["streamed"] is True or got["streamed"] == 1


async def test_background_writer_flushes_on_its_own(engine):
    led = Ledger(engine, flush_interval=0.05)
    led.start()
    led.record(row(1))
    for _ in range(100):
        if await count(engine) == 1:
            break
        await asyncio.sleep(0.02)
    assert await count(engine) == 1
    await led.close()


async def test_a_refused_row_does_not_hold_back_the_others(engine, caplog):
    led = Ledger(engine, flush_interval=3600)
    for n in (1, 2, 1, 3):  # the second req_00000001 breaks the primary key
        led.record(row(n))
    await led.close()
    assert await count(engine) == 3
    assert led._buf == []
    assert any("refused" in r.getMessage() for r in caplog.records)


async def test_an_outage_keeps_every_row_for_the_next_attempt(tmp_path):
    eng = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    led = Ledger(eng, flush_interval=3600)
    led.record(row(1))
    led.record(row(2))
    async with eng.begin() as conn:
        await conn.exec_driver_sql("ALTER TABLE ledger RENAME TO ledger_away")  # the table is gone
    with pytest.raises(Exception, match="no such table"):
        await led.flush()
    assert [r.request_id for r in led._buf] == ["req_00000001", "req_00000002"]
    async with eng.begin() as conn:
        await conn.exec_driver_sql("ALTER TABLE ledger_away RENAME TO ledger")
    await led.close()
    assert await count(eng) == 2
    await eng.dispose()
