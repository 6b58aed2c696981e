"""Responses kept for the Responses API door: `store`, `previous_response_id`, background mode.

A row holds the Response object as its client got it (every reasoning item with its sealed
`encrypted_content`, so a later turn can give the model its thinking back) and its input items
(the conversation before it, then the request's own input), both zlib-compressed JSON; its
status and error in columns, which override the object's own (so a status changes without
rewriting the object); the key that made it; when it expires.

Invariants:
- a row is read only by the key that made it, and only until it expires: any other key, an
  expired or a deleted id all read as None (the door answers 404 alike);
- `save` never blocks and never touches the database: the row is buffered and a background
  task writes it at once (rows arriving meanwhile go in the next batch), off the request path;
  until it is written, `load` finds it in the buffer;
- `load` is one primary-key lookup; `settle` looks a miss up again a few times within about a
  second, for a row another replica is writing at that very moment (its writer is off the
  request path, so a client may name a response before any replica has it in the database);
- a key's rows stay under `max_bytes` (compressed): its total is summed once this process has
  written a hundredth of the cap for it (or a minute after it last was), and its oldest finished
  rows go first, so each replica may overshoot by that hundredth for a while; a response larger
  than the cap alone is not kept (and logged);
- expired rows and their events are deleted in the background every `purge_interval` seconds;
- background rows are inserted at once (`create`); their events and status changes go through
  the writer in order, in one transaction per batch, so a reader that sees a finished status
  and then reads the events has them all; a run's final status is written only over queued or
  in_progress, so a cancel wins over a run finishing at the same moment;
- runs: a process names its instance `runner` (one per data directory), renews the heartbeat
  of its runs, and stops a run whose row another replica cancelled or deleted (`on_stop`); at
  start-up its instance's runs older than the process are failed, and any replica fails a run
  whose heartbeat stopped (`sweep`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aigateway.observability.logging import log
from aigateway.store.tables import response_events, stored_responses

RUNNING = ("queued", "in_progress")
TERMINAL = ("completed", "incomplete", "failed", "cancelled")
HEARTBEAT = 10.0  # seconds between two heartbeats of a process's runs
STALE = 3 * HEARTBEAT  # a run whose heartbeat is older than this has lost its process
_WATCH = 1.0  # seconds between two looks at this process's runs (cancelled elsewhere?)
_SETTLE = (0.05, 0.1, 0.2, 0.3, 0.4)  # waits before a missed `load(settle=True)` looks again
_MAX_PENDING = 10_000  # writes buffered while the database is away; past it the oldest are dropped
_CHUNK = 500
_CAP_EVERY = 60.0  # seconds: a key's total is summed at least this often while it writes
_RUNNER_FILE = "instance-id"
_ID_LENGTH = 100  # the id column's width

_encode = msgspec.json.encode
_decode = msgspec.json.decode


@dataclass
class Kept:
    """One stored response, as written and as read."""

    id: str
    key_id: str
    response: dict[str, Any]  # the Response object (its `status` and `error` as the columns say)
    items: list[dict[str, Any]]  # its input items: the previous conversation, then its own input
    status: str
    created_at: float = field(default_factory=time.time)
    background: bool = False
    upstream: str | None = None  # the provider that keeps this id itself (OpenAI with store: true)
    error: dict[str, Any] | None = None
    expires_at: float = 0.0

    def body(self) -> dict[str, Any]:
        """The Response object with its current status and error."""
        body = {**self.response, "status": self.status}
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass
class _Op:
    kind: str  # insert, events, progress, finish
    id: str
    kept: Kept | None = None
    events: list[tuple[int, bytes]] = field(default_factory=list)


def runner_id(data_dir: Path) -> str:
    """This instance's name for its runs, kept in the data directory (created once, O_EXCL)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / _RUNNER_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # the writer may be between creating and writing it
            name = path.read_text().strip()
            if name:
                return name
            time.sleep(0.01)
        raise RuntimeError(f"{path}: empty; remove it to make a new one") from None
    name = "gw_" + os.urandom(12).hex()
    with os.fdopen(fd, "w") as f:
        f.write(name)
    return name


