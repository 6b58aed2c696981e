"""Connections that never finish are closed; what one client may hold is bounded; memory taken by
large bodies is given back. A gateway of its own, with short limits so the tests are quick."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from aigateway.settings import ServerConfig
from tests.conftest import UPSTREAM_KEY
from tests.support import fixtures
from tests.support.gateway import GatewayProcess
from tests.support.upstream import FakeUpstream, Reply

LIMITS = {"header_timeout": 1, "body_timeout": 1, "keep_alive_timeout": 1, "max_connections": 40}
LIMITS |= {"max_header_bytes": 8192, "max_inflight_body_bytes": 3 * 1024 * 1024, "max_body_bytes": 40 * 1024 * 1024}


def _config(url: str, server: dict[str, object]) -> str:
    lines = "".join(f"\n  {k}: {v}" for k, v in server.items())
    return f"""
server:{lines}
providers:
  anthropic:
    base_url: {url}
    api_key: ${{TEST_UPSTREAM_KEY}}
  openai:
    base_url: {url}/openai/v1
    api_key: ${{TEST_UPSTREAM_KEY}}
ledger:
  flush_interval: 0.05
routing:
  max_attempts: 1
"""


@pytest.fixture(scope="module")
def guarded(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gw = GatewayProcess(
        _config(upstream.url, LIMITS), tmp_path_factory.mktemp("guarded"), env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}
    )
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def guarded_key(guarded: GatewayProcess) -> str:
    return guarded.create_key("connections")


def connect(gw: GatewayProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, limit: float = 5.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    began, got = time.monotonic(), b""
    sock.settimeout(limit)
    while True:
        try:
            data = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not data:
            break
        got += data
    return got, time.monotonic() - began


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def body_of(response: bytes) -> dict:
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


def test_defaults_close_silent_and_idle_connections_within_a_minute():
    server = ServerConfig()
    assert server.header_timeout <= 60 and server.body_timeout <= 60 and server.keep_alive_timeout <= 60


def test_a_connection_that_sends_nothing_is_closed(guarded):
    with connect(guarded) as sock:
        got, took = read_until_closed(sock)
    assert took < 3 and status_of(got) == 408


def test_half_sent_headers_get_a_408_and_the_connection_closes(guarded):
    with connect(guarded) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ")
        got, took = read_until_closed(sock)
    assert took < 3 and status_of(got) == 408


def test_half_sent_headers_after_a_kept_alive_request_get_a_408(guarded):
    """The header timer is armed when a request's headers span reads, also on a reused connection."""
    with connect(guarded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        assert status_of(first) == 200
        time.sleep(0.3)  # whatever is left of the first response arrives
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nx-something: ")
        began = time.monotonic()
        got, _ = read_until_closed(sock)
    assert time.monotonic() - began < 3 and b"408 Request Timeout" in got


def test_headers_past_the_limit_get_a_431(guarded):
    with connect(guarded) as sock:  # in one write: the server reads it all before it answers
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n" + b"x-filler: " + b"a" * 20_000 + b"\r\n")
        got, _ = read_until_closed(sock)
    assert status_of(got) == 431


@pytest.mark.parametrize(
    ("path", "model"), [("/v1/messages", "anthropic/claude-sonnet-4"), ("/v1/chat/completions", "openai/gpt-4o")]
)
def test_an_unfinished_body_gets_a_408_in_the_doors_envelope_and_its_ledger_row(
    guarded, guarded_key, upstream, path, model
):
    body = json.dumps({"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 100}]})
    head = f"POST {path} HTTP/1.1\r\nhost: x\r\nx-api-key: {guarded_key}\r\ncontent-type: application/json\r\n"
    head += f"content-length: {len(body)}\r\n\r\n"
    with connect(guarded) as sock:
        sock.sendall(head.encode() + body.encode()[:50])
        got, took = read_until_closed(sock)
    assert took < 3 and status_of(got) == 408
    error = body_of(got)["error"]
    assert error["type"] == ("timeout_error" if path == "/v1/messages" else "invalid_request_error")
    request_id = next(line for line in got.split(b"\r\n") if line.startswith(b"request-id: "))[12:].decode()
    row = guarded.ledger_row(request_id)
    assert (row["status"], row["error_type"]) == (408, "timeout_error")
    assert upstream.received == []


def test_an_idle_keep_alive_connection_is_closed(guarded):
    with connect(guarded) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        got, took = read_until_closed(sock)
    assert status_of(got) == 200 and took < 3


def test_connections_past_the_cap_get_a_503_and_the_gateway_keeps_answering(guarded):
    held = [connect(guarded) for _ in range(LIMITS["max_connections"])]  # type: ignore[arg-type]
    try:
        time.sleep(0.2)
        with connect(guarded) as extra:
            got, _ = read_until_closed(extra)
        assert status_of(got) == 503 and body_of(got)["error"]["type"] == "overloaded_error"
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(guarded.url + "/health", timeout=5).status_code == 200


def test_bodies_past_the_in_flight_cap_get_a_529_and_are_given_back(guarded, guarded_key, upstream):
    """Two bodies of 2 MiB may not be held at once under a 3 MiB cap; once the first is over the
    second one fits."""
    big = json.dumps({"model": "nosuch/x", "max_tokens": 5, "messages": [{"role": "user", "content": "y" * (2 << 20)}]})
    head = f"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {guarded_key}\r\ncontent-type: application/json\r\n"
    head += f"content-length: {len(big)}\r\n\r\n"
    with connect(guarded) as slow:
        slow.sendall(head.encode() + big.encode()[:1000])  # held until its body timeout
        time.sleep(0.2)
        resp = httpx.post(guarded.url + "/v1/messages", content=big, headers={"x-api-key": guarded_key})
        assert resp.status_code == 529 and resp.json()["error"]["type"] == "overloaded_error"
        assert resp.headers["retry-after"] == "1"
        read_until_closed(slow)
    resp = httpx.post(guarded.url + "/v1/messages", content=big, headers={"x-api-key": guarded_key})
    assert resp.status_code == 404  # read whole this time: the first body was given back


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_memory_under_large_bodies_is_bounded_by_the_in_flight_cap(upstream, tmp_path):
    """Sixteen concurrent 30 MB bodies under a 128 MiB cap: a few are held, the rest get a 529 at
    once, and the process grows by a bounded amount (without the cap: about a gigabyte)."""
    cap = 128 << 20
    server = {"max_inflight_body_bytes": cap, "max_body_bytes": 40 * 1024 * 1024}
    gw = GatewayProcess(_config(upstream.url, server), tmp_path, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}).start()
    try:
        key = gw.create_key("memory")
        assert gw.proc is not None
        body = json.dumps(
            {"model": "nosuch/x", "max_tokens": 5, "messages": [{"role": "user", "content": "z" * (30 << 20)}]}
        )
        data = body.encode()
        httpx.post(gw.url + "/v1/messages", content=b"{}", headers={"x-api-key": key})
        before = _rss_mib(gw.proc.pid)
        peak = [before]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _rss_mib(gw.proc.pid))  # type: ignore[union-attr]
                time.sleep(0.01)

        def send(_: int) -> int:
            return httpx.post(gw.url + "/v1/messages", content=data, headers={"x-api-key": key}, timeout=60).status_code

        watcher = threading.Thread(target=watch)
        watcher.start()
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(send, range(16)))
        done.set()
        watcher.join()
        assert set(codes) == {404, 529}  # held ones read whole (no such model); the others refused at once
        assert peak[0] - before < 3 * cap / (1 << 20), f"RSS {before:.0f} MiB -> peak {peak[0]:.0f} MiB"
    finally:
        gw.stop()


