"""Two gateway processes sharing the local PostgreSQL and Redis, as two replicas behind a load balancer.

Limits and budgets must hold across both; every request leaves exactly one ledger row; a key
revoked on one replica stops on the other within the key refresh interval; SIGTERM loses nothing.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import anthropic
import asyncpg
import httpx
import pytest

from tests.conftest import ADMIN_KEY, UPSTREAM_KEY
from tests.policy.conftest import PG, REDIS, drop_prefix
from tests.support import fixtures
from tests.support.gateway import ISSUED_KEYS, GatewayProcess
from tests.support.upstream import FakeUpstream, Reply

REFRESH = 2.0  # keys.refresh_interval, the default: the bound README states for revocation
PROMPT = [{"role": "user", "content": "Hello"}]


def _config(upstream_url: str, database: str, prefix: str) -> str:
    return f"""
providers:
  anthropic:
    base_url: {upstream_url}
    api_key: ${{TEST_UPSTREAM_KEY}}
database_url: {PG}/{database}
redis_url: {REDIS}
redis_prefix: "{prefix}"
admin_key: ${{TEST_ADMIN_KEY}}
listings: {{enabled: false}}  # tests count upstream calls: no background reads of model lists
keys:
  refresh_interval: {REFRESH}
ledger:
  flush_interval: 0.05
