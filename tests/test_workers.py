"""`aigateway serve --workers N`: N processes share the port and stop together on SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.support.gateway import BIN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return out


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def test_two_workers_share_the_port_and_stop_on_sigint(tmp_path):
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    argv = [str(BIN / "aigateway"), "serve", "--workers", "2", "--port", str(port), "--data-dir", str(tmp_path / "d")]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={"PATH": "/usr/bin"})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (len(_children(proc.pid)) == 2 and _healthy(port)):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        workers = _children(proc.pid)
        assert len(workers) == 2
        time.sleep(1.0)  # both workers listening
        assert all(_healthy(port) for _ in range(20))  # fresh connections, spread by the kernel
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
