"""Each fault the harness can inject, streamed and not: what the Anthropic SDK sees, how many
upstream calls were made, and the ledger row."""

from __future__ import annotations

import dataclasses
import json
import time

import anthropic
import httpx
import pytest

from tests.support import fixtures
from tests.support.upstream import Reply


def text_sync() -> fixtures.Exchange:
    return fixtures.exchange("anthropic", "text-sync")


def text_stream() -> fixtures.Exchange:
    return fixtures.exchange("anthropic", "text-stream")


PROMPT = [{"role": "user", "content": "What is 4200 + 42?"}]


def ok(stream: bool) -> Reply:
    return Reply.replay(text_stream() if stream else text_sync())


def call(client: anthropic.Anthropic, model: str, stream: bool, **extra):
    if stream:
        with client.messages.stream(model=model, max_tokens=100, messages=PROMPT, **extra) as s:
            return s.get_final_message(), s.response.headers
    raw = client.messages.with_raw_response.create(model=model, max_tokens=100, messages=PROMPT, **extra)
    return raw.parse(), raw.headers


def paths(upstream) -> list[str]:
    return [r.path_qs.split("/v1/")[0].strip("/") for r in upstream.received]


def assert_row(router, request_id: str, *, provider: str, status: int, attempts: int, streamed: bool) -> None:
    """The ledger row tells the same story as the responses: who served it, after how many calls."""
    row = router.ledger_row(request_id)
    assert (row["provider"], row["status"], row["attempts"], row["streamed"]) == (provider, status, attempts, streamed)


def text_of(message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


def expected_text(stream: bool) -> str:
    return "4200 + 42 = 4242" if stream else json.loads(text_sync().response_bytes())["content"][0]["text"]


both = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])


@both
def test_connection_reset_is_retried_then_fails_over(stream, rclient, router, upstream):
    upstream.expect(Reply(reset=True), Reply(reset=True), Reply(reset=True), ok(stream))
    message, headers = call(rclient, "test/sonnet", stream)
    assert text_of(message) == expected_text(stream)
    assert paths(upstream) == ["primary"] * 3 + ["secondary"]
    assert headers["x-aigateway-attempts"] == "4"
    assert headers["x-aigateway-provider"] == "secondary"
    assert_row(router, headers["request-id"], provider="secondary", status=200, attempts=4, streamed=stream)


@both
def test_529_twice_then_the_same_provider_answers(stream, rclient, router, upstream):
    overloaded = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    busy = Reply(529, overloaded, {"content-type": "application/json", "x-should-retry": "true"})
    upstream.expect(busy, busy, ok(stream))
    message, headers = call(rclient, "test/sonnet", stream)
    assert text_of(message) == expected_text(stream)
    assert paths(upstream) == ["primary"] * 3
    assert headers["x-aigateway-attempts"] == "3"
    assert_row(router, headers["request-id"], provider="primary", status=200, attempts=3, streamed=stream)


@both
def test_529_on_every_try_moves_to_the_next_provider_and_last_error_reaches_the_client(
    stream, rclient, router, upstream
):
    overloaded = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    busy = Reply(529, overloaded, {"content-type": "application/json"})
    upstream.expect(*[busy] * 6)
    with pytest.raises(anthropic.APIStatusError) as info:
        call(rclient, "test/sonnet", stream)
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"
    assert paths(upstream) == ["primary"] * 3 + ["secondary"] * 3
    rid = info.value.response.headers["request-id"]
    assert_row(router, rid, provider="secondary", status=529, attempts=6, streamed=stream)


@both
def test_stall_before_the_first_byte_fails_over_after_the_first_byte_timeout(stream, rclient, router, upstream):
    upstream.expect(Reply(stall=3.0, body=b"{}", headers={"content-type": "application/json"}), ok(stream))
    started = time.monotonic()
    message, headers = call(rclient, "test/sonnet", stream)
    assert text_of(message) == expected_text(stream)
    assert paths(upstream) == ["primary", "secondary"]  # a slow start moves on at once
    assert time.monotonic() - started < 2.5
    assert_row(router, headers["request-id"], provider="secondary", status=200, attempts=2, streamed=stream)


def test_stall_mid_stream_after_the_first_content_ends_in_one_error_event(router, router_key, upstream):
    sse = text_stream().response_bytes()
    first = sse.index(b"\n\n", sse.index(b"content_block_delta")) + 2
    upstream.expect(dataclasses.replace(Reply.replay(text_stream(), chunk_size=first), pause_after=1, pause=4.0))
    body = {"model": "test/sonnet", "max_tokens": 100, "messages": PROMPT, "stream": True}
    resp = httpx.post(router.url + "/v1/messages", json=body, headers={"x-api-key": router_key}, timeout=10)
    assert resp.status_code == 200
    assert resp.content.startswith(sse[:first])
    tail = resp.content[first:]
    assert tail.count(b"event: error") == 1 and tail.startswith(b"event: error")
    assert b"'primary' timed out" in tail
    assert paths(upstream) == ["primary"]  # after the commit point nothing is retried
    row = router.ledger_row(resp.headers["request-id"])
    assert (row["status"], row["error_type"], row["input_tokens"]) == (504, "api_error", 17)