"""


def _pg(query: str, *args: object, database: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(f"{PG}/{database}")
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


class Replicas:
    def __init__(self, a: GatewayProcess, b: GatewayProcess, database: str):
        self.a, self.b, self.database = a, b, database

    def both(self) -> list[GatewayProcess]:
        return [self.a, self.b]

    def make_key(self, **policy: object) -> tuple[str, str]:
        resp = httpx.post(
            self.a.url + "/admin/keys", json={"name": "replicas", **policy}, headers={"x-api-key": ADMIN_KEY}
        )
        assert resp.status_code == 201, resp.text
        ISSUED_KEYS.append(resp.json()["secret"])
        return resp.json()["id"], resp.json()["secret"]

    def rows(self, key_id: str, expect: int, timeout: float = 10) -> list[asyncpg.Record]:
        deadline = time.monotonic() + timeout
        while True:
            rows = _pg("SELECT * FROM ledger WHERE key_id = $1", key_id, database=self.database)
            if len(rows) >= expect or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)


@pytest.fixture(scope="module")
def replicas(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    database, prefix = "aigw_" + uuid.uuid4().hex[:12], f"aigw-test-{uuid.uuid4().hex[:12]}:"
    _pg(f'CREATE DATABASE "{database}"', database="test")
    env = {"TEST_UPSTREAM_KEY": UPSTREAM_KEY, "TEST_ADMIN_KEY": ADMIN_KEY}
    config = _config(upstream.url, database, prefix)
    started: list[GatewayProcess] = []
    reps: Replicas | None = None
    try:
        for name in ("a", "b"):
            started.append(GatewayProcess(config, tmp_path_factory.mktemp(f"replica-{name}"), env=env).start())
        reps = Replicas(started[0], started[1], database)
        yield reps
    finally:
        if reps is not None:
            started += reps.both()  # a test may have restarted one
        for gw in started:
            if gw.proc is not None and gw.proc.poll() is None:
                gw.stop()
        for gw in started:
            for secret in (UPSTREAM_KEY, ADMIN_KEY, *ISSUED_KEYS):
                assert secret not in gw.log_text(), "a secret reached a replica's log"
        _pg(f'DROP DATABASE "{database}" WITH (FORCE)', database="test")
        asyncio.run(drop_prefix(prefix))


def _call(url: str, secret: str, model: str, max_tokens: int) -> tuple[int, str]:
    client = anthropic.Anthropic(base_url=url, api_key=secret, max_retries=0)
    try:
        raw = client.messages.with_raw_response.create(model=model, max_tokens=max_tokens, messages=PROMPT)
        return raw.status_code, raw.headers["request-id"]
    except anthropic.APIStatusError as exc:
        return exc.status_code, exc.response.headers["request-id"]


def _burst(replicas: Replicas, secret: str, n: int, model: str, max_tokens: int = 16) -> list[tuple[int, str]]:
    urls = [gw.url for gw in replicas.both()]
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(_call, urls[i % 2], secret, model, max_tokens) for i in range(n)]
        return [f.result() for f in futures]


def test_rpm_holds_across_replicas(replicas, upstream):
    key_id, secret = replicas.make_key(rpm=10)
    upstream.expect(*(Reply.replay(fixtures.exchange("anthropic", "text-sync")) for _ in range(30)))
    started = time.monotonic()
    results = _burst(replicas, secret, 30, "anthropic/claude-sonnet-4")
    refill = int((time.monotonic() - started) // 6)  # the bucket gives one request back every 6 s
    ok = sum(status == 200 for status, _ in results)
    assert 10 <= ok <= 10 + refill  # exactly 10 when the burst takes under 6 s, as it does
    assert sorted(status for status, _ in results) == [200] * ok + [429] * (30 - ok)
    rows = replicas.rows(key_id, expect=30)
    assert sorted(r["request_id"] for r in rows) == sorted(rid for _, rid in results)  # one row each


def test_budget_is_never_overshot_across_replicas(replicas, upstream):
    # Haiku 4.5, max_tokens 100: each request reserves (body bytes + 1024) * 2000 + 100 * 5000
    # nano-dollars (about $0.0028) and costs 17*1000 + 15*5000 = 92_000 once answered. A budget of
    # $0.003 fits one reservation at a time; without atomic reservations 50 requests would spend
    # 50 * 92_000 = 4_600_000 > 3_000_000.
    budget = 3_000_000
    key_id, secret = replicas.make_key(budget_usd="0.003", budget_period="total")
    upstream.expect(*(Reply.replay(fixtures.exchange("anthropic", "text-sync")) for _ in range(50)))
    results = _burst(replicas, secret, 50, "anthropic/claude-haiku-4.5", max_tokens=100)
    ok = [rid for status, rid in results if status == 200]
    assert ok and all(status in (200, 402) for status, _ in results)
    rows = replicas.rows(key_id, expect=50)
    assert sorted(r["request_id"] for r in rows) == sorted(rid for _, rid in results)
    spent = sum(r["cost_nanousd"] or 0 for r in rows)
    assert spent == 92_000 * len(ok) <= budget
    time.sleep(0.3)  # settles land off the response path
    for gw in replicas.both():  # both replicas read the one shared counter, settled to the ledger's truth
        balance = httpx.get(gw.url + "/v1/balance", headers={"x-api-key": secret}).json()
        assert balance["spent_usd"] == f"{spent / 1e9:.6f}"


def test_revocation_on_one_replica_reaches_the_other(replicas, upstream):
    key_id, secret = replicas.make_key()
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    assert _call(replicas.b.url, secret, "anthropic/claude-sonnet-4", 16)[0] == 200
    revoked = httpx.delete(replicas.a.url + f"/admin/keys/{key_id}", headers={"x-api-key": ADMIN_KEY})
    assert revoked.status_code == 200
    started = time.monotonic()
    while httpx.get(replicas.b.url + "/v1/balance", headers={"x-api-key": secret}).status_code != 401:
        assert time.monotonic() - started < REFRESH + 1.0, "revocation slower than the refresh interval"
        time.sleep(0.05)


def test_sigterm_under_load_loses_no_ledger_row(replicas, upstream):
    key_id, secret = replicas.make_key()
    n = 20
    for _ in range(n):
        reply = Reply.replay(fixtures.exchange("anthropic", "text-stream"))
        reply.stall = 1.0  # every request is in flight when the signal arrives
        upstream.expect(reply)
    gw = replicas.a
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(_streamed, gw.url, secret) for _ in range(n)]
        deadline = time.monotonic() + 20
        while len(upstream.received) < n:
            assert time.monotonic() < deadline, "requests did not reach the upstream"
            time.sleep(0.02)
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGTERM)
        results = [f.result() for f in futures]
    assert gw.proc.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    assert all(text for text, _ in results)  # every stream in flight ran to its end
    rows = replicas.rows(key_id, expect=n)
    assert sorted(r["request_id"] for r in rows) == sorted(rid for _, rid in results)
    assert all(r["status"] == 200 and r["output_tokens"] > 0 for r in rows)
    replicas.a = GatewayProcess(gw.config.read_text(), gw.workdir, env=gw.env).start()  # for later tests


def _streamed(url: str, secret: str) -> tuple[str, str]:
    client = anthropic.Anthropic(base_url=url, api_key=secret, max_retries=0)
    with client.messages.stream(model="anthropic/claude-sonnet-4", max_tokens=64, messages=PROMPT) as stream:
        message = stream.get_final_message()
        return "".join(b.text for b in message.content if b.type == "text"), stream.response.headers["request-id"]


def test_usage_report_on_postgresql(replicas, upstream):
    key_id, secret = replicas.make_key()
    upstream.expect(*(Reply.replay(fixtures.exchange("anthropic", "text-sync")) for _ in range(2)))
    for gw in replicas.both():
        assert _call(gw.url, secret, "anthropic/claude-sonnet-4", 16)[0] == 200
    replicas.rows(key_id, expect=2)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    by_day = httpx.get(replicas.b.url + "/v1/usage?group_by=day", headers={"x-api-key": secret}).json()
    assert by_day["data"] == [
        {
            "day": today,
            "requests": 2,
            "input_tokens": 34,
            "output_tokens": 30,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cost_usd": "0.000552",  # 2 * (17*3000 + 15*15000) nano-dollars
            "unpriced_requests": 0,
        }
    ]
    headers = {"x-api-key": ADMIN_KEY}
    by_key = httpx.get(replicas.a.url + f"/v1/usage?group_by=provider&key_id={key_id}", headers=headers).json()
    assert [(r["provider"], r["requests"]) for r in by_key["data"]] == [("anthropic", 2)]