@pytest.mark.recordings
def test_memory_taken_by_large_bodies_is_given_back(upstream, tmp_path):
    """Two bursts of sixteen concurrent 30 MB bodies, half of them answered by the upstream, half
    failed by it, the rest refused at the in-flight cap: once they are over, the process is back
    near its size before them (no reference cycle keeps a body alive, and the C heap is trimmed)."""
    server = {"max_inflight_body_bytes": 256 << 20, "max_body_bytes": 40 * 1024 * 1024}
    gw = GatewayProcess(_config(upstream.url, server), tmp_path, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}).start()
    try:
        key = gw.create_key("memory")
        assert gw.proc is not None
        content = "z" * (30 << 20)
        data = json.dumps(
            {
                "model": "anthropic/claude-sonnet-4.5",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": content}],
            }
        ).encode()
        del content
        httpx.post(gw.url + "/v1/messages", content=b"{}", headers={"x-api-key": key})
        before = _rss_mib(gw.proc.pid)
        ok = Reply.replay(fixtures.exchange("anthropic", "text-sync"))

        def send(_: int) -> int:
            return httpx.post(
                gw.url + "/v1/messages", content=data, headers={"x-api-key": key}, timeout=120
            ).status_code

        codes: list[int] = []
        for _ in range(2):
            upstream.reset()
            upstream.expect(*[ok] * 4)  # then the fake answers 500: a failed attempt keeps its error
            with ThreadPoolExecutor(16) as pool:
                codes += pool.map(send, range(16))
        time.sleep(0.5)
        after = _rss_mib(gw.proc.pid)
        assert {200, 500, 529} <= set(codes)
        assert after - before < 48, f"RSS {before:.0f} MiB before the bodies, {after:.0f} MiB after them"
    finally:
        upstream.reset()
        gw.stop()
