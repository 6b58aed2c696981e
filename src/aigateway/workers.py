"""`aigateway serve --workers N`: N processes serving one port.

The parent migrates the store once (so the workers do not race on it), then forks N workers.
Each worker binds its own listening socket with SO_REUSEPORT, so the kernel spreads new
connections across them, and runs its own uvicorn server and event loop. Workers get a process
group of their own, so a Ctrl-C reaches them once, through the parent: SIGINT or SIGTERM to the
parent is passed to every worker, which shuts down gracefully (ledger flushed). When one worker
exits, the parent stops the others and exits with its status.

Each worker keeps its own rate-limit and budget counters unless `redis_url` is set: with N
workers and in-process counters, a key's limits are enforced per worker (up to N times the limit
overall). Its own ledger spool, too (one directory per process).

Metrics are merged: the parent makes a private temporary directory (mode 0700) where each worker
keeps a snapshot of its metrics, so any worker can answer `/metrics` for all of them
(observability/snapshots.py); the parent removes it once every worker has exited.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from types import FrameType

import uvicorn

from aigateway.app import App
from aigateway.settings import Settings
from aigateway.store.sql import open_store


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


async def _migrate(settings: Settings) -> None:
    engine = await open_store(settings.sqlalchemy_url)
    await engine.dispose()


def _ignore(signum: int, frame: FrameType | None) -> None:
    pass


def _worker(config: uvicorn.Config) -> int:
    os.setpgid(0, 0)
    # uvicorn handles SIGINT/SIGTERM itself, and after its graceful shutdown raises the signal
    # again for the handlers it found: let those be no-ops, so a stopped worker exits with 0.
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)
    sock = _listen(config.host, config.port)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else 3


def run_workers(config: uvicorn.Config, settings: Settings, workers: int) -> int:
    asyncio.run(_migrate(settings))
    _listen(config.host, config.port).close()  # fail here, once, if the port is taken
    assert isinstance(config.app, App)
    shared = tempfile.mkdtemp(prefix="aigateway-metrics-")  # mode 0700
    config.app.metrics_dir = Path(shared)
    try:
        return _fork(config, workers)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _fork(config: uvicorn.Config, workers: int) -> int:
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _worker(config)
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum: int, frame: FrameType | None) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    status = 0
    first = True
    while children:
        try:
            pid, raw = os.wait()
        except ChildProcessError:
            break
        children.remove(pid)
        code = os.waitstatus_to_exitcode(raw)
        if first:
            status, first = (code if code >= 0 else 1), False
            forward(signal.SIGTERM, None)  # one worker gone: stop the rest
    sys.stdout.flush()
    return status
