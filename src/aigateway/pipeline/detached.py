"""Work that outlives its client: a request served with no connection behind it (a door's
background mode), by the same pipeline as any other.

`Runs.start(name, like, send, work, context)` runs `work(request)` in a task of its own, where
`request` has the id, start time, method, path and headers of `like` (so its ledger row is that
request's), sends its answer to `send`, and whose client leaves only when the run is stopped:
`stop(name, reason)` makes the pipeline see a disconnect, so it cancels the upstream call in
flight as for a client that went away, and the work reads `reason` to say why it ended.

Invariants:
- a run is independent of the request that started it: that client may leave, the run goes on;
- the registry holds every run until its work returns (the loop keeps only weak references to
  tasks); `aclose` stops them all (`reason` "shutdown") and waits a bounded time for them to
  record how they ended, then cancels what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aigateway.asgi import Message, Request, Send
from aigateway.observability.logging import log

SHUTDOWN = "shutdown"


class Run:
    """One detached run: its request, task, the door's own state, and why it was stopped."""

    def __init__(self, name: str, like: Request, send: Send, context: Any) -> None:
        scope = {
            "type": "http",
            "method": like.method,
            "path": like.path,
            "query_string": like.query,
            "headers": list(like.headers.items()),
        }
        self.name, self.context = name, context
        self.request = Request(scope, self.receive, send)
        self.request.id, self.request.started, self.request.started_mono = like.id, like.started, like.started_mono
        self.stopped: str | None = None  # the reason given to `stop`
        self.task: asyncio.Task[None] | None = None
        self._gone = asyncio.Event()

    async def receive(self) -> Message:
        """The request's receive: nothing more to read; a disconnect once the run is stopped."""
        await self._gone.wait()
        return {"type": "http.disconnect"}

    def stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason
        self._gone.set()


class Runs:
    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}

    def start(
        self, name: str, like: Request, send: Send, work: Callable[[Request], Awaitable[None]], context: Any
    ) -> Run:
        run = Run(name, like, send, context)
        self._runs[name] = run
        run.task = asyncio.create_task(self._work(run, work), name=f"detached-{name}")
        return run

    async def _work(self, run: Run, work: Callable[[Request], Awaitable[None]]) -> None:
        try:
            await work(run.request)
        except Exception:
            log.exception("detached run failed", extra={"fields": {"name": run.name, "request_id": run.request.id}})
        finally:
            self._runs.pop(run.name, None)

    def get(self, name: str) -> Run | None:
        return self._runs.get(name)

    def stop(self, name: str, reason: str) -> bool:
        """Stops a run of this process; False if there is none by that name."""
        run = self._runs.get(name)
        if run is None:
            return False
        run.stop(reason)
        return True

    async def aclose(self, grace: float = 10.0) -> None:
        runs = list(self._runs.values())
        for run in runs:
            run.stop(SHUTDOWN)
        tasks = [run.task for run in runs if run.task is not None]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError):
                await task
