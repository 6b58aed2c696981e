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


def test_a_built_row_puts_every_value_in_its_own_field():
    """`build` fills the tuple positionally: the order must be the fields' own."""
    from aigateway.ir.usage import Usage

    usage = Usage(
        input_tokens=1,
        output_tokens=2,
        cache_read_input_tokens=3,
        cache_creation_input_tokens=4,
        cache_creation_1h_input_tokens=5,
        web_search_requests=6,
    )
    row = LedgerRow.build(
        request_id="req_1",
        started=100.0,
        started_mono=50.0,
        key_id="key_1",
        endpoint="messages",
        model="a/m",
        provider="a",
        upstream_model="m",
        streamed=True,
        status=201,
        error_type="e",
        stop_reason="end_turn",
        usage=usage,
        ttft=50.25,
        cost=7,
        attempts=2,
        end_user="u",
        tags=["x", "y"],
        cache_hit=True,
    )
    expected = {
        "request_id": "req_1",
        "created_at": 100.0,
        "key_id": "key_1",
        "endpoint": "messages",
        "model": "a/m",
        "provider": "a",
        "upstream_model": "m",
        "streamed": True,
        "status": 201,
        "error_type": "e",
        "stop_reason": "end_turn",
        "input_tokens": 1,
        "output_tokens": 2,
        "cache_read_tokens": 3,
        "cache_write_tokens": 4,
        "ttft_ms": 250.0,
        "cache_write_1h_tokens": 5,
        "cost_nanousd": 7,
        "attempts": 2,
        "end_user": "u",
        "tags": "x,y",
        "web_search_requests": 6,
        "cache_hit": True,
    }
    got = row._asdict()
    assert got.pop("latency_ms") > 0
    assert got == expected and type(row) is LedgerRow


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


def test_the_request_line_is_the_rows_members_after_the_fixed_ones(capfd):
    import json
    import logging

    from aigateway.observability.logging import log_request

    logger = logging.getLogger("aigateway")
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        log_request(row(1))
        log_request(row(2)._replace(error_type='quote " and \n newline', tags=None, ttft_ms=None))
        log_request(row(3), {"prompt": "p"})
        lines = capfd.readouterr().err.splitlines()
    finally:
        logger.setLevel(level)
    assert len(lines) == 3
    docs = [json.loads(line) for line in lines]
    for doc, n in zip(docs, (1, 2, 3), strict=True):
        assert list(doc)[:4] == ["ts", "level", "logger", "msg"]
        assert (doc["level"], doc["logger"], doc["msg"]) == ("info", "aigateway.request", "request")
        assert list(doc)[4 : 4 + len(LedgerRow._fields)] == list(LedgerRow._fields)
        assert doc["request_id"] == row(n).request_id
    assert docs[1]["error_type"] == 'quote " and \n newline' and docs[1]["ttft_ms"] is None
    assert docs[2]["prompt"] == "p"
    logger.setLevel(logging.WARNING)
    try:
        log_request(row(4))
    finally:
        logger.setLevel(level)
    assert capfd.readouterr().err == ""  # INFO off: no line