class ResponseStore:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl: float,
        max_bytes: int,
        runner: str = "",
        started: float | None = None,
        purge_interval: float = 600.0,
    ) -> None:
        self._engine = engine
        self.ttl, self.max_bytes = ttl, max_bytes
        self.runner = runner
        self.started = time.time() if started is None else started  # this process's start
        self._purge_interval = purge_interval
        self._ops: list[_Op] = []
        self._pending: dict[str, Kept] = {}  # saved, not yet committed
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._unchecked: dict[str, int] = {}  # key -> bytes written since its cap was last looked at
        self._checked: dict[str, float] = {}  # key -> when its cap was last looked at (monotonic)
        self.running: set[str] = set()  # background rows this process runs
        self.on_stop: Callable[[str], None] = lambda response_id: None  # a run cancelled or deleted elsewhere

    # --- writes ----------------------------------------------------------------------------------

    def save(self, kept: Kept) -> None:
        """Keeps a finished response (written in the background, at once)."""
        kept.expires_at = kept.created_at + self.ttl
        self._pending[kept.id] = kept
        self._push(_Op("insert", kept.id, kept))

    async def create(self, kept: Kept) -> None:
        """Inserts a background response now (status queued), run by this process."""
        kept.expires_at = kept.created_at + self.ttl
        row = await asyncio.to_thread(_row, kept)
        row.update(runner=self.runner, heartbeat_at=time.time())
        async with self._engine.begin() as conn:
            await conn.execute(insert(stored_responses), [row])
        self.running.add(kept.id)

    def events(self, response_id: str, events: list[tuple[int, bytes]]) -> None:
        """A background response's stream events: (sequence number, the event as sent)."""
        if events:
            self._push(_Op("events", response_id, events=events))

    def progress(self, response_id: str) -> None:
        """A background response's run has begun answering: queued -> in_progress."""
        self._push(_Op("progress", response_id))

    def finish(self, kept: Kept) -> None:
        """A background response's final state (written only over queued or in_progress, or over
        cancelled when it is the cancellation's own ending)."""
        self.running.discard(kept.id)
        self._push(_Op("finish", kept.id, kept))

    async def cancel(self, key_id: str, response_id: str) -> bool:
        """Marks a running background response cancelled (its run stops); False if it is not one."""
        if not is_id(response_id):
            return False
        guard = (stored_responses.c.id == response_id) & (stored_responses.c.key_id == key_id)
        statement = (
            update(stored_responses)
            .where(guard, stored_responses.c.background, stored_responses.c.status.in_(RUNNING))
            .values(status="cancelled")
        )
        async with self._engine.begin() as conn:
            return bool((await conn.execute(statement)).rowcount)

    async def delete(self, key_id: str, response_id: str) -> bool:
        """Deletes a response and its events; False if the key has no such response."""
        if not is_id(response_id):
            return False
        async with self._lock:  # not while a batch holding it is being written
            kept = self._pending.get(response_id)
            if kept is not None and kept.key_id == key_id:
                self._pending.pop(response_id)
                self._ops = [op for op in self._ops if op.id != response_id]
                return True
            row = stored_responses.c
            async with self._engine.begin() as conn:
                gone = await conn.execute(
                    delete(stored_responses).where(
                        row.id == response_id, row.key_id == key_id, row.expires_at > time.time()
                    )
                )
                if not gone.rowcount:
                    return False
                await conn.execute(delete(response_events).where(response_events.c.response_id == response_id))
        return True

    def _push(self, op: _Op) -> None:
        if len(self._ops) >= _MAX_PENDING:
            dropped = self._ops.pop(0)
            self._pending.pop(dropped.id, None)
            log.error("stored responses: write buffer full, oldest write dropped", extra={"fields": {"id": dropped.id}})
        self._ops.append(op)
        self._wake.set()

    # --- reads -----------------------------------------------------------------------------------

    async def load(self, key_id: str, response_id: str, *, settle: bool = False) -> Kept | None:
        """The key's response with that id, unless it expired or was deleted."""
        if not is_id(response_id):
            return None
        kept = await self._load(response_id)
        for wait in _SETTLE if settle else ():
            if kept is not None:
                break
            await asyncio.sleep(wait)
            kept = await self._load(response_id)
        if kept is None or kept.key_id != key_id or kept.expires_at <= time.time():
            return None
        return kept

    async def _load(self, response_id: str) -> Kept | None:
        pending = self._pending.get(response_id)
        if pending is not None:
            return pending
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(stored_responses).where(stored_responses.c.id == response_id))).first()
        if row is None:
            return None
        return Kept(
            id=row.id,
            key_id=row.key_id,
            response=_decode(zlib.decompress(row.response)),
            items=_decode(zlib.decompress(row.items)),
            status=row.status,
            created_at=row.created_at,
            background=row.background,
            upstream=row.upstream,
            error=_decode(row.error) if row.error else None,
            expires_at=row.expires_at,
        )

    async def state(self, response_id: str) -> tuple[str, dict[str, Any] | None] | None:
        """(status, error) of a response, without its blobs; None once it is gone."""
        row = stored_responses.c
        async with self._engine.connect() as conn:
            found = (await conn.execute(select(row.status, row.error).where(row.id == response_id))).first()
        if found is None:
            return None
        return found.status, _decode(found.error) if found.error else None

    async def events_after(self, response_id: str, after: int) -> list[tuple[int, bytes]]:
        """A background response's stored events numbered above `after`, in order."""
        c = response_events.c
        query = select(c.sequence, c.data).where(c.response_id == response_id, c.sequence > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(c.sequence))).all()
        return [(r.sequence, r.data) for r in rows]

    # --- the writer ------------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="stored-responses-writer"),
            asyncio.create_task(self._upkeep_loop(), name="stored-responses-upkeep"),
        ]

    async def _write_loop(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("stored responses: write failed; kept for the next attempt")
                await asyncio.sleep(1.0)
                self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            ops, self._ops = self._ops, []
            if not ops:
                return
            try:
                rows = await asyncio.to_thread(_rows, [op.kept for op in ops if op.kept is not None])
                keys = await self._write(ops, rows)
            except BaseException:
                self._ops[:0] = ops
                raise
            for op in ops:
                if op.kind == "insert":
                    self._pending.pop(op.id, None)
            for op in ops:
                if op.kept is not None and op.kept.key_id in keys:
                    self._unchecked[op.kept.key_id] = self._unchecked.get(op.kept.key_id, 0) + rows[op.id]["size"]
            await self._caps()

    async def _caps(self) -> None:
        """The cap of each key this process wrote enough for (a hundredth of the cap) since it
        last looked, or that it has not looked at for a minute."""
        now = time.monotonic()
        for key_id, written in list(self._unchecked.items()):
            if written >= self.max_bytes / 100 or now - self._checked.get(key_id, 0.0) >= _CAP_EVERY:
                del self._unchecked[key_id]
                self._checked[key_id] = now
                await self._cap(key_id)

    async def _write(self, ops: list[_Op], rows: dict[str, dict[str, Any]]) -> set[str]:
        """Every op of a batch in one transaction, in order; a refused insert (an id kept twice)
        sends the batch down op by op, dropping only what is refused."""
        try:
            async with self._engine.begin() as conn:
                return await self._apply(conn, ops, rows)
        except IntegrityError:
            keys: set[str] = set()
            for op in ops:
                try:
                    async with self._engine.begin() as conn:
                        keys |= await self._apply(conn, [op], rows)
                except IntegrityError:
                    log.error("stored response refused by the database", extra={"fields": {"id": op.id}})
            return keys

    async def _apply(self, conn: AsyncConnection, ops: list[_Op], rows: dict[str, dict[str, Any]]) -> set[str]:
        keys: set[str] = set()
        c = stored_responses.c
        for group in _runs_of(ops):
            kind = group[0].kind
            if kind == "insert":
                fits = [rows[op.id] for op in group if self._fits(rows[op.id])]
                for start in range(0, len(fits), _CHUNK):
                    await conn.execute(insert(stored_responses), fits[start : start + _CHUNK])
                keys |= {row["key_id"] for row in fits}
            elif kind == "events":
                params = [
                    {"response_id": op.id, "sequence": seq, "data": data} for op in group for seq, data in op.events
                ]
                for start in range(0, len(params), _CHUNK):
                    await conn.execute(insert(response_events), params[start : start + _CHUNK])
            elif kind == "progress":
                ids = [op.id for op in group]
                await conn.execute(
                    update(stored_responses).where(c.id.in_(ids), c.status == "queued").values(status="in_progress")
                )
            else:
                for op in group:
                    keys |= await self._finish(conn, op, rows[op.id])
        return keys

    async def _finish(self, conn: AsyncConnection, op: _Op, row: dict[str, Any]) -> set[str]:
        c = stored_responses.c
        assert op.kept is not None
        events = (
            select(func.coalesce(func.sum(func.length(response_events.c.data)), 0))
            .where(response_events.c.response_id == op.id)
            .scalar_subquery()
        )
        over = (*RUNNING, "cancelled") if op.kept.status == "cancelled" else RUNNING
        values = {name: row[name] for name in ("status", "error", "response", "items")}
        statement = update(stored_responses).where(c.id == op.id, c.status.in_(over))
        done = await conn.execute(statement.values(**values, size=row["size"] + events))
        return {op.kept.key_id} if done.rowcount else set()

    def _fits(self, row: dict[str, Any]) -> bool:
        if row["size"] <= self.max_bytes:
            return True
        fields = {"id": row["id"], "key_id": row["key_id"], "bytes": row["size"], "max_bytes": self.max_bytes}
        log.warning("stored response larger than a key may keep: not kept", extra={"fields": fields})
        return False

    async def _cap(self, key_id: str) -> None:
        """The key's oldest finished responses go until its total is under `max_bytes`."""
        c = stored_responses.c
        async with self._engine.begin() as conn:
            total = (await conn.execute(select(func.sum(c.size)).where(c.key_id == key_id))).scalar() or 0
            if total <= self.max_bytes:
                return
            rows = await conn.execute(
                select(c.id, c.size).where(c.key_id == key_id, c.status.in_(TERMINAL)).order_by(c.created_at)
            )
            doomed = []
            for row in rows:
                if total <= self.max_bytes:
                    break
                doomed.append(row.id)
                total -= row.size
            for start in range(0, len(doomed), _CHUNK):
                chunk = doomed[start : start + _CHUNK]
                await conn.execute(delete(response_events).where(response_events.c.response_id.in_(chunk)))
                await conn.execute(delete(stored_responses).where(c.id.in_(chunk)))

    # --- upkeep: expiry, runs ------------------------------------------------------------------

    async def _upkeep_loop(self) -> None:
        last_purge = last_beat = 0.0
        while not self._closing:
            await asyncio.sleep(_WATCH)
            now = time.monotonic()
            try:
                if self.running:
                    await self._watch()
                if now - last_beat >= HEARTBEAT:
                    last_beat = now
                    await self.beat()
                    await self.sweep()
                if now - last_purge >= self._purge_interval:
                    last_purge = now
                    await self.purge()
            except Exception:
                log.exception("stored responses: upkeep failed; retried on the next tick")

    async def _watch(self) -> None:
        """Stops this process's runs whose row another replica cancelled or deleted."""
        ids = list(self.running)
        c = stored_responses.c
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(c.id, c.status).where(c.id.in_(ids)))).all()
        running = {r.id for r in rows if r.status in RUNNING}
        for response_id in ids:
            if response_id not in running and response_id in self.running:
                self.running.discard(response_id)
                self.on_stop(response_id)

    async def beat(self) -> None:
        if not self.running:
            return
        c = stored_responses.c
        statement = update(stored_responses).where(c.id.in_(list(self.running))).values(heartbeat_at=time.time())
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def sweep(self) -> int:
        """Fails every run whose process stopped renewing its heartbeat."""
        c = stored_responses.c
        lost = c.heartbeat_at < time.time() - STALE
        return await self._fail(lost, "the gateway running this response stopped before it finished")

    async def fail_orphans(self) -> int:
        """At start-up: fails the runs this instance left unfinished when it last stopped."""
        c = stored_responses.c
        mine = (c.runner == self.runner) & (c.created_at < self.started)
        return await self._fail(mine, "the gateway restarted before this response finished")

    async def _fail(self, which: Any, message: str) -> int:
        c = stored_responses.c
        error = _encode({"code": "server_error", "message": message}).decode()
        statement = update(stored_responses).where(which, c.background, c.status.in_(RUNNING))
        async with self._engine.begin() as conn:
            return (await conn.execute(statement.values(status="failed", error=error))).rowcount or 0

    async def purge(self) -> int:
        """Deletes expired responses and their events."""
        c = stored_responses.c
        now = time.time()
        async with self._engine.begin() as conn:
            expired = select(c.id).where(c.expires_at <= now)
            await conn.execute(delete(response_events).where(response_events.c.response_id.in_(expired)))
            return (await conn.execute(delete(stored_responses).where(c.expires_at <= now))).rowcount or 0

    async def close(self) -> None:
        """Stops the background tasks and writes what is still buffered."""
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            await self.flush()
        except Exception:
            log.exception("stored responses: final write failed")


