"""Metrics under `serve --workers N`: workers' snapshots summed, exited workers' gauges dropped."""

from __future__ import annotations

import os
import subprocess
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from aigateway.app import App, start_gateway
from aigateway.config import load_settings
from aigateway.ir.usage import Usage
from aigateway.observability import metrics
from aigateway.observability.metrics import Metrics
from aigateway.observability.snapshots import Shared, merge, read, take
from aigateway.routing.fallback import Tried
from aigateway.routing.health import Health
from aigateway.store.rows import LedgerRow


def _row(key: str, status: int = 200, latency: float = 0.3, ttft: float | None = 0.1) -> LedgerRow:
    return LedgerRow.build(
        request_id="r",
        started=time.time(),
        started_mono=time.monotonic() - latency,
        key_id=key,
        endpoint="messages",
        model="m",
        provider="p",
        upstream_model="u",
        streamed=ttft is not None,
        status=status,
        usage=Usage(input_tokens=10, output_tokens=5),
        ttft=ttft,
        cost=1000,
    )


def _worker(*rows: LedgerRow, in_flight: int = 0) -> Metrics:
    m = Metrics()
    for row in rows:
        m.observe(row, [Tried("p", "c", "u", "overloaded"), Tried("p", "c", "u", "ok")])
    m.in_flight = in_flight
    return m


def _health(state: str, failures: int) -> Health:
    h = Health()
    b = h.breaker("p", "c")
    b.state, b.failures = state, failures  # type: ignore[assignment]
    return h


def test_two_live_workers_are_summed_and_breakers_take_the_worst():
    a = take(_worker(_row("k1"), _row("k2"), in_flight=2), _health("closed", 1), pid=1)
    b = take(_worker(_row("k1"), _row("k1", status=529, ttft=None), in_flight=3), _health("open", 4), pid=2)
    total, breakers = merge([(a, True), (b, True)])
    assert total.requests == {
        ("m", "p", "k1", "messages", "200"): 2,
        ("m", "p", "k2", "messages", "200"): 1,
        ("m", "p", "k1", "messages", "529"): 1,
    }
    assert total.usage[("m", "p", "k1")][:2] == [30, 15]
    assert total.usage[("m", "p", "k1")][4] == 3000
    assert sum(total.latency[("m", "p")].counts) == 4
    assert sum(total.ttft[("m", "p")].counts) == 3
    assert total.upstream_errors == {("p", "overloaded"): 4}
    assert total.retries == {"p": 4}
    assert total.in_flight == 5
    assert breakers == [("p", "c", "open", 4)]


def test_an_exited_worker_keeps_its_counters_but_not_its_gauges():
    live = take(_worker(_row("k1"), in_flight=1), _health("closed", 0), pid=1)
    gone = take(_worker(_row("k1"), _row("k1"), in_flight=7), _health("open", 9), pid=2, final=True)
    total, breakers = merge([(live, True), (gone, False)])
    assert total.requests == {("m", "p", "k1", "messages", "200"): 3}
    assert sum(total.latency[("m", "p")].counts) == 3
    assert total.retries == {"p": 3}
    assert total.in_flight == 1
    assert breakers == [("p", "c", "closed", 0)]
    only_gone, none = merge([(gone, False)])
    assert only_gone.requests == {("m", "p", "k1", "messages", "200"): 2}
    assert only_gone.in_flight == 0
    assert none == []


def test_a_scrape_reads_every_snapshot_and_tells_live_from_exited(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    finished = subprocess.Popen(["true"])
    finished.wait()
    try:
        Shared(tmp_path, _worker(_row("k1"), in_flight=1), _health("half_open", 2), pid=sleeper.pid).write()
        Shared(tmp_path, _worker(_row("k1"), in_flight=10), _health("open", 8), pid=finished.pid).write()
        # a worker that shut down cleanly (final), its pid taken since by a running process
        Shared(tmp_path, _worker(_row("k2"), in_flight=100), _health("open", 9), pid=os.getppid()).write(final=True)
        me = Shared(tmp_path, _worker(_row("k1"), in_flight=1000), _health("closed", 0))
        assert read(tmp_path / f"{sleeper.pid}.msgpack").requests == {("m", "p", "k1", "messages", "200"): 1}
        text = metrics.render(metrics.registry(*me.merged())).decode()
    finally:
        sleeper.kill()
        sleeper.wait()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]

    def value(name: str, **labels: str) -> float:
        return sum(s.value for s in samples if s.name == name and all(s.labels[k] == v for k, v in labels.items()))

    assert value("aigateway_requests_total", key="k1") == 3
    assert value("aigateway_requests_total", key="k2") == 1
    assert value("aigateway_request_duration_seconds_count") == 4
    assert value("aigateway_requests_in_flight") == 1001
    assert value("aigateway_breaker_state", state="half_open") == 1
    assert value("aigateway_breaker_state", state="open") == 0
    assert value("aigateway_breaker_failures") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{pid}.msgpack" for pid in (sleeper.pid, finished.pid, os.getppid(), me.pid)
    )


def test_an_unchanged_snapshot_is_not_written_again(tmp_path):
    m = _worker(_row("k1"))
    shared = Shared(tmp_path, m, Health())
    shared.write()
    path = tmp_path / f"{shared.pid}.msgpack"
    path.unlink()
    shared.write()
    assert not path.exists()
    m.in_flight += 1
    shared.write()
    assert read(path).in_flight == 1


async def test_a_worker_gateway_snapshots_on_scrape_and_at_shutdown(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (tmp_path / "c.yaml").write_text("metrics: {require_admin_key: false}\n")
    settings = load_settings(tmp_path / "c.yaml", tmp_path / "data")
    worker = await start_gateway(settings, shared)
    alone = await start_gateway(settings)  # a single process: no snapshots
    try:
        assert alone.shared is None
        worker.metrics.observe(_row("k1"), [])
        app = App(settings)
        app.gw = worker
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
            scraped = await client.get("/metrics")
        assert 'aigateway_requests_total{endpoint="messages",key="k1"' in scraped.text
        snap = read(shared / f"{os.getpid()}.msgpack")
        assert snap.requests == {("m", "p", "k1", "messages", "200"): 1} and not snap.final
    finally:
        await worker.aclose()
        await alone.aclose()
    assert read(shared / f"{os.getpid()}.msgpack").final
    assert [p.name for p in shared.iterdir()] == [f"{os.getpid()}.msgpack"]
