"""The dashboard's ledger queries on both stores: totals from rollups equal to the rows', percentiles
within a bin's width, keyset paging, plans that use the indexes, rollups kept by the ledger writer
and filled by the migration."""

from __future__ import annotations

import itertools
import math
import random
import re
from bisect import bisect_right

import pytest
from sqlalchemy import func, select, text

from aigateway.dashboard import queries
from aigateway.policy.ledger import Ledger
from aigateway.store.rollups import EDGES, WIDTHS
from aigateway.store.rows import LedgerRow
from aigateway.store.tables import ledger, ledger_rollup

T0 = 1_699_999_200.0  # on an hour boundary
MODELS = ("a/one", "b/two", "c/three")


def rows(n: int, seed: int = 7, span: float = 4 * 3600) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        latency = rnd.lognormvariate(6.0, 1.0)  # median about 400 ms, a long tail
        out.append(
            LedgerRow(
                request_id=f"req_{seed}_{i:08d}",
                created_at=T0 + rnd.uniform(0, span),
                key_id=f"key_{i % 4}" if i % 7 else None,
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
                cache_read_tokens=i % 3,
                cache_write_tokens=i % 5,
                ttft_ms=latency / 3 if i % 2 else None,
                latency_ms=latency,
                cache_write_1h_tokens=0,
                cost_nanousd=(i % 50) * 1000 if i % 11 else None,
            )._asdict()
        )
    return out


async def fill(engine, data: list[dict]) -> None:
    """Through the ledger writer, as the gateway writes them: rows and rollups together."""
    writer = Ledger(engine)
    for r in data:
        writer.record(LedgerRow(**r))
    await writer.flush()


def expected(data: list[dict], start: float, end: float, step: int, group: str) -> dict:
    """What the series must say, computed from the rows themselves."""
    column = {"model": "model", "provider": "provider", "key": "key_id"}[group]
    groups: dict = {}
    lat: dict = {}
    by_group: dict = {}
    for r in data:
        if not start <= r["created_at"] < end:
            continue
        t = float(math.floor(r["created_at"] / step) * step)
        acc = groups.setdefault((t, r[column]), [0, 0, 0, 0, 0, 0])
        cache = r["cache_read_tokens"] + r["cache_write_tokens"]
        adds = (1, r["cost_nanousd"] or 0, r["input_tokens"], r["output_tokens"], cache, int(r["status"] >= 400))
        for k, v in enumerate(adds):
            acc[k] += v
        b = bisect_right(EDGES, r["latency_ms"])
        for hists, at in ((lat, t), (by_group, r[column])):
            hist = hists.setdefault(at, {})
            hist[b] = hist.get(b, 0) + 1
    return {
        "groups": groups,
        "latency": {t: queries._quantiles(h) for t, h in lat.items()},
        "by_group": {g: queries._quantiles(h) for g, h in by_group.items()},
    }


def as_expected(doc: dict) -> dict:
    groups = {
        (g["t"], g["group"]): [
            g["requests"],
            round(g["cost_usd"] * 1e9),
            g["input_tokens"],
            g["output_tokens"],
            g["cache_tokens"],
            g["errors"],
        ]
        for g in doc["groups"]
    }
    latency = {p["t"]: {"p50": p["p50"], "p95": p["p95"]} for p in doc["latency_ms"]}
    return {"groups": groups, "latency": latency, "by_group": {g["group"]: g["latency_ms"] for g in doc["by_group"]}}


