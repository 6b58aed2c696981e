"""`GET /metrics` of real gateway processes: counts, tokens, cost, histograms, attempts, breakers."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN_KEY
from tests.observability.conftest import ADMIN
from tests.support import fixtures
from tests.support.upstream import Reply

PROMPT = [{"role": "user", "content": "What is 4200 + 42?"}]


def scrape(gateway, key: str) -> dict[str, list]:
    resp = httpx.get(gateway.url + "/metrics", headers={"authorization": f"Bearer {key}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(resp.text):
        out.setdefault(family.name, []).extend(family.samples)
    return out


def value(samples: list, name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(found)


def test_metrics_need_the_admin_key(gateway, api_key):
    assert httpx.get(gateway.url + "/metrics", timeout=10).status_code == 401
    other = httpx.get(gateway.url + "/metrics", headers={"authorization": f"Bearer {api_key}"}, timeout=10)
    assert other.status_code == 403
    assert other.json()["error"]["type"] == "permission_error"


def test_requests_tokens_cost_and_latency_by_key(gateway, upstream):
    key_id, secret = _new_key(gateway)
    client = anthropic.Anthropic(base_url=gateway.url, api_key=secret, max_retries=0)
    upstream.expect(
        Reply.replay(fixtures.exchange("anthropic", "text-sync")),
        Reply.replay(fixtures.exchange("anthropic", "text-stream")),
    )
    client.messages.create(model="anthropic/claude-sonnet-4", max_tokens=64, messages=PROMPT)
    with client.messages.stream(model="anthropic/claude-sonnet-4", max_tokens=64, messages=PROMPT) as s:
        final = s.get_final_message()
    bad = httpx.post(gateway.url + "/v1/messages", content=b"{not json", headers={"x-api-key": secret}, timeout=10)
    assert bad.status_code == 400
    m = scrape(gateway, ADMIN_KEY)
    requests = m["aigateway_requests"]
    assert value(requests, "aigateway_requests_total", key=key_id, status="200") == 2
    assert value(requests, "aigateway_requests_total", key=key_id, status="400") == 1
    ok = [s for s in requests if s.labels["key"] == key_id and s.labels["status"] == "200"]
    assert {(s.labels["model"], s.labels["provider"]) for s in ok} == {("anthropic/claude-sonnet-4", "anthropic")}
    rows = [gateway.ledger_row(r) for r in _request_ids(gateway, key_id, 3)]
    tokens = m["aigateway_tokens"]
    assert value(tokens, "aigateway_tokens_total", key=key_id, type="input") == sum(r["input_tokens"] for r in rows)
    assert value(tokens, "aigateway_tokens_total", key=key_id, type="output") == sum(r["output_tokens"] for r in rows)
    assert final.usage.output_tokens > 0
    cost = value(m["aigateway_cost_usd"], "aigateway_cost_usd_total", key=key_id)
    assert cost == pytest.approx(sum(r["cost_nanousd"] or 0 for r in rows) / 1e9)
    assert cost > 0
    labels = {"model": "anthropic/claude-sonnet-4", "provider": "anthropic"}
    latency = m["aigateway_request_duration_seconds"]
    count = value(latency, "aigateway_request_duration_seconds_count", **labels)
    assert count >= 2
    assert value(latency, "aigateway_request_duration_seconds_bucket", le="+Inf", **labels) == count
    ttft = m["aigateway_time_to_first_token_seconds"]
    assert value(ttft, "aigateway_time_to_first_token_seconds_count", **labels) >= 1
    assert value(m["aigateway_requests_in_flight"], "aigateway_requests_in_flight") == 0


def test_upstream_errors_retries_fallbacks_and_breakers(traced, tclient, upstream):
    """The default routing gateway: two failures on primary, then secondary answers."""
    before = scrape(traced, ADMIN)
    upstream.expect(Reply(status=529, body=b"{}"), Reply(reset=True), Reply(reset=True), _ok())
    raw = tclient.messages.with_raw_response.create(model="test/sonnet", max_tokens=64, messages=PROMPT)
    assert raw.headers["x-aigateway-attempts"] == "4"
    after = scrape(traced, ADMIN)

    def delta(family: str, name: str, **labels: str) -> float:
        return value(after.get(family, []), name, **labels) - value(before.get(family, []), name, **labels)

    assert delta("aigateway_upstream_errors", "aigateway_upstream_errors_total", provider="primary") == 3
    assert delta("aigateway_upstream_retries", "aigateway_upstream_retries_total", provider="primary") == 2
    assert delta("aigateway_upstream_fallbacks", "aigateway_upstream_fallbacks_total", provider="secondary") == 1
    states = after["aigateway_breaker_state"]
    assert value(states, "aigateway_breaker_state", provider="primary", state="closed") == 1
    assert value(states, "aigateway_breaker_state", provider="primary", state="open") == 0


def _ok() -> Reply:
    return Reply.replay(fixtures.exchange("anthropic", "text-sync"))


def _new_key(gateway) -> tuple[str, str]:
    from tests.policy.test_limits import make_key

    return make_key(gateway)


def _request_ids(gateway, key_id: str, n: int) -> list[str]:
    import time

    deadline = time.monotonic() + 5
    while True:
        rows = gateway.ledger_rows("key_id = ?", (key_id,))
        if len(rows) >= n or time.monotonic() > deadline:
            assert len(rows) == n
            return [r["request_id"] for r in rows]
        time.sleep(0.05)


def test_the_chat_completions_door_is_counted_too(gateway, upstream):
    key_id, secret = _new_key(gateway)
    ex = fixtures.exchange("openai-chat", "text-sync")
    upstream.expect(Reply.replay(ex))
    body = ex.request_json()
    oai = openai.OpenAI(base_url=gateway.url + "/v1", api_key=secret, max_retries=0)
    done = oai.chat.completions.create(**{**body, "model": "openai/" + body["model"]})
    m = scrape(gateway, ADMIN_KEY)
    requests = m["aigateway_requests"]
    assert value(requests, "aigateway_requests_total", key=key_id, endpoint="chat_completions", status="200") == 1
    output = value(m["aigateway_tokens"], "aigateway_tokens_total", key=key_id, type="output")
    assert done.usage is not None and output == done.usage.completion_tokens > 0
