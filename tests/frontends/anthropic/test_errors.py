"""Every error of the Messages door: Anthropic's envelope, the right status, a request-id, no traceback."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import pytest

from tests.support import fixtures
from tests.support.upstream import Reply

BODY = {"model": "anthropic/claude-sonnet-4-0", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]}


def post(gateway, body: bytes | dict, *, key: str | None, headers: dict | None = None, path="/v1/messages"):
    h = {"content-type": "application/json", "anthropic-version": "2023-06-01", **(headers or {})}
    if key is not None:
        h["x-api-key"] = key
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(gateway.url + path, content=content, headers=h, timeout=30)


def assert_envelope(resp: httpx.Response, status: int, error_type: str, *, mentions: str = "") -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["request-id"].startswith("req_")
    doc = resp.json()
    assert doc["type"] == "error"
    assert doc["error"]["type"] == error_type
    assert mentions in doc["error"]["message"]
    assert "Traceback" not in resp.text
    return doc["error"]["message"]


def test_missing_key_is_401(gateway):
    assert_envelope(post(gateway, BODY, key=None), 401, "authentication_error", mentions="Missing API key")


def test_bad_key_is_401(gateway, upstream):
    assert_envelope(post(gateway, BODY, key="agw_not-a-real-key"), 401, "authentication_error")
    assert upstream.received == []


def test_revoked_key_is_rejected(gateway, upstream):
    key = gateway.create_key("to-revoke")
    key_id = next(line for line in gateway.cli("keys", "list").stdout.splitlines() if "to-revoke" in line).split()[0]
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    assert post(gateway, BODY, key=key).status_code == 200
    gateway.cli("keys", "revoke", key_id)
    deadline = time.monotonic() + 10
    while post(gateway, BODY, key=key).status_code != 401:
        assert time.monotonic() < deadline, "revocation not effective"
        time.sleep(0.2)


def test_bearer_token_is_accepted(gateway, api_key, upstream):
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    resp = post(gateway, BODY, key=None, headers={"authorization": f"Bearer {api_key}"})
    assert resp.status_code == 200
    # The gateway key never reaches the upstream; the provider key does.
    sent = upstream.received[0].headers
    assert api_key not in json.dumps(sent)
    assert "authorization" not in {k.lower() for k in sent}


def test_sdk_sees_authentication_error(gateway):
    bad = anthropic.Anthropic(base_url=gateway.url, api_key="agw_wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        bad.messages.create(**BODY)
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_malformed_json_is_400(gateway, api_key):
    assert_envelope(
        post(gateway, b'{"model": "anthropic/x", ', key=api_key),
        400,
        "invalid_request_error",
        mentions="not valid JSON",
    )


def test_non_object_body_is_400(gateway, api_key):
    assert_envelope(post(gateway, b"[1, 2]", key=api_key), 400, "invalid_request_error", mentions="JSON object")


@pytest.mark.parametrize("field", ["model", "max_tokens", "messages"])
def test_missing_required_field_is_named(gateway, api_key, field):
    body = {k: v for k, v in BODY.items() if k != field}
    msg = assert_envelope(post(gateway, body, key=api_key), 400, "invalid_request_error")
    assert msg.startswith(f"{field}:")


def test_wrong_type_is_named(gateway, api_key):
    msg = assert_envelope(post(gateway, {**BODY, "max_tokens": "many"}, key=api_key), 400, "invalid_request_error")
    assert msg.startswith("max_tokens:")


@pytest.mark.parametrize("model", ["claude-sonnet-4-0", "/claude", "anthropic/", ""])
def test_model_without_provider_is_400(gateway, api_key, model):
    msg = assert_envelope(post(gateway, {**BODY, "model": model}, key=api_key), 400, "invalid_request_error")
    assert msg.startswith("model:") and "provider/model" in msg


def test_unconfigured_provider_is_404(gateway, api_key, upstream):
    msg = assert_envelope(post(gateway, {**BODY, "model": "nosuch/gpt-9"}, key=api_key), 404, "not_found_error")
    assert "nosuch" in msg
    assert upstream.received == []


def test_uncatalogued_model_reaches_its_provider(gateway, api_key, upstream):
    """A model the catalog does not know is still sent; the provider's own 404 comes back."""
    ex = fixtures.exchange("anthropic", "error-404-model", 1)
    upstream.expect(Reply.replay(ex))
    body = ex.request_json()
    resp = post(gateway, {**body, "model": "anthropic/" + body["model"]}, key=api_key)
    assert resp.status_code == 404
    assert resp.content == ex.response_bytes()
    assert json.loads(upstream.received[0].body)["model"] == body["model"]


