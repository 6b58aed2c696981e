"""Detached runs: a request with no client behind it, whose client leaves only when it is stopped."""

from __future__ import annotations

import asyncio

from aigateway.asgi import Message, Request
from aigateway.pipeline.detached import SHUTDOWN, Runs


def _like() -> Request:
    scope = {"method": "POST", "path": "/v1/responses", "headers": [(b"x-api-key", b"k")], "query_string": b""}

    async def receive() -> Message:
        return {"type": "http.disconnect"}  # the original client is gone: the run must not care

    async def send(message: Message) -> None:
        pass

    return Request(scope, receive, send)


async def test_a_run_has_its_creators_identity_and_outlives_it_until_stopped():
    like, sent, seen = _like(), [], []

    async def send(message: Message) -> None:
        sent.append(message)

    async def work(request: Request) -> None:
        seen.append((request.id, request.started, request.headers[b"x-api-key"]))
        await request.send({"type": "http.response.body", "body": b"working", "more_body": True})
        await request.wait_disconnect()  # what the pipeline watches to cancel an upstream call

    runs = Runs()
    run = runs.start("resp_1", like, send, work, context="door state")
    await asyncio.sleep(0.05)
    assert seen == [(like.id, like.started, b"k")] and sent[0]["body"] == b"working"
    assert runs.get("resp_1") is run and run.context == "door state" and not run.task.done()  # type: ignore[union-attr]
    assert not runs.stop("resp_2", "cancelled")
    assert runs.stop("resp_1", "cancelled")
    await asyncio.wait_for(run.task, 1)  # type: ignore[arg-type]
    assert run.stopped == "cancelled" and runs.get("resp_1") is None


async def test_shutdown_stops_every_run_and_cancels_one_that_will_not_end():
    ended: list[str | None] = []

    async def polite(request: Request) -> None:
        await request.wait_disconnect()
        ended.append(runs.get("a").stopped)  # type: ignore[union-attr]

    async def stubborn(request: Request) -> None:
        await asyncio.sleep(3600)

    async def send(message: Message) -> None:
        pass

    runs = Runs()
    runs.start("a", _like(), send, polite, None)
    late = runs.start("b", _like(), send, stubborn, None)
    await asyncio.sleep(0.01)
    await runs.aclose(grace=0.2)
    assert ended == [SHUTDOWN] and late.task is not None and late.task.cancelled()
    assert runs.get("a") is None and runs.get("b") is None
