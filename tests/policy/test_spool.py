"""The ledger's write-ahead spool on both stores: segments go once committed, replay is idempotent."""

from __future__ import annotations

import os

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
