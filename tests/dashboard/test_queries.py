"""The dashboard's ledger queries on both stores: exact totals, percentiles within a bin's width,
keyset paging, and plans that use the ledger's indexes."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from aigateway.dashboard import queries
from aigateway.policy.ledger import LedgerRow
from aigateway.store.tables import ledger

T0 = 1_699_999_200.0  # on an hour boundary
MODELS = ("a/one", "b/two", "c/three")


def rows(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        latency = rnd.lognormvariate(6.0, 1.0)  # median about 400 ms, a long tail
        out.append(
            LedgerRow(
                request_id=f"req_{i:08d}",
                created_at=T0 + rnd.uniform(0, 4 * 3600),
                key_id=f"key_{i % 4}",
                endpoint="messages",
                model=MODELS[i % 3],
                provider="p1" if i % 2 else "p2",
                upstream_model="m",
                streamed=bool(i % 2),
                status=200 if i % 10 else 529,
                error_type=None if i % 10 else "overloaded_error",
                stop_reason="end_turn",
                input_tokens=i % 50,
                output_tokens=i % 70,
                cache_read_tokens=0,
                cache_write_tokens=0,
                ttft_ms=latency / 3 if i % 2 else None,
                latency_ms=latency,
                cache_write_1h_tokens=0,
                cost_nanousd=(i % 50) * 1000,
            )._asdict()
        )
    return out


async def fill(engine, data: list[dict]) -> None:
    async with engine.begin() as conn:
        await conn.execute(ledger.insert(), data)


def exact(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def test_series_totals_exact_and_percentiles_close(engine):
    data = rows(4000)
    await fill(engine, data)
    doc = await queries.series(engine, T0, T0 + 4 * 3600, 3600, "model")
    assert doc["step"] == 3600
    assert sum(g["requests"] for g in doc["groups"]) == 4000
    assert sum(g["errors"] for g in doc["groups"]) == 400
    for model in MODELS:
        mine = [r for r in data if r["model"] == model]
        got = [g for g in doc["groups"] if g["group"] == model]
        assert sum(g["requests"] for g in got) == len(mine)
        assert sum(g["cost_usd"] for g in got) == pytest.approx(sum(r["cost_nanousd"] for r in mine) / 1e9)
        assert sum(g["output_tokens"] for g in got) == sum(r["output_tokens"] for r in mine)
    assert len(doc["latency_ms"]) == 4
    for point in doc["latency_ms"]:
        t = point["t"]
        in_bucket = [r["latency_ms"] for r in data if t <= r["created_at"] < t + 3600]
        for q, name in ((0.5, "p50"), (0.95, "p95")):
            assert point[name] == pytest.approx(exact(in_bucket, q), rel=0.25)  # a bin is 25% wide
    ttft_count = sum(1 for r in data if r["ttft_ms"] is not None)
    assert ttft_count and len(doc["ttft_ms"]) == 4


async def test_request_log_pages_cover_every_row_once_newest_first(engine):
    data = rows(530)
    for r in data[:20]:  # rows sharing a timestamp still page without loss or repetition
        r["created_at"] = T0 + 100
    await fill(engine, data)
    filters = {"model": "b/two"}
    seen, cursor = [], None
    while True:
        page, cursor = await queries.request_log(engine, T0, T0 + 5 * 3600, filters, cursor, 50)
        seen += page
        if cursor is None:
            break
    expected = sorted((r for r in data if r["model"] == "b/two"), key=lambda r: (r["created_at"], r["request_id"]))
    assert [r["request_id"] for r in seen] == [r["request_id"] for r in reversed(expected)]
    errors, _ = await queries.request_log(engine, T0, T0 + 5 * 3600, {"status": "error", "key": "key_0"}, None, 500)
    assert errors and all(r["status"] >= 400 and r["key_id"] == "key_0" for r in errors)
    one = await queries.one_row(engine, seen[0]["request_id"])
    assert one == {k: seen[0][k] for k in LedgerRow._fields}


async def plan(engine, query) -> str:
    dialect = engine.dialect
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    async with engine.connect() as conn:
        if dialect.name == "sqlite":
            return "\n".join(str(r[-1]) for r in await conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
        # On a small table PostgreSQL rightly prefers a scan; what matters is that the index serves.
        await conn.execute(text("SET enable_seqscan = off"))
        return "\n".join(r[0] for r in await conn.execute(text("EXPLAIN " + sql)))


async def test_queries_use_the_ledger_indexes(engine):
    await fill(engine, rows(2000))
    day = (T0, T0 + 86400)
    by_model = await plan(engine, queries.log_query(*day, {"model": "a/one"}, (T0 + 50, "req_x"), 50))
    assert "ix_ledger_model_created" in by_model, by_model
    by_key = await plan(engine, queries.log_query(*day, {"key": "key_1"}, None, 50))
    assert "ix_ledger_key_created" in by_key, by_key
    for query in queries.series_queries(engine.dialect.name, *day, 900, "provider", has_ln=True):
        assert "ix_ledger_created_at" in await plan(engine, query)


async def test_bins_by_logarithm_equal_bins_by_comparison(engine):
    """SQLite builds without math functions use the comparison form; both put values in the same bins."""
    await fill(engine, rows(3000))
    dialect = engine.dialect.name
    results = []
    for has_ln in (True, False):
        totals, ttft = queries.series_queries(dialect, T0, T0 + 86400, 3600, "model", has_ln=has_ln)
        async with engine.connect() as conn:
            got_totals = sorted(tuple(r) for r in await conn.execute(totals))
            results.append((got_totals, sorted(tuple(r) for r in await conn.execute(ttft))))
    assert results[0] == results[1]
    assert len({r[2] for r in results[0][0]}) > 10  # many bins in use
