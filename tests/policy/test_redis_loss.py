"""Budgets hold whatever Redis does: a Redis that comes back empty has its budget counters seeded
again from the ledger; the gateway starts while Redis is down and serves the keys that need no
shared counter. Each test runs a private redis-server on a free loopback port (never the shared one)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, UPSTREAM_KEY
from tests.support import fixtures
from tests.support.gateway import ISSUED_KEYS, GatewayProcess, free_port
from tests.support.upstream import FakeUpstream, Reply

SYNC = fixtures.Later("anthropic", "text-sync")
BODY = {"model": "anthropic/claude-sonnet-4", "max_tokens": 20, "messages": [{"role": "user", "content": "Hello"}]}


class PrivateRedis:
    """A redis-server without persistence: stopping it loses everything, as a restart would."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        server = shutil.which("redis-server")
        assert server, "redis-server is not installed"
        args = [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen([*args, "--dir", str(self.workdir)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


def _gateway(upstream: FakeUpstream, redis: PrivateRedis, workdir: Path) -> GatewayProcess:
    config = f"""
providers:
  anthropic:
    base_url: {upstream.url}
    api_key: ${{TEST_UPSTREAM_KEY}}
redis_url: {redis.url}
admin_key: ${{TEST_ADMIN_KEY}}
ledger:
  flush_interval: 0.05
routing:
  max_attempts: 1
"""
    workdir.mkdir()
    return GatewayProcess(config, workdir, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY, "TEST_ADMIN_KEY": ADMIN_KEY})


def _key(gw: GatewayProcess, **policy: object) -> tuple[str, str]:
    resp = httpx.post(gw.url + "/admin/keys", json={"name": "redis", **policy}, headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 201, resp.text
    ISSUED_KEYS.append(resp.json()["secret"])
    return resp.json()["id"], resp.json()["secret"]


def _ask(gw: GatewayProcess, secret: str) -> httpx.Response:
    return httpx.post(gw.url + "/v1/messages", json=BODY, headers={"x-api-key": secret}, timeout=30)


def _balance(gw: GatewayProcess, secret: str) -> httpx.Response:
    return httpx.get(gw.url + "/v1/balance", headers={"x-api-key": secret}, timeout=10)


def _ledger_spend(gw: GatewayProcess, key_id: str) -> int:
    time.sleep(0.3)  # the ledger writer's flush
    return sum(r["cost_nanousd"] or 0 for r in gw.ledger_rows("key_id = ?", (key_id,)))


def test_a_redis_that_restarts_empty_has_the_budget_seeded_again_from_the_ledger(upstream, redis, tmp_path):
    gw = _gateway(upstream, redis, tmp_path / "gw").start()
    try:
        key_id, secret = _key(gw, budget_usd="1.00", budget_period="month")
        for _ in range(3):
            upstream.expect(Reply.replay(SYNC))
            assert _ask(gw, secret).status_code == 200
        spent = _ledger_spend(gw, key_id)
        assert spent > 0
        for _ in range(2):  # restarts without persistence: every counter is gone each time
            redis.stop()
            redis.start()
            upstream.expect(Reply.replay(SYNC))
            assert _ask(gw, secret).status_code == 200
        spent = _ledger_spend(gw, key_id)
        balance = _balance(gw, secret).json()
        assert round(float(balance["spent_usd"]) * 1e9) == pytest.approx(spent, abs=10)
        # A budget of exactly what was spent: the next request must be refused, after one more loss too.
        exact = {"budget_usd": f"{spent / 1e9:.9f}"}
        httpx.patch(gw.url + f"/admin/keys/{key_id}", json=exact, headers={"x-api-key": ADMIN_KEY}).raise_for_status()
        time.sleep(2.5)  # keys.refresh_interval
        redis.stop()
        redis.start()
        refused = _ask(gw, secret)
        assert refused.status_code == 402 and refused.json()["error"]["type"] == "billing_error"
    finally:
        gw.stop()


def test_the_gateway_starts_and_serves_keys_without_limits_while_redis_is_down(upstream, redis, tmp_path):
    gw = _gateway(upstream, redis, tmp_path / "gw").start()
    budgeted_id, budgeted = _key(gw, budget_usd="1.00", budget_period="month")
    _, unlimited = _key(gw)
    upstream.expect(Reply.replay(SYNC))
    assert _ask(gw, budgeted).status_code == 200
    gw.stop()
    redis.stop()
    gw.start()  # with a budgeted key in the store and Redis down
    try:
        assert httpx.get(gw.url + "/health").status_code == 200
        upstream.expect(Reply.replay(SYNC))
        assert _ask(gw, unlimited).status_code == 200
        refused = _ask(gw, budgeted)
        assert refused.status_code == 503 and refused.json()["error"]["type"] == "api_error"
        balance = _balance(gw, budgeted)
        assert balance.status_code == 503 and balance.json()["error"]["type"] == "api_error"
        redis.start()  # back, and empty
        upstream.reset()
        upstream.expect(Reply.replay(SYNC))
        assert _ask(gw, budgeted).status_code == 200
        spent = _ledger_spend(gw, budgeted_id)
        assert round(float(_balance(gw, budgeted).json()["spent_usd"]) * 1e9) == pytest.approx(spent, abs=10)
    finally:
        gw.stop()
