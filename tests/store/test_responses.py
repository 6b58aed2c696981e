"""The store of kept responses on SQLite and PostgreSQL: read by their own key only and until they
expire, written off the caller's path, a key's total capped oldest-first, background rows whose
final state a cancel outlives, and runs left behind failed."""

from __future__ import annotations

import asyncio
import os
import time

from sqlalchemy import func, select

from aigateway.store.responses import STALE, Kept, ResponseStore
from aigateway.store.tables import response_events, stored_responses
from tests.policy.conftest import engine  # noqa: F401 -- the fixture: SQLite, then PostgreSQL


def kept(n: int, key: str = "key_a", text: str = "hello", **fields: object) -> Kept:
    response = {"id": f"resp_{n}", "object": "response", "status": "completed", "output": [{"type": "message"}]}
    items = [{"id": f"msg_{n}", "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]
    return Kept(id=f"resp_{n}", key_id=key, response=response, items=items, status="completed", **fields)  # type: ignore[arg-type]


async def rows(engine, table=stored_responses) -> int:  # noqa: F811
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_a_saved_response_is_read_by_its_key_before_and_after_it_is_written(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=60, max_bytes=10**6)
    store.save(kept(1))
    assert await rows(engine) == 0  # nothing written on the caller's path
    assert (await store.load("key_a", "resp_1")).items[0]["content"][0]["text"] == "hello"  # type: ignore[union-attr]
    await store.flush()
    assert await rows(engine) == 1
    fresh = ResponseStore(engine, ttl=60, max_bytes=10**6)  # another replica
    got = await fresh.load("key_a", "resp_1")
    assert got is not None and got.response == kept(1).response and got.items == kept(1).items
    assert await fresh.load("key_b", "resp_1") is None
    assert await fresh.load("key_a", "resp_2") is None


async def test_the_writer_task_writes_at_once_and_close_writes_the_rest(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=60, max_bytes=10**6)
    store.start()
    store.save(kept(1))
    deadline = time.monotonic() + 5
    while await rows(engine) == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    store.save(kept(2))
    await store.close()
    assert await rows(engine) == 2


async def test_an_expired_response_reads_as_missing_and_is_purged_with_its_events(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=0.3, max_bytes=10**6)
    store.save(kept(1))
    store.events("resp_1", [(0, b"event: a\n\n"), (1, b"event: b\n\n")])
    await store.flush()
    assert await store.load("key_a", "resp_1") is not None
    await asyncio.sleep(0.4)
    assert await store.load("key_a", "resp_1") is None
    assert not await store.delete("key_a", "resp_1")
    assert await store.purge() == 1
    assert await rows(engine) == 0 and await rows(engine, response_events) == 0


async def test_a_keys_oldest_responses_go_once_its_total_is_over_the_cap(engine):  # noqa: F811
    noise = [os.urandom(1500).hex() for _ in range(4)]  # hex of random bytes: compressed, about 1.7 KB each
    store = ResponseStore(engine, ttl=60, max_bytes=5000)
    for n in range(4):
        store.save(kept(n, text=noise[n], created_at=time.time() + n))
        store.save(kept(100 + n, key="key_b"))  # another key's rows are not its
        await store.flush()
    present = [await store.load("key_a", f"resp_{n}") is not None for n in range(4)]
    assert present == [False, False, True, True]
    assert all([await store.load("key_b", f"resp_{100 + n}") is not None for n in range(4)])
    store.save(kept(9, text=os.urandom(4000).hex()))  # larger than the cap alone
    await store.flush()
    assert await store.load("key_a", "resp_9") is None
    assert await store.load("key_a", "resp_3") is not None


async def test_delete_removes_a_response_written_or_not_and_only_for_its_key(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=60, max_bytes=10**6)
    store.save(kept(1))
    assert not await store.delete("key_b", "resp_1")
    assert await store.delete("key_a", "resp_1")  # still buffered: it is never written
    store.save(kept(2))
    store.events("resp_2", [(0, b"x")])
    await store.flush()
    assert not await store.delete("key_b", "resp_2")
    assert await store.delete("key_a", "resp_2")
    assert await rows(engine) == 0 and await rows(engine, response_events) == 0
    assert await store.load("key_a", "resp_1") is None and await store.load("key_a", "resp_2") is None


async def test_a_response_kept_twice_keeps_the_first_and_the_rest_of_the_batch(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=60, max_bytes=10**6)
    store.save(kept(1, text="first"))
    await store.flush()
    store.save(kept(1, text="second"))
    store.save(kept(2))
    await store.flush()
    assert (await store.load("key_a", "resp_1")).items[0]["content"][0]["text"] == "first"  # type: ignore[union-attr]
    assert await store.load("key_a", "resp_2") is not None


def running(n: int) -> Kept:
    k = kept(n, background=True)
    k.status, k.response = "queued", {**k.response, "status": "queued", "output": []}
    return k


async def test_a_background_row_moves_to_in_progress_then_to_its_final_state(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=60, max_bytes=10**6, runner="gw_a")
    await store.create(running(1))
    assert (await store.state("resp_1")) == ("queued", None)
    store.progress("resp_1")
    store.events("resp_1", [(0, b"zero"), (1, b"one"), (2, b"two")])
    await store.flush()
    assert (await store.state("resp_1")) == ("in_progress", None)
    assert await store.events_after("resp_1", 0) == [(1, b"one"), (2, b"two")]
    store.finish(kept(1, background=True))
    await store.flush()
    got = await store.load("key_a", "resp_1")
    assert got is not None and got.status == "completed" and got.response["output"] == [{"type": "message"}]
    assert "resp_1" not in store.running


async def test_a_cancel_outlives_the_run_finishing_at_the_same_moment(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=60, max_bytes=10**6, runner="gw_a")
    await store.create(running(1))
    assert not await store.cancel("key_b", "resp_1")
    assert await store.cancel("key_a", "resp_1")
    assert not await store.cancel("key_a", "resp_1")  # cancelled already
    store.finish(kept(1, background=True))  # the run completed meanwhile: too late
    await store.flush()
    assert (await store.state("resp_1")) == ("cancelled", None)
    ended = kept(1, background=True)
    ended.status = "cancelled"  # the cancellation's own ending: its output so far
    store.finish(ended)
    await store.flush()
    got = await store.load("key_a", "resp_1")
    assert got is not None and got.status == "cancelled" and got.response["output"] == [{"type": "message"}]


async def test_runs_left_behind_are_failed_at_start_up_and_by_any_replica_once_silent(engine):  # noqa: F811
    before = ResponseStore(engine, ttl=60, max_bytes=10**6, runner="gw_a")
    await before.create(running(1))
    other = ResponseStore(engine, ttl=60, max_bytes=10**6, runner="gw_b")
    await other.create(running(2))
    await asyncio.sleep(0.01)
    restarted = ResponseStore(engine, ttl=60, max_bytes=10**6, runner="gw_a")  # the same instance, started later
    await restarted.create(running(3))  # one of its own new runs
    assert await restarted.fail_orphans() == 1
    status, error = await restarted.state("resp_1")  # type: ignore[misc]
    assert status == "failed" and error is not None and "restarted" in error["message"]
    assert (await restarted.state("resp_2"))[0] == "queued"  # type: ignore[index]
    assert (await restarted.state("resp_3"))[0] == "queued"  # type: ignore[index]
    async with engine.begin() as conn:  # gw_b stopped renewing its heartbeat long ago
        old = time.time() - STALE - 1
        await conn.execute(stored_responses.update().where(stored_responses.c.id == "resp_2").values(heartbeat_at=old))
    await restarted.beat()
    assert await restarted.sweep() == 1
    assert (await restarted.state("resp_2"))[0] == "failed"  # type: ignore[index]
    assert (await restarted.state("resp_3"))[0] == "queued"  # type: ignore[index]


async def test_a_run_cancelled_or_deleted_elsewhere_is_stopped_here(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=60, max_bytes=10**6, runner="gw_a")
    stopped: list[str] = []
    store.on_stop = stopped.append
    for n in (1, 2, 3):
        await store.create(running(n))
    elsewhere = ResponseStore(engine, ttl=60, max_bytes=10**6, runner="gw_b")
    assert await elsewhere.cancel("key_a", "resp_1")
    assert await elsewhere.delete("key_a", "resp_2")
    await store._watch()
    assert sorted(stopped) == ["resp_1", "resp_2"] and store.running == {"resp_3"}


async def test_an_id_no_response_can_have_is_never_looked_up(engine):  # noqa: F811
    store = ResponseStore(engine, ttl=60, max_bytes=10**6)
    for response_id in ("resp_\x00", "", "r" * 101, "resp_é"):
        assert await store.load("key_a", response_id) is None
        assert not await store.delete("key_a", response_id)
        assert not await store.cancel("key_a", response_id)
