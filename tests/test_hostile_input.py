"""Input an attacker (or a broken client) sends: a 4xx in the door's envelope before any upstream
is called, never a 500 or an empty reply; the ledger row says what the client got; a refused
credential is named for whose it is; what the gateway forwards stays within each server's limits."""

from __future__ import annotations

import json
from types import SimpleNamespace

import httpx
import pytest

from aigateway.asgi import Request
from aigateway.observability.metrics import Metrics
from aigateway.pipeline.accounting import accounted
from tests.conftest import ADMIN_KEY
from tests.dashboard.test_api import signed_in
from tests.support import fixtures
from tests.support.upstream import Reply

SYNC = fixtures.Later("anthropic", "text-sync")
STREAM = fixtures.Later("anthropic", "text-stream")
OAI = fixtures.Later("openai-chat", "text-sync")
PROMPT = [{"role": "user", "content": "Hello"}]
DEEP = b"[" * 10_000 + b"]" * 10_000


def post(gateway, path: str, key: str, body: object = None, *, content: bytes | None = None) -> httpx.Response:
    data = content if content is not None else json.dumps(body).encode()
    headers = {"x-api-key": key, "content-type": "application/json"}
    return httpx.post(gateway.url + path, content=data, headers=headers, timeout=30)


def assert_refused(gateway, resp: httpx.Response, status: int, error_type: str, *, openai: bool = False) -> dict:
    """A JSON error in the door's envelope, and a ledger row that says the same."""
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["type"] == ("invalid_request_error" if openai and status == 400 else error_type)
    row = gateway.ledger_row(resp.headers["request-id"])
    assert (row["status"], row["error_type"]) == (status, error_type)
    return error


def test_negative_max_tokens_is_a_400_before_any_upstream(gateway, api_key, upstream):
    for path, body in [
        ("/v1/messages", {"model": "anthropic/claude-sonnet-4", "max_tokens": -1_000_000_000, "messages": PROMPT}),
        ("/v1/messages", {"model": "anthropic/claude-sonnet-4", "max_tokens": 2**63, "messages": PROMPT}),
        ("/v1/chat/completions", {"model": "openai/gpt-4o", "max_tokens": -5, "messages": PROMPT}),
        ("/v1/chat/completions", {"model": "openai/gpt-4o", "max_completion_tokens": 0, "messages": PROMPT}),
        ("/v1/chat/completions", {"model": "openai/gpt-4o", "max_tokens": True, "messages": PROMPT}),
    ]:
        resp = post(gateway, path, api_key, body)
        error = assert_refused(gateway, resp, 400, "invalid_request_error", openai="chat" in path)
        assert "max_" in error["message"]
    assert upstream.received == []


@pytest.mark.parametrize("model", ["anthropic/claude-sonnet-4\r\nx-injected: 1", "openai/gpt-4o\n", "openai/gpt\x00"])
def test_control_characters_in_the_model_id_are_a_400_before_any_upstream(gateway, api_key, upstream, model):
    messages = post(gateway, "/v1/messages", api_key, {"model": model, "max_tokens": 16, "messages": PROMPT})
    assert "control characters" in assert_refused(gateway, messages, 400, "invalid_request_error")["message"]
    chat = post(gateway, "/v1/chat/completions", api_key, {"model": model, "messages": PROMPT})
    assert_refused(gateway, chat, 400, "invalid_request_error", openai=True)
    assert upstream.received == []


def test_a_dropped_field_name_with_control_characters_is_named_escaped(gateway, api_key, upstream):
    """An unknown field is dropped and named in x-aigateway-dropped; naming it never fails the answer."""
    upstream.expect(Reply.replay(OAI))
    body = {"model": "openai/gpt-4o", "max_tokens": 16, "messages": PROMPT, "evil\r\nx-injected: 1\x00": 1}
    resp = post(gateway, "/v1/messages", api_key, body)
    assert resp.status_code == 200 and resp.json()["type"] == "message"
    assert resp.headers["x-aigateway-dropped"] == "evil\\r\\nx-injected: 1\\x00"
    assert "x-injected" not in resp.headers
    row = gateway.ledger_row(resp.headers["request-id"])
    assert (row["status"], row["error_type"]) == (200, None)


