"""asgi.py's per-request helpers: request ids, the "response started" flag, the disconnect watch
(a callback from the server's protocol, no task, under the gateway's own server)."""

from __future__ import annotations

import asyncio
import os
import re

import uvicorn

from aigateway.asgi import GONE, Message, Request, Scope, new_request_id
from aigateway.connections import protocol_for
from aigateway.settings import ServerConfig
from tests.support.gateway import free_port

ID = re.compile(r"req_[0-9a-f]{24}")


def test_request_ids_keep_their_format_and_never_repeat():
    ids = [new_request_id() for _ in range(10_000)]
    assert all(ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_draws_ids_of_its_own():
    """`serve --workers N` forks: a child must not count on from its parent's prefix."""
    before = new_request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert ID.fullmatch(child)
    assert child[:20] != before[:20]  # another random prefix, not the parent's next number


def _scope(**extra: object) -> Scope:
    return {"type": "http", "method": "POST", "path": "/", "headers": [], **extra}


async def test_responded_is_set_by_start_and_send_is_the_servers_own():
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    req = Request(_scope(), receive, send)
    assert req.send is send and not req.responded  # no wrapper per message
    await req.respond(200, b"{}")
    assert req.responded and sent[0]["type"] == "http.response.start"


async def test_without_the_gateways_server_a_task_watches_receive():
    disconnect = asyncio.Event()

    async def receive() -> Message:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    req = Request(_scope(), receive, send)
    calls: list[int] = []
    gone = req.when_gone(lambda: calls.append(1))
    disconnect.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert gone.left and calls == [1]
    gone.stop()
    stopped = req.when_gone(lambda: calls.append(2))
    stopped.stop()
    await asyncio.sleep(0)
    assert not stopped.left and calls == [1]  # a stopped watch never calls back


async def test_under_the_gateways_server_a_disconnect_is_a_callback_not_a_task():
    seen: dict[str, object] = {}
    left = asyncio.Event()

    async def app(scope: Scope, receive: object, send: object) -> None:
        if scope["type"] != "http":
            return
        req = Request(scope, receive, send)  # type: ignore[arg-type]
        await req.body(1024)
        before = len(asyncio.all_tasks())
        seen["watch"] = req.when_gone(left.set)
        seen["tasks"] = len(asyncio.all_tasks()) - before
        seen["marked"] = GONE in scope
        await asyncio.sleep(10)

    port = free_port()
    config = uvicorn.Config(app, port=port, http=protocol_for(ServerConfig()), lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        while "watch" not in seen:
            await asyncio.sleep(0.01)
        assert seen["marked"] and seen["tasks"] == 0
        writer.close()
        await asyncio.wait_for(left.wait(), 2)
        assert seen["watch"].left  # type: ignore[attr-defined]
    finally:
        server.should_exit = True
        server.force_exit = True
        await asyncio.wait_for(serving, 5)