@both
def test_malformed_json_is_retried(stream, rclient, router, upstream):
    bad = b'event: message_start\ndata: {"type":"message_start","message":{"id":\n\n' if stream else b'{"id": "msg_'
    content_type = "text/event-stream" if stream else "application/json"
    upstream.expect(Reply(200, bad, {"content-type": content_type}), ok(stream))
    message, headers = call(rclient, "test/sonnet", stream)
    assert text_of(message) == expected_text(stream)
    assert paths(upstream) == ["primary", "primary"]
    assert_row(router, headers["request-id"], provider="primary", status=200, attempts=2, streamed=stream)


def test_stream_cut_before_any_content_is_retried(rclient, router, upstream):
    sse = text_stream().response_bytes()
    cut = sse[: sse.index(b"event: content_block_start")]
    upstream.expect(Reply(200, cut, {"content-type": "text/event-stream"}), ok(True))
    message, headers = call(rclient, "test/sonnet", True)
    assert text_of(message) == expected_text(True)
    assert headers["x-aigateway-attempts"] == "2"
    assert_row(router, headers["request-id"], provider="primary", status=200, attempts=2, streamed=True)


def test_overloaded_event_before_any_content_is_retried(rclient, router, upstream):
    sse = text_stream().response_bytes()
    head = sse[: sse.index(b"event: content_block_start")]
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    upstream.expect(Reply(200, head + error, {"content-type": "text/event-stream"}), ok(True))
    message, headers = call(rclient, "test/sonnet", True)
    assert text_of(message) == expected_text(True)
    assert paths(upstream) == ["primary", "primary"]
    assert_row(router, headers["request-id"], provider="primary", status=200, attempts=2, streamed=True)


def test_overloaded_event_before_content_on_every_try_is_a_529_response(rclient, router, upstream):
    sse = text_stream().response_bytes()
    head = sse[: sse.index(b"event: content_block_start")]
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    upstream.expect(*[Reply(200, head + error, {"content-type": "text/event-stream"})] * 6)
    with pytest.raises(anthropic.APIStatusError) as info:
        call(rclient, "test/sonnet", True)
    assert info.value.status_code == 529  # not a 200 with half an answer
    assert info.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    rid = info.value.response.headers["request-id"]
    assert_row(router, rid, provider="secondary", status=529, attempts=6, streamed=True)


def test_error_event_after_content_is_relayed_not_retried(router, router_key, upstream):
    sse = text_stream().response_bytes()
    head = sse[: sse.index(b"event: content_block_stop")]
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    upstream.expect(Reply(200, head + error, {"content-type": "text/event-stream"}, chunk_size=64))
    body = {"model": "test/sonnet", "max_tokens": 100, "messages": PROMPT, "stream": True}
    resp = httpx.post(router.url + "/v1/messages", json=body, headers={"x-api-key": router_key}, timeout=10)
    assert resp.content == head + error
    assert paths(upstream) == ["primary"]
    row = router.ledger_row(resp.headers["request-id"])
    assert row["error_type"] == "overloaded_error" and row["input_tokens"] == 17


@both
def test_connection_refused_moves_on_at_once(stream, rclient, router, upstream):
    upstream.expect(ok(stream))
    message, headers = call(rclient, "test/everywhere", stream)
    assert text_of(message) == expected_text(stream)
    assert headers["x-aigateway-attempts"] == "2"  # dead (refused, not retried), then primary
    assert paths(upstream) == ["primary"]
    assert_row(router, headers["request-id"], provider="primary", status=200, attempts=2, streamed=stream)


def test_client_errors_are_not_retried(rclient, router, upstream):
    bad = b'{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}'
    upstream.expect(Reply(400, bad, {"content-type": "application/json"}))
    with pytest.raises(anthropic.BadRequestError) as info:
        call(rclient, "test/sonnet", False)
    assert info.value.body["error"]["message"] == "max_tokens: too large"
    assert paths(upstream) == ["primary"]
    rid = info.value.response.headers["request-id"]
    assert_row(router, rid, provider="primary", status=400, attempts=1, streamed=False)


def test_retry_after_ms_is_honoured(rclient, upstream):
    limited = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    upstream.expect(Reply(429, limited, {"content-type": "application/json", "retry-after-ms": "400"}), ok(False))
    started = time.monotonic()
    message, _ = call(rclient, "primary/claude-sonnet-4-0", False)  # one provider, one credential
    assert text_of(message) == expected_text(False)
    assert time.monotonic() - started >= 0.4
    assert paths(upstream) == ["primary", "primary"]