def exact(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def test_series_has_cache_reads_per_key_for_the_hit_ratio(engine):
    data = rows(600)
    await fill(engine, data)
    doc = await queries.series(engine, T0 - 60, T0 + 4 * 3600 + 60, 900, "key")  # rollups and edge rows both
    for key in {r["key_id"] for r in data}:
        mine = [r for r in data if r["key_id"] == key]
        got = [g for g in doc["groups"] if g["group"] == key]
        assert sum(g["cache_read_tokens"] for g in got) == sum(r["cache_read_tokens"] for r in mine) > 0
        cached = sum(r["cache_read_tokens"] + r["cache_write_tokens"] for r in mine)
        assert sum(g["cache_tokens"] for g in got) == cached


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
        assert sum(g["cost_usd"] for g in got) == pytest.approx(sum(r["cost_nanousd"] or 0 for r in mine) / 1e9)
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


async def test_queries_use_the_indexes(engine):
    await fill(engine, rows(2000))
    day = (T0, T0 + 86400)
    by_model = await plan(engine, queries.log_query(*day, {"model": "a/one"}, (T0 + 50, "req_x"), 50))
    assert "ix_ledger_model_created" in by_model, by_model
    by_key = await plan(engine, queries.log_query(*day, {"key": "key_1"}, None, 50))
    assert "ix_ledger_key_created" in by_key, by_key
    # A range with ragged ends: rollups through their primary key, the ends through created_at.
    reads = queries.series_queries(T0 + 1.5, T0 + 86399.5, 1800, "provider")
    assert set(reads) == {"totals", "by_bucket", "by_group", "edges"}
    for name in ("totals", "by_bucket", "by_group"):
        p = await plan(engine, reads[name])
        assert re.search(r"ledger_rollup_pkey|sqlite_autoindex_ledger_rollup_1", p), p
    assert "ix_ledger_created_at" in await plan(engine, reads["edges"])


def test_segments_cover_the_range_once_with_widths_that_divide_the_step():
    rnd = random.Random(3)
    for _ in range(500):
        start = T0 + rnd.uniform(-90000, 90000)
        end = start + rnd.choice([0.5, 59, 61, 299, 3601, 86400, 7 * 86400, 30 * 86400]) * rnd.uniform(0.5, 1)
        step = queries.pick_step(end - start)
        pieces = queries.segments(start, end, step)
        assert pieces[0][1] == start and pieces[-1][2] == end
        for (_, _, b), (_, a, _) in itertools.pairwise(pieces):
            assert a == b
        for width, a, b in pieces:
            assert a < b
            if width:
                assert step % width == 0 and a % width == 0 and b % width == 0
            else:  # the ledger's own rows: inside one minute, hence inside one bucket
                assert math.floor(a / 60) == math.ceil(b / 60) - 1
        assert sum(1 for w, _, _ in pieces if not w) <= 2
        # The coarsest slots that fit serve the middle: the slots read follow the range's buckets.
        coarsest = max(w for w in WIDTHS if step % w == 0)
        assert sum((b - a) / w for w, a, b in pieces if w) <= (end - start) / coarsest + 40


async def test_series_equals_the_rows_for_ragged_ranges(engine):
    """Totals exact and percentiles identical to the rows' own histograms, whatever the range's ends."""
    data = rows(3000, span=3 * 86400)
    await fill(engine, data)
    rnd = random.Random(11)
    for _ in range(6):
        start = T0 + rnd.uniform(-600, 2 * 86400)
        end = start + rnd.choice([3600, 86400, 2 * 86400, 7 * 86400]) + rnd.uniform(-30, 30)
        step = queries.pick_step(end - start)
        for group in queries.GROUPS:
            doc = await queries.series(engine, start, end, step, group)
            assert as_expected(doc) == expected(data, start, end, step, group), (start, end, group)


async def test_writer_keeps_rollups_equal_to_rows_when_a_row_is_refused(engine):
    data = rows(300, seed=5)
    await fill(engine, data[:100])
    await fill(engine, data)  # the first hundred again: refused one by one, counted once
    async with engine.connect() as conn:
        n = (await conn.execute(select(func.count()).select_from(ledger))).scalar()
        rolled = (
            await conn.execute(
                select(func.sum(ledger_rollup.c.requests)).where(
                    ledger_rollup.c.width == WIDTHS[0], ledger_rollup.c.dim == "model"
                )
            )
        ).scalar()
    assert n == rolled == 300


async def test_migration_fills_rollups_from_existing_rows(empty_url):
    """Rows written before rollups existed show on the dashboard after the upgrade."""
    from sqlalchemy import insert

    from aigateway.store.sql import make_engine
    from tests.policy.test_migrations import _upgrade_to

    data = rows(1500, seed=9, span=3 * 86400)
    engine = make_engine(empty_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "0003")
            # the columns of 0003's ledger only (later migrations add columns with defaults)
            await conn.execute(
                insert(ledger),
                [{k: v for k, v in r.items() if k not in ("web_search_requests", "cache_hit")} for r in data],
            )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to, "head")
        start, end = T0 - 17.25, T0 + 2 * 86400 + 30.5
        step = queries.pick_step(end - start)
        doc = await queries.series(engine, start, end, step, "key")
    finally:
        await engine.dispose()
    assert as_expected(doc) == expected(data, start, end, step, "key")