@pytest.mark.parametrize(
    ("path", "openai"),
    [("/v1/messages", False), ("/v1/messages/count_tokens", False), ("/v1/chat/completions", True),
     ("/v1/embeddings", True)],
)  # fmt: skip
def test_deeply_nested_json_is_a_400(gateway, api_key, upstream, path, openai):
    for content in (
        DEEP,
        b'{"model":"anthropic/claude-sonnet-4","max_tokens":5,"messages":' + DEEP + b"}",
        b'{"model":"openai/gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"x"}],"x":' + b"[" * 100
        + b"]" * 100 + b"}",
        b'{"model":"openai/gpt-4o","max_tokens":5,"messages":[],"providerOptions":' + b"[" * 100 + b"]" * 100 + b"}",
    ):  # fmt: skip
        resp = post(gateway, path, api_key, content=content)
        assert_refused(gateway, resp, 400, "invalid_request_error", openai=openai)
    assert upstream.received == []


def test_deeply_nested_json_is_a_400_on_the_admin_api(gateway):
    resp = httpx.post(
        gateway.url + "/admin/keys", content=DEEP, headers={"x-api-key": ADMIN_KEY, "content-type": "application/json"}
    )
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"
    nested = json.dumps({"name": "deep", "tags": json.loads("[" * 100 + "]" * 100)}).encode()
    resp = httpx.post(gateway.url + "/admin/keys", content=nested, headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 400 and "max_json_depth" in resp.json()["error"]["message"]
    dashboard = signed_in(gateway)
    resp = dashboard.post("/dashboard/api/keys", content=DEEP, headers={"content-type": "application/json"})
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"


CHAT_MISTYPED = [
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": value}]}]}
    for value in ("https://x.test/a.png", 5, ["u"], True)
] + [
    {"messages": PROMPT, "tools": [{"type": "function", "function": {"name": "f"}}],
     "tool_choice": {"type": "function", "function": "f"}},
    {"messages": PROMPT, "response_format": {"type": "json_schema", "json_schema": 5}},
    {"messages": PROMPT, "response_format": "json"},
    {"messages": PROMPT, "tools": [{"type": "function", "function": {"name": "f", "parameters": [1]}}]},
    {"messages": PROMPT, "tools": [{"type": "function", "function": {"name": "f", "description": {}}}]},
    {"messages": [{"role": "user", "content": [{"type": "file", "file": "x"}]}]},
]  # fmt: skip


@pytest.mark.parametrize("fields", CHAT_MISTYPED)
@pytest.mark.parametrize("model", ["anthropic/claude-sonnet-4", "gemini/gemini-2.5-flash"])
def test_mistyped_chat_fields_are_a_400_naming_the_field(gateway, api_key, upstream, fields, model):
    resp = post(gateway, "/v1/chat/completions", api_key, {"model": model, **fields})
    error = assert_refused(gateway, resp, 400, "invalid_request_error", openai=True)
    assert error["param"] or ":" in error["message"]
    assert upstream.received == []


@pytest.mark.parametrize("value", ["nan", "-1e308", "inf", "1e400", "99999999999999"])
def test_dashboard_and_usage_refuse_times_out_of_range(gateway, api_key, value):
    dashboard = signed_in(gateway)
    resp = dashboard.get(f"/dashboard/api/summary?from={value}")
    assert resp.status_code == 400 and "from" in resp.json()["error"]["message"]
    resp = dashboard.get(f"/dashboard/api/requests?to={value}")
    assert resp.status_code == 400
    resp = httpx.get(gateway.url + f"/v1/usage?from={value}", headers={"x-api-key": api_key})
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"


def test_stream_error_event_is_recorded_with_the_status_of_that_error(gateway, api_key, upstream):
    sse = STREAM.response_bytes()
    head = sse[: sse.index(b"event: content_block_stop")]
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    upstream.expect(Reply(200, head + error, {"content-type": STREAM.content_type}, chunk_size=64))
    body = {"model": "anthropic/claude-sonnet-4", "max_tokens": 16, "messages": PROMPT, "stream": True}
    resp = post(gateway, "/v1/messages", api_key, body)
    assert resp.status_code == 200 and resp.content.endswith(error)
    row = gateway.ledger_row(resp.headers["request-id"])
    assert (row["status"], row["error_type"]) == (529, "overloaded_error")  # as a cut stream is 502 api_error


# As an Anthropic-speaking proxy may write it: spaces, another key order.
OVERLOADED = json.dumps({"type": "error", "error": {"message": "Overloaded", "type": "overloaded_error"}}).encode()


@pytest.mark.parametrize("body", [OVERLOADED, b"<html>overloaded</html>"])
@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions"])
def test_overloaded_upstream_is_recorded_as_overloaded(gateway, api_key, upstream, path, body):
    upstream.expect(Reply(529, body, {"content-type": "application/json"}))
    body = {"model": "anthropic/claude-sonnet-4", "max_tokens": 16, "messages": PROMPT}
    resp = post(gateway, path, api_key, body)
    assert resp.status_code == (529 if path == "/v1/messages" else 503)
    row = gateway.ledger_row(resp.headers["request-id"])
    assert (row["status"], row["error_type"]) == (529, "overloaded_error")


REFUSED = b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'


@pytest.mark.parametrize("status", [401, 403])
def test_anthropic_refusing_the_gateways_credential_is_a_502_naming_the_config_key(gateway, api_key, upstream, status):
    upstream.expect(Reply(status, REFUSED, {"content-type": "application/json"}))
    body = {"model": "anthropic/claude-sonnet-4", "max_tokens": 16, "messages": PROMPT}
    resp = post(gateway, "/v1/messages", api_key, body)
    error = assert_refused(gateway, resp, 502, "api_error")
    assert "providers.anthropic.api_key" in error["message"] and "'anthropic'" in error["message"]
    assert resp.headers["x-should-retry"] == "false"


def test_anthropic_refusing_a_byok_credential_is_the_clients_own_401(gateway, api_key, upstream):
    upstream.expect(Reply(401, REFUSED, {"content-type": "application/json"}))
    byok = {"gateway": {"byok": {"anthropic": [{"apiKey": "sk-ant-client-own-key-000"}]}}}
    body = {"model": "anthropic/claude-sonnet-4", "max_tokens": 16, "messages": PROMPT, "providerOptions": byok}
    resp = post(gateway, "/v1/messages", api_key, body)
    assert resp.status_code == 401 and resp.content == REFUSED
    assert upstream.received[0].headers["x-api-key"] == "sk-ant-client-own-key-000"


@pytest.mark.recordings
@pytest.mark.parametrize(
    ("provider", "model", "recording"),
    [
        ("openai", "openai/gpt-4o", ("openai-chat", "error-401-auth")),
        ("gemini", "gemini/gemini-2.5-flash", ("gemini", "error-400-api-key")),
    ],
)
def test_a_translated_provider_refusing_a_byok_credential_is_the_clients_own_401(
    gateway, api_key, upstream, provider, model, recording
):
    """Through the core too: the request's own key refused is its 401, not the gateway's 502."""
    upstream.expect(Reply.replay(fixtures.exchange(*recording)))
    byok = {"gateway": {"byok": {provider: [{"apiKey": "client-own-key-000"}]}}}
    body = {"model": model, "max_tokens": 16, "messages": PROMPT, "providerOptions": byok}
    resp = post(gateway, "/v1/messages", api_key, body)
    error = assert_refused(gateway, resp, 401, "authentication_error")
    assert "byok" in error["message"] and "client-own-key" not in resp.text
    assert "providers." not in error["message"]  # not an operator's setting to fix


def test_claude_code_user_id_reaches_openai_as_a_stable_short_user(gateway, api_key, upstream):
    body = fixtures.claude_code_request("claude-code-sonnet-first-turn")["body"]
    assert len(body["metadata"]["user_id"]) > 64
    sent = []
    for user_id in (body["metadata"]["user_id"], body["metadata"]["user_id"], body["metadata"]["user_id"] + "2"):
        upstream.reset()
        upstream.expect(Reply.replay(OAI))
        request = {**body, "model": "openai/gpt-4o", "stream": False, "metadata": {"user_id": user_id}}
        resp = post(gateway, "/v1/messages", api_key, request)
        assert resp.status_code == 200, resp.text
        sent.append(json.loads(upstream.received[0].body)["user"])
    assert all(len(user) <= 64 for user in sent)
    assert sent[0] == sent[1] != sent[2]  # stable per end user, distinct between them
    assert body["metadata"]["user_id"][:20] not in sent[0]


def test_a_failure_of_the_gateway_itself_is_recorded_as_the_500_the_client_gets():
    """app.py answers any exception that is not a GatewayError with a 500: the row says 500 too."""
    rows: list = []
    gw = SimpleNamespace(
        metrics=Metrics(),
        admission=SimpleNamespace(cost=lambda route, usage: None),
        ledger=SimpleNamespace(record=rows.append),
        tracer=None,
    )
    req = Request({"method": "POST", "path": "/v1/messages", "headers": []}, None, None)  # type: ignore[arg-type]
    key = SimpleNamespace(id="k1", name="k")
    with pytest.raises(AttributeError), accounted(gw, req, key, "messages"):  # type: ignore[arg-type]
        raise AttributeError("a bug")
    [row] = rows
    assert (row.status, row.error_type) == (500, "api_error")
