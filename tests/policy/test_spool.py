"""The ledger's write-ahead spool on both stores: segments go once committed, replay is idempotent."""

from __future__ import annotations

import asyncio
import os

import msgspec

from aigateway.policy import spool as spool_module
from aigateway.policy.ledger import Ledger
from aigateway.policy.spool import Spool, replay
from tests.policy.test_ledger import count, row


def _segments(root) -> list:
    return sorted(p.name for p in root.glob("*/*.jsonl"))


async def test_segments_are_deleted_once_committed(engine, tmp_path):
    root = tmp_path / "spool"
    led = Ledger(engine, spool=Spool(root))
    for n in range(5):
        led.record(row(n))
    assert len(_segments(root)) == 1 and await count(engine) == 0
    await led.flush()
    assert await count(engine) == 5
    assert len(_segments(root)) == 1  # only the new, empty current segment is left
    await led.close()
    assert list(root.iterdir()) == []  # a clean shutdown leaves nothing to replay


async def test_rows_of_a_dead_process_are_replayed_once(engine, tmp_path):
    root = tmp_path / "spool"
    spool = Spool(root)
    led = Ledger(engine, spool=spool)
    for n in range(7):
        led.record(row(n))
    await asyncio.sleep(0)  # the loop iteration ends: the rows are in the segment file
    async with engine.begin() as conn:  # one row reached the database before the "crash"
        await conn.exec_driver_sql(led._insert, [row(3)])
    os.close(spool._lock)  # what the kernel does when the process dies
    os.close(spool._fd)
    assert await replay(engine, root) == 7
    assert await count(engine) == 7
    assert await replay(engine, root) == 0 and list(root.iterdir()) == []


async def test_a_live_process_spool_is_left_alone(engine, tmp_path):
    root = tmp_path / "spool"
    led = Ledger(engine, spool=Spool(root))
    led.record(row(1))
    assert await replay(engine, root) == 0 and await count(engine) == 0
    await led.close()
    assert await count(engine) == 1


def _spooled(root) -> list[str]:
    lines = [line for p in sorted(root.glob("*/*.jsonl")) for line in p.read_bytes().splitlines()]
    return [msgspec.json.decode(line)[0] for line in lines]


async def test_rows_of_one_loop_iteration_go_out_in_one_write(tmp_path, monkeypatch):
    writes: list[int] = []
    real = os.write

    def counted(fd: int, data: bytes) -> int:
        writes.append(len(data))
        return real(fd, data)

    monkeypatch.setattr(spool_module.os, "write", counted)
    root = tmp_path / "spool"
    spool = Spool(root)
    for n in range(5):
        spool.append(row(n))
    assert writes == [] and _spooled(root) == []  # nothing written while the iteration runs
    await asyncio.sleep(0)
    assert len(writes) == 1
    assert _spooled(root) == [row(n).request_id for n in range(5)]
    spool.append(row(5))
    await asyncio.sleep(0)
    assert len(writes) == 2 and _spooled(root)[-1] == row(5).request_id
    spool.close(committed=False)


async def test_a_close_right_after_an_append_loses_nothing(tmp_path):
    root = tmp_path / "spool"
    spool = Spool(root)
    spool.append(row(1))
    spool.append(row(2))
    spool.close(committed=False)  # before the loop iteration ends
    assert _spooled(root) == [row(1).request_id, row(2).request_id]
    await asyncio.sleep(0)  # the scheduled write finds nothing left to write
    assert _spooled(root) == [row(1).request_id, row(2).request_id]


async def test_a_rotated_segment_holds_every_row_appended_before_it(tmp_path):
    root = tmp_path / "spool"
    spool = Spool(root)
    spool.append(row(1))
    (closed,) = spool.rotate()
    assert [msgspec.json.decode(line)[0] for line in closed.read_bytes().splitlines()] == [row(1).request_id]
    spool.append(row(2))
    await spool.sync()
    assert _spooled(root) == [row(1).request_id, row(2).request_id]
    spool.close(committed=False)


async def test_a_failed_spool_write_keeps_the_flush_going(engine, tmp_path, monkeypatch):
    """The spool is a second copy: a disk error while rotating must not lose the rows the
    ledger is taking to the database."""
    root = tmp_path / "spool"
    led = Ledger(engine, spool=Spool(root))
    led.record(row(1))

    def failing(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_module.os, "write", failing)
    await led.flush()
    monkeypatch.undo()
    assert await count(engine) == 1
    await led.close()
