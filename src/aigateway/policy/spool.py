"""The ledger's write-ahead spool: rows survive a killed process and are written on the next start.

Invariants:
- `append` encodes the row into a buffer, and the rows appended during one event-loop iteration
  go to the current segment file with one `write` as that iteration ends (a `call_soon`
  callback): once the iteration in which `record` returned is over, a SIGKILL cannot lose the row
  (it is in the kernel's page cache). `rotate`, `sync` and `close` write the buffer first, so a
  rotated segment holds every row appended before it and a shutdown loses nothing; segments are
  fsync'd every ledger tick, which bounds a power loss to `ledger.flush_interval`;
- a segment is deleted only after every row in it is committed to the database (`rotate` closes
  the segments whose rows a flush takes; `release` deletes them once that flush succeeded);
- each process spools into a directory of its own, locked (flock) while it lives; at start-up,
  directories whose lock is free belong to dead processes and are replayed, then removed;
- replay is idempotent: `request_id` is the ledger's primary key and conflicting rows are skipped.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import shutil
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.observability.logging import log
from aigateway.store.dialects import insert_for
from aigateway.store.rows import LedgerRow
from aigateway.store.tables import ledger

_CHUNK = 500
_encoder = msgspec.json.Encoder()


class Spool:
    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        # Locked before it gets the name `replay` looks for, so another process starting at the
        # same moment never takes it for a dead one's and removes it.
        making = root / ("new." + name.replace("-", "."))
        making.mkdir()
        self._lock = os.open(making / "lock", os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._dir = making.rename(root / name)
        self._seq = 0
        self._closed: list[Path] = []
        self._dirty = False
        self._pending = bytearray()  # rows appended in this loop iteration, not yet written
        self._scheduled = False
        self._fd = self._open_segment()

    def _open_segment(self) -> int:
        self._seq += 1
        path = self._dir / f"{self._seq:012d}.jsonl"
        return os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)

    def append(self, row: LedgerRow) -> None:
        pending = self._pending
        _encoder.encode_into(row, pending, -1)
        pending += b"\n"
        if not self._scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a script): written at once
                self._write()
                return
            self._scheduled = True
            loop.call_soon(self._written)

    def _written(self) -> None:
        """The end of the loop iteration: this iteration's rows in one `write`."""
        try:
            self._write()
        except OSError:  # the rows are still in the ledger's buffer: only a crash would lose them
            log.exception("ledger spool write failed")

    def _write(self) -> None:
        self._scheduled = False
        pending = self._pending
        if not pending:
            return
        self._pending = bytearray()
        view, done = memoryview(pending), 0
        try:
            while done < len(view):
                done += os.write(self._fd, view[done:])
        finally:
            view.release()
        self._dirty = True

    def rotate(self) -> list[Path]:
        """Closes the current segment; returns every closed segment not yet released."""
        self._written()  # a failed write must not fail the flush that is taking these rows
        os.close(self._fd)
        self._closed.append(self._dir / f"{self._seq:012d}.jsonl")
        self._fd = self._open_segment()
        return list(self._closed)

    def release(self, segments: list[Path]) -> None:
        for path in segments:
            path.unlink(missing_ok=True)
            self._closed.remove(path)

    async def sync(self) -> None:
        self._write()
        if self._dirty:
            self._dirty = False
            await asyncio.to_thread(os.fsync, self._fd)

    def close(self, *, committed: bool) -> None:
        try:
            self._write()
        finally:
            os.close(self._fd)
        if committed and not self._closed:
            shutil.rmtree(self._dir, ignore_errors=True)
        os.close(self._lock)


def _orphans(root: Path) -> list[Path]:
    found = []
    for directory in sorted(root.glob("*-*")) if root.exists() else []:
        lock = os.open(directory / "lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live process owns it
        finally:
            os.close(lock)
        found.append(directory)
    return found


def _read(directory: Path) -> list[LedgerRow]:
    rows = []
    for segment in sorted(directory.glob("*.jsonl")):
        for line in segment.read_bytes().splitlines():
            try:
                rows.append(LedgerRow(*msgspec.json.decode(line)))
            except (msgspec.DecodeError, TypeError):
                log.warning("skipping a torn spool line", extra={"fields": {"segment": segment.name}})
    return rows


async def replay(engine: AsyncEngine, root: Path) -> int:
    """Writes the rows spooled by dead processes; returns how many rows were read."""
    statement = insert_for(engine.dialect.name)(ledger).on_conflict_do_nothing(index_elements=["request_id"])
    total = 0
    for directory in _orphans(root):
        rows = _read(directory)
        for start in range(0, len(rows), _CHUNK):
            async with engine.begin() as conn:
                await conn.execute(statement, [r._asdict() for r in rows[start : start + _CHUNK]])
        shutil.rmtree(directory, ignore_errors=True)
        total += len(rows)
    if total:
        log.info("ledger rows replayed from the spool", extra={"fields": {"rows": total}})
    return total
