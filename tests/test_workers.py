"""`aigateway serve --workers N`: N processes share the port, stop together on SIGINT, and any of
them answers `/metrics` for all of them; `--workers auto` runs one per core."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aigateway.observability.snapshots import SUFFIX, read
from tests.support.gateway import BIN, cli

ADMIN = "workers-admin-key-0123456789abcdef"


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


def _env(**extra: str) -> dict[str, str]:
    """A bare environment (no config or keys from the caller's), keeping this checkout's sources."""
    path = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    return {"PATH": "/usr/bin", **path, **extra}


def _two_workers_up(proc: subprocess.Popen[bytes], port: int, log: Path, count: int = 2) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (len(_children(proc.pid)) == count and _healthy(port)):
        assert proc.poll() is None, log.read_text()
        time.sleep(0.1)
    workers = _children(proc.pid)
    assert len(workers) == count
    return workers


def test_two_workers_share_the_port_and_stop_on_sigint(tmp_path):
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    argv = [str(BIN / "aigateway"), "serve", "--workers", "2", "--port", str(port), "--data-dir", str(tmp_path / "d")]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=_env())
    try:
        workers = _two_workers_up(proc, port, tmp_path / "serve.log")
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


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPU cores")
def test_workers_auto_runs_one_worker_per_core_it_may_use(tmp_path):
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    argv = [str(BIN / "aigateway"), "serve", "--workers", "auto", "--port", str(port), "--data-dir", str(tmp_path)]
    cores = sorted(os.sched_getaffinity(0))[:2]  # the gateway may run on these two only

    def pin() -> None:
        os.sched_setaffinity(0, cores)

    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=_env(), preexec_fn=pin)
    try:
        _two_workers_up(proc, port, tmp_path / "serve.log", count=2)
        time.sleep(0.5)
        assert len(_children(proc.pid)) == 2  # and no more
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _post_bad_json(port: int, secret: str) -> int:
    """One request over a fresh connection, answered 400 by the gateway itself (no upstream)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/messages", data=b"{not json", headers={"x-api-key": secret}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _scraped_requests(port: int) -> float:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"authorization": f"Bearer {ADMIN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "aigateway_requests_total" and s.labels["endpoint"] == "messages"
    )


def test_metrics_sum_every_worker_whichever_answers(tmp_path):
    data, tmp = str(tmp_path / "d"), tmp_path / "tmp"
    tmp.mkdir()
    env = _env(AIGATEWAY_ADMIN_KEY=ADMIN, TMPDIR=str(tmp))
    secret = cli("keys", "create", "--name", "w", "--data-dir", data, env=env).stdout.strip().splitlines()[-1]
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    argv = [str(BIN / "aigateway"), "serve", "--workers", "2", "--port", str(port), "--data-dir", data]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        workers = _two_workers_up(proc, port, tmp_path / "serve.log")
        [shared] = tmp.glob("aigateway-metrics-*")
        assert shared.stat().st_mode & 0o777 == 0o700
        time.sleep(1.0)  # both workers listening
        sent = 200
        assert all(_post_bad_json(port, secret) == 400 for _ in range(sent))  # spread by the kernel

        def own(pid: int) -> int:
            path = shared / f"{pid}{SUFFIX}"
            if not path.exists():
                return 0
            return sum(n for k, n in read(path).requests.items() if k[3] == "messages")

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum(map(own, workers)) < sent:
            time.sleep(0.1)  # each worker snapshots about once a second
        assert all(own(pid) > 0 for pid in workers), [own(pid) for pid in workers]
        assert sum(map(own, workers)) == sent
        assert [_scraped_requests(port) for _ in range(30)] == [sent] * 30
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        assert not shared.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
