"""The usage ledger: one row per request, written off the hot path.

Invariants:
- `record` never blocks and never touches the database: it appends to an in-memory buffer;
- a background task writes the buffer in batches every `flush_interval` seconds (or sooner when
  `batch_size` rows wait), at most `_CHUNK` rows per statement with a yield to the loop between
  them, so a flush never stalls requests; a failed write keeps its rows and retries next tick;
- `close` writes everything still buffered, so a clean shutdown loses nothing;
- a batch's rows and its rollup deltas (store/rollups.py) commit in one transaction;
- with a spool (policy/spool.py) every row is also on disk once the loop iteration in which
  `record` returned ends (one `write` per iteration for all its rows), and its segment is deleted
  only once the row is committed, so a killed process loses no finished row.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aigateway.observability.logging import log
from aigateway.store.rollups import Upsert, deltas
from aigateway.store.rows import LedgerRow
from aigateway.store.tables import ledger

if TYPE_CHECKING:
    from aigateway.policy.spool import Spool

_CHUNK = 100
_CLOSE_WAIT = 10.0  # seconds the writer may take to finish its flush at shutdown


class Ledger:
    def __init__(
        self, engine: AsyncEngine, *, flush_interval: float = 0.2, batch_size: int = 500, spool: Spool | None = None
    ):
        self._engine = engine
        self._spool = spool
        self._buf: list[LedgerRow] = []
        self._writing: list[LedgerRow] = []  # taken by a flush, not yet committed
        self._interval = flush_interval
        self._batch = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._lock = asyncio.Lock()
        # Compiled once from the table, in the dialect's own parameter style; rows go as tuples.
        self._insert = str(ledger.insert().compile(dialect=engine.dialect, column_keys=list(LedgerRow._fields)))
        self._rollup = Upsert(engine.dialect)

    def record(self, row: LedgerRow) -> None:
        if self._spool is not None:
            self._spool.append(row)
        self._buf.append(row)
        if len(self._buf) >= self._batch:
            self._wake.set()

    def pending(self, request_id: str) -> dict[str, object] | None:
        """A row recorded but not yet written, if it is still in memory."""
        for row in reversed(self._buf):
            if row.request_id == request_id:
                return row._asdict()
        return None

    def unwritten_cost(self, key_id: str, since: float) -> int:
        """The cost of a key's rows recorded but not yet committed (budget seeding counts them)."""
        return sum(
            r.cost_nanousd or 0 for r in (*self._writing, *self._buf) if r.key_id == key_id and r.created_at >= since
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-writer")

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("ledger write failed; rows kept for the next attempt")
            if self._spool is not None:
                try:
                    await self._spool.sync()
                except OSError:
                    log.exception("ledger spool sync failed")

    async def flush(self) -> None:
        async with self._lock:
            if not self._buf:
                return
            rows, self._buf = self._buf, []
            # The closed segments hold exactly the rows taken (and any a failed flush put back).
            segments = self._spool.rotate() if self._spool is not None else []
            self._writing = rows
            try:
                await self._write_all(rows)
                rows = []
            except BaseException:
                self._buf[:0] = rows
                raise
            finally:
                self._writing = []
            if self._spool is not None:
                self._spool.release(segments)

    async def _write_all(self, rows: list[LedgerRow]) -> None:
        """Every row of a flush in one transaction (a commit per chunk cost more than the
        inserts); a refused row sends that flush down the row-by-row path instead."""
        try:
            async with self._engine.begin() as conn:
                await self._insert_rows(conn, rows)
        except IntegrityError:
            for start in range(0, len(rows), _CHUNK):
                await self._write(rows[start : start + _CHUNK])

    async def _write(self, chunk: list[LedgerRow]) -> None:
        try:
            async with self._engine.begin() as conn:
                await self._insert_rows(conn, chunk)
        except IntegrityError:
            # One row the database refuses must not hold back the others: write them one by one
            # and drop only the refused rows, loudly. An outage (any other error) keeps them all.
            for row in chunk:
                try:
                    async with self._engine.begin() as conn:
                        await self._insert_rows(conn, [row])
                except IntegrityError:
                    log.error("ledger row refused by the database", extra={"fields": row._asdict()})

    async def _insert_rows(self, conn: AsyncConnection, rows: list[LedgerRow]) -> None:
        """The rows and what they add to the rollups, in the caller's transaction."""
        for start in range(0, len(rows), _CHUNK):
            await conn.exec_driver_sql(self._insert, rows[start : start + _CHUNK])
        changes = self._rollup.params(deltas(rows))
        for start in range(0, len(changes), _CHUNK):
            await conn.exec_driver_sql(self._rollup.sql, changes[start : start + _CHUNK])

    async def close(self) -> None:
        if self._task is not None:
            # The writer finishes the flush it is in (cancelled inside a transaction, it could leave
            # its connection holding SQLite's write lock); one stuck on the database is cancelled.
            self._closing = True
            self._wake.set()
            done, _ = await asyncio.wait({self._task}, timeout=_CLOSE_WAIT)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        try:
            await self.flush()
        finally:
            if self._spool is not None:
                self._spool.close(committed=not self._buf)
