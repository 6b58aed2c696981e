"""Every recorded Anthropic scenario through the gateway equals the same call made straight."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support import fixtures
from tests.support.sdk import call, call_with_headers
from tests.support.stream_grammar import validate_stream
from tests.support.upstream import Reply

SUCCESSES = [
    ex
    for ex in fixtures.exchanges("anthropic")
    if ex.status == 200 and ex.path_and_query.startswith("/v1/messages") and "count_tokens" not in ex.url
]


@pytest.mark.parametrize("ex", SUCCESSES, ids=lambda ex: ex.name)
def test_sdk_final_message_equals_direct(ex, client, direct, upstream):
    body = ex.request_json()
    beta = "beta=true" in ex.url
    upstream.expect(Reply.replay(ex), Reply.replay(ex))
    via_gateway = call(client, body, model="anthropic/" + body["model"], beta=beta, stream=ex.stream)
    straight = call(direct, body, model=body["model"], beta=beta, stream=ex.stream)

    assert via_gateway.model_dump() == straight.model_dump()
    gw_req, direct_req = upstream.received
    # Only the model id was swapped, so the two upstream bodies are the same bytes.
    assert gw_req.body == direct_req.body
    assert gw_req.headers["x-api-key"] == UPSTREAM_KEY
    assert gw_req.headers.get("anthropic-version") == direct_req.headers.get("anthropic-version")
    assert gw_req.headers.get("anthropic-beta") == direct_req.headers.get("anthropic-beta")


@pytest.mark.parametrize("ex", SUCCESSES, ids=lambda ex: ex.name)
def test_raw_bytes_pass_both_ways_unchanged(ex, gateway, api_key, upstream):
    """The recorded request reaches the upstream byte for byte; its answer reaches us the same."""
    recorded = ex.request_bytes()
    model = ex.request_json()["model"].encode()
    sent = recorded.replace(b'"' + model + b'"', b'"anthropic/' + model + b'"', 1)
    assert sent != recorded
    upstream.expect(Reply.replay(ex))
    resp = httpx.post(
        gateway.url + ex.path_and_query,
        content=sent,
        timeout=30,
        headers={"x-api-key": api_key, "anthropic-version": "2023-06-01", "content-type": "application/json"},
    )
    assert resp.status_code == 200
    assert upstream.received[0].body == recorded
    assert upstream.received[0].path_qs == ex.path_and_query
    assert resp.content == ex.response_bytes()
    if ex.stream:
        validate_stream(resp.content)
    assert resp.headers["content-type"].startswith(ex.content_type.split(";")[0])
    assert resp.headers["request-id"].startswith("req_")


@pytest.mark.parametrize("ex", SUCCESSES, ids=lambda ex: ex.name)
def test_ledger_row_has_usage(ex, client, gateway, upstream):
    body = ex.request_json()
    upstream.expect(Reply.replay(ex))
    final, headers = call_with_headers(
        client, body, model="anthropic/" + body["model"], beta="beta=true" in ex.url, stream=ex.stream
    )
    row = gateway.ledger_row(headers["request-id"])
    usage = final.usage
    assert row["model"] == "anthropic/" + body["model"]
    assert row["provider"] == "anthropic"
    assert row["upstream_model"] == body["model"]
    assert row["endpoint"] == "messages"
    assert row["streamed"] == int(ex.stream)
    assert row["status"] == 200
    assert row["stop_reason"] == final.stop_reason
    assert row["input_tokens"] == usage.input_tokens
    assert row["output_tokens"] == usage.output_tokens
    assert row["cache_read_tokens"] == (usage.cache_read_input_tokens or 0)
    assert row["cache_write_tokens"] == (usage.cache_creation_input_tokens or 0)
    assert row["latency_ms"] > 0
    if ex.stream:
        assert 0 < row["ttft_ms"] <= row["latency_ms"]


def test_sdk_fixture_without_final_blank_line(client, direct, upstream):
    """The SDK's own stream fixture ends without a blank line; the last event still arrives."""
    sse = (fixtures.ROOT / "anthropic" / "tool-use-stream-sdk.response.sse").read_bytes()
    assert not sse.endswith(b"\n\n")
    headers = {"content-type": "text/event-stream; charset=utf-8"}
    upstream.expect(Reply(200, sse, headers, chunk_size=29), Reply(200, sse, headers, chunk_size=29))
    params = {"max_tokens": 64, "messages": [{"role": "user", "content": "weather?"}]}
    with client.messages.stream(model="anthropic/claude-sonnet-4-5", **params) as s:
        via_gateway = s.get_final_message()
    with direct.messages.stream(model="claude-sonnet-4-5", **params) as s:
        straight = s.get_final_message()
    assert via_gateway.model_dump() == straight.model_dump()
    assert via_gateway.content[-1].type == "tool_use" and via_gateway.content[-1].input


@pytest.mark.parametrize(
    ("case", "number"), [("thinking-stream", 2), ("thinking-sync-multiturn", 2), ("thinking-tool-use-sync", 2)]
)
def test_thinking_signature_reaches_upstream_byte_identical(case, number, gateway, api_key, upstream):
    """A replayed thinking block's signature must not be re-encoded on the way (invalid signature)."""
    ex = fixtures.exchange("anthropic", case, number)
    recorded = ex.request_bytes()
    signatures = [
        block["signature"]
        for message in ex.request_json()["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block.get("type") == "thinking"
    ]
    assert signatures
    model = ex.request_json()["model"].encode()
    upstream.expect(Reply.replay(ex))
    resp = httpx.post(
        gateway.url + ex.path_and_query,
        timeout=30,
        content=recorded.replace(b'"' + model + b'"', b'"anthropic/' + model + b'"', 1),
        headers={"x-api-key": api_key, "content-type": "application/json"},
    )
    assert resp.status_code == 200
    for signature in signatures:
        assert signature.encode() in upstream.received[0].body
    assert upstream.received[0].body == recorded