def test_body_over_limit_is_413(gateway, api_key, upstream):
    big = (
        b'{"model":"anthropic/claude-sonnet-4-0","max_tokens":1,"messages":[{"role":"user","content":"'
        + (b"x" * (33 * 1024 * 1024))
        + b'"}]}'
    )
    assert_envelope(post(gateway, big, key=api_key), 413, "request_too_large")
    assert upstream.received == []


@pytest.mark.parametrize("case", ["error-400-invalid-request", "error-404-model"])
def test_recorded_upstream_errors_pass_unchanged(gateway, api_key, upstream, case):
    ex = fixtures.exchange("anthropic", case, 1)
    upstream.expect(Reply.replay(ex))
    body = ex.request_json()
    resp = post(gateway, {**body, "model": "anthropic/" + body["model"]}, key=api_key, path=ex.path_and_query)
    assert resp.status_code == ex.status
    assert resp.content == ex.response_bytes()
    assert resp.headers["content-type"].startswith("application/json")  # even for stream: true
    assert resp.headers["request-id"].startswith("req_")
    if "request-id" in ex.response_headers:  # some recorders dropped it
        assert resp.headers["x-upstream-request-id"] == ex.response_headers["request-id"]


@pytest.mark.parametrize("case", ["error-401-auth", "error-401-auth-stream"])
def test_recorded_refusal_of_the_gateways_key_is_a_502_naming_the_config_key(gateway, api_key, upstream, case):
    """Anthropic's 401 is about the gateway's own credential: passed on, it would read as a bad
    gateway key (and Claude Code would retry it ten times)."""
    ex = fixtures.exchange("anthropic", case, 1)
    upstream.expect(Reply.replay(ex))
    body = ex.request_json()
    resp = post(gateway, {**body, "model": "anthropic/" + body["model"]}, key=api_key, path=ex.path_and_query)
    assert resp.status_code == 502 and resp.headers["x-should-retry"] == "false"
    error = resp.json()["error"]
    assert error["type"] == "api_error" and "providers.anthropic.api_key" in error["message"]


# Anthropic documents these envelopes (spec §6.1/6.2); no recording of them exists in the fixtures.
RATE_LIMITED = (
    b'{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has '
    b'exceeded your per-minute rate limit"},"request_id":"req_011CabcDEF"}'
)
OVERLOADED = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_0"}'


def test_upstream_429_keeps_retry_after(gateway, api_key, upstream, client):
    upstream.expect(
        Reply(429, RATE_LIMITED, {"content-type": "application/json", "retry-after": "17", "x-should-retry": "true"})
    )
    resp = post(gateway, BODY, key=api_key)
    assert resp.status_code == 429
    assert resp.content == RATE_LIMITED
    assert resp.headers["retry-after"] == "17"
    upstream.expect(Reply(429, RATE_LIMITED, {"content-type": "application/json", "retry-after": "17"}))
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(**BODY)
    assert info.value.response.headers["retry-after"] == "17"


def test_upstream_529_is_overloaded_for_the_sdk(gateway, upstream, client):
    upstream.expect(Reply(529, OVERLOADED, {"content-type": "application/json"}))
    with pytest.raises(anthropic.OverloadedError) as info:
        client.messages.create(**BODY)
    assert info.value.body == json.loads(OVERLOADED)


def test_unreachable_upstream_names_the_provider(gateway, api_key):
    msg = assert_envelope(post(gateway, {**BODY, "model": "deadend/claude-x"}, key=api_key), 502, "api_error")
    assert "'deadend'" in msg and "unreachable" in msg


def test_silent_upstream_times_out_with_the_provider_named(gateway, api_key, upstream):
    upstream.expect(Reply(200, b"{}", {"content-type": "application/json"}, stall=3))
    msg = assert_envelope(post(gateway, {**BODY, "model": "slowpoke/claude-x"}, key=api_key), 504, "api_error")
    assert "'slowpoke'" in msg and "timed out" in msg


def test_unknown_route_is_404_envelope(gateway, api_key):
    resp = httpx.get(gateway.url + "/v1/nothing-here", headers={"x-api-key": api_key})
    assert_envelope(resp, 404, "not_found_error")


def test_validation_errors_tell_sdks_not_to_retry(gateway, api_key):
    resp = post(gateway, {**BODY, "model": "nope"}, key=api_key)
    assert resp.headers["x-should-retry"] == "false"
