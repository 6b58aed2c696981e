"""count_tokens, models, health, the HEAD probe, and Claude Code's real requests."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support import fixtures
from tests.support.stream_grammar import validate_stream
from tests.support.upstream import Reply


def test_count_tokens_passes_through(client, direct, upstream, gateway):
    ex = fixtures.exchange("anthropic", "count-tokens", 1)
    body = ex.request_json()
    upstream.expect(Reply.replay(ex), Reply.replay(ex))
    params = {k: v for k, v in body.items() if k != "model"}
    via = client.beta.messages.count_tokens(model="anthropic/" + body["model"], **params)
    straight = direct.beta.messages.count_tokens(model=body["model"], **params)
    assert via == straight and via.input_tokens == json.loads(ex.response_bytes())["input_tokens"]
    gw_req, direct_req = upstream.received
    assert gw_req.path_qs == direct_req.path_qs
    assert gw_req.path_qs.startswith("/v1/messages/count_tokens")
    assert gw_req.body == direct_req.body
    assert gw_req.headers["x-api-key"] == UPSTREAM_KEY


def test_count_tokens_upstream_404_unchanged(gateway, api_key, upstream):
    ex = fixtures.exchange("anthropic", "error-404-count-tokens")
    upstream.expect(Reply.replay(ex))
    body = ex.request_json()
    resp = httpx.post(
        gateway.url + ex.path_and_query,
        json={**body, "model": "anthropic/" + body["model"]},
        headers={"x-api-key": api_key},
    )
    assert resp.status_code == 404 and resp.content == ex.response_bytes()


def test_count_tokens_needs_a_key_and_a_model(gateway, api_key):
    assert httpx.post(gateway.url + "/v1/messages/count_tokens?beta=true", json={}).status_code == 401
    resp = httpx.post(gateway.url + "/v1/messages/count_tokens", json={"messages": []}, headers={"x-api-key": api_key})
    assert resp.status_code == 400 and resp.json()["error"]["message"].startswith("model:")


def test_models_list_and_get(client):
    page = client.models.list(limit=1000)
    ids = [m.id for m in page.data]
    assert "anthropic/claude-sonnet-4.5" in ids
    assert all(i.startswith("anthropic/") for i in ids if "claude" in i)  # Claude Code keeps ids starting so
    model = client.models.retrieve("anthropic/claude-sonnet-4.5")
    assert model.display_name == "Claude Sonnet 4.5" and model.type == "model"
    assert model.created_at.year == 2025


def test_models_pagination(client):
    everything = [m.id for m in client.models.list(limit=1000).data]
    paged = [m.id for m in client.models.list(limit=3)]  # the SDK follows after_id pages
    assert paged == everything and len(everything) > 3
    first = client.models.list(limit=2)
    assert first.has_more and first.last_id == everything[1]
    back = client.models.list(limit=2, before_id=everything[3])
    assert [m.id for m in back.data] == everything[1:3]


def test_models_errors(gateway, api_key):
    h = {"x-api-key": api_key}
    assert httpx.get(gateway.url + "/v1/models").status_code == 401
    missing = httpx.get(gateway.url + "/v1/models/anthropic/claude-nope", headers=h)
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found_error"
    bad = httpx.get(gateway.url + "/v1/models?limit=0", headers=h)
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("limit:")


def test_health_and_head_probe(gateway):
    health = httpx.get(gateway.url + "/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.headers["request-id"].startswith("req_")
    head = httpx.head(gateway.url + "/")
    assert head.status_code == 200 and head.headers["request-id"].startswith("req_")


@pytest.mark.parametrize(
    "name",
    [
        "claude-code-sonnet-first-turn",
        "claude-code-unknown-model-first-turn",
        "claude-code-unknown-model-tool-result-turn",
    ],
)
def test_claude_code_requests_forward_unchanged(name, gateway, api_key, upstream):
    """Claude Code's real requests (88 KB, betas, thinking, cache_control) reach Anthropic as sent."""
    captured = fixtures.claude_code_request(name)
    body = json.dumps(captured["body"]).encode()
    model = captured["body"]["model"]
    if not model.startswith("anthropic/"):  # the unknown-model turns: send them to Anthropic too
        body = body.replace(json.dumps(model).encode(), b'"anthropic/claude-sonnet-4-5"', 1)
        model = "anthropic/claude-sonnet-4-5"
    headers = {k: v for k, v in captured["headers"].items() if k.lower() not in ("authorization", "x-api-key")}
    headers["Authorization"] = f"Bearer {api_key}"
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-stream")))
    resp = httpx.post(f"{gateway.url}{captured['path']}?{captured['query']}", content=body, headers=headers, timeout=30)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    validate_stream(resp.content)
    got = upstream.received[0]
    assert got.path_qs == "/v1/messages?beta=true"
    assert got.body == body.replace(json.dumps(model).encode(), b'"claude-sonnet-4-5"', 1)
    assert got.headers["anthropic-beta"] == captured["headers"]["anthropic-beta"]
    assert got.headers["anthropic-version"] == captured["headers"]["anthropic-version"]
    assert api_key not in json.dumps(got.headers)


def test_base_url_with_a_path_prefix(client, upstream):
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    client.messages.create(model="proxied/claude-sonnet-4-0", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert upstream.received[0].path_qs == "/corp/anthropic/v1/messages"
    assert json.loads(upstream.received[0].body)["model"] == "claude-sonnet-4-0"


def test_success_names_the_route_and_the_upstream_request(client, upstream):
    ex = fixtures.exchange("anthropic", "text-sync")
    upstream.expect(Reply.replay(ex))
    raw = client.messages.with_raw_response.create(
        model="anthropic/claude-sonnet-4.5", max_tokens=8, messages=[{"role": "user", "content": "x"}]
    )
    assert raw.headers["request-id"].startswith("req_") and raw.request_id == raw.headers["request-id"]
    assert raw.headers["x-aigateway-provider"] == "anthropic"
    assert raw.headers["x-aigateway-upstream-model"] == "claude-sonnet-4-5"
    assert raw.headers["x-upstream-request-id"] == ex.response_headers["request-id"]
