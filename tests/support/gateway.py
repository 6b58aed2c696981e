"""Runs the real `aigateway serve` as a child process, the way users start it."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ISSUED_KEYS: list[str] = []  # every gateway key the tests created, to search logs for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "aigateway"), *args], capture_output=True, text=True, env=env, check=check, timeout=60
    )


class GatewayProcess:
    def __init__(
        self, config_text: str, workdir: Path, *, command: list[str] | None = None, env: dict[str, str] | None = None
    ):
        self.workdir = workdir
        self.config = workdir / "config.yaml"
        self.config.write_text(config_text)
        self.data_dir = workdir / "data"
        self.port = free_port()
        self.log_path = workdir / "gateway.log"
        self.env = {**os.environ, **(env or {})}
        self.command = command or [str(BIN / "aigateway"), "serve"]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60, *, use_flags: bool = True) -> GatewayProcess:
        self._log = self.log_path.open("ab")
        args = list(self.command)
        if use_flags:
            args += ["--config", str(self.config), "--data-dir", str(self.data_dir)]
            args += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(args, cwd=REPO, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gateway not healthy in time:\n{self.log_path.read_text()}")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        try:
            code = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        self._log.close()
        return code

    def create_key(self, name: str = "test") -> str:
        out = cli(
            "keys",
            "create",
            "--name",
            name,
            "--config",
            str(self.config),
            "--data-dir",
            str(self.data_dir),
            env=self.env,
        )
        key = out.stdout.strip().splitlines()[-1]
        ISSUED_KEYS.append(key)
        return key

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return cli(*args, "--config", str(self.config), "--data-dir", str(self.data_dir), env=self.env, check=check)

    def ledger_row(self, request_id: str, timeout: float = 5.0) -> dict:
        """The ledger row of one request, waiting for the batched writer to flush it."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.ledger_rows("request_id = ?", (request_id,))
            if rows or time.monotonic() > deadline:
                assert rows, f"no ledger row for {request_id}"
                return rows[0]
            time.sleep(0.05)

    def ledger_rows(self, where: str = "1=1", params: tuple = ()) -> list[dict]:
        con = sqlite3.connect(self.data_dir / "aigateway.db")
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(f"SELECT * FROM ledger WHERE {where}", params)]
        finally:
            con.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def leave_mid_stream(gateway, served, path: str, auth: str, body: bytes, until: bytes) -> dict:
    """Sends a stream request on a raw socket, leaves once `until` has arrived, and checks that the
    gateway closed the upstream within 0.5 s and recorded the request as a 499 `client_closed`;
    returns that ledger row."""
    request = (
        f"POST {path} HTTP/1.1\r\nhost: x\r\n{auth}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        sock.sendall(request)
        got = b""
        while until not in got:
            got += sock.recv(65536)
        request_id = got.split(b"\r\nrequest-id: ", 1)[1].split(b"\r\n", 1)[0].decode()
        left_at = time.monotonic()
    assert served.finished.wait(5)
    assert served.peer_closed_at is not None, "upstream connection was kept open"
    assert served.peer_closed_at - left_at < 0.5
    row = gateway.ledger_row(request_id)
    assert row["status"] == 499 and row["error_type"] == "client_closed" and row["streamed"] == 1
    return row