def is_id(response_id: str) -> bool:
    """Whether a client's string can name a stored response (one that cannot is never looked up:
    PostgreSQL refuses a NUL in text)."""
    return 0 < len(response_id) <= _ID_LENGTH and response_id.isascii() and response_id.isprintable()


def _runs_of(ops: list[_Op]) -> Iterable[list[_Op]]:
    """Consecutive ops of one kind, in order."""
    group: list[_Op] = []
    for op in ops:
        if group and group[-1].kind != op.kind:
            yield group
            group = []
        group.append(op)
    if group:
        yield group


def _rows(kept: list[Kept]) -> dict[str, dict[str, Any]]:
    """Rows to write (compressed: called in a thread)."""
    return {k.id: _row(k) for k in kept}


def _row(kept: Kept) -> dict[str, Any]:
    response = zlib.compress(_encode(kept.response), 6)
    items = zlib.compress(_encode(kept.items), 6)
    return {
        "id": kept.id,
        "key_id": kept.key_id,
        "created_at": kept.created_at,
        "expires_at": kept.expires_at,
        "status": kept.status,
        "background": kept.background,
        "upstream": kept.upstream,
        "runner": None,
        "heartbeat_at": None,
        "error": _encode(kept.error).decode() if kept.error is not None else None,
        "size": len(response) + len(items),
        "response": response,
        "items": items,
    }
