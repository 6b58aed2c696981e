"""The SSE relay: incremental, whole events only, honest about failures, cancelled with its client."""

from __future__ import annotations

import json
import threading
import time

import anthropic
import httpx
import pytest

from tests.support import fixtures
from tests.support.gateway import leave_mid_stream
from tests.support.stream_grammar import validate_stream
from tests.support.upstream import Reply


def text_stream() -> fixtures.Exchange:
    return fixtures.exchange("anthropic", "text-stream")


def stream_body() -> dict:
    body = text_stream().request_json()
    return {**body, "model": "anthropic/" + body["model"]}


def headers(api_key: str) -> dict[str, str]:
    return {"x-api-key": api_key, "anthropic-version": "2023-06-01", "content-type": "application/json"}


def first_content_len(sse: bytes) -> int:
    """Up to the end of the first content-bearing event: the commit point (DESIGN.md), before
    which the gateway holds a stream so that a failure can still go to another attempt."""
    return sse.index(b"\n\n", sse.index(b"event: content_block_start")) + 2


def test_first_content_arrives_while_upstream_holds_the_rest(gateway, api_key, upstream):
    sse = text_stream().response_bytes()
    reply = Reply.replay(text_stream(), chunk_size=first_content_len(sse))
    reply.hold_after = 1
    upstream.expect(reply)
    got = b""
    with httpx.stream(
        "POST", gateway.url + "/v1/messages", json=stream_body(), headers=headers(api_key), timeout=10
    ) as resp:
        chunks = resp.iter_raw()
        while b"event: content_block_start" not in got or not got.endswith(b"\n\n"):
            got += next(chunks)
        # The upstream still holds everything after the first content, and we already have it.
        assert not reply.release.is_set()
        assert got == sse[: first_content_len(sse)]
        reply.release.set()
        for chunk in chunks:
            got += chunk
    assert got == sse
    validate_stream(got)


def test_client_disconnect_closes_upstream_and_is_recorded(gateway, api_key, upstream):
    sse = text_stream().response_bytes()
    reply = Reply.replay(text_stream(), chunk_size=first_content_len(sse))
    reply.hold_after = 1
    (served,) = upstream.expect(reply)
    body = json.dumps(stream_body()).encode()
    row = leave_mid_stream(gateway, served, "/v1/messages", f"x-api-key: {api_key}", body, b"event: message_start")
    assert row["input_tokens"] == 17  # usage seen in message_start before the client left


def test_truncated_upstream_stream_ends_with_error_event(gateway, api_key, upstream, client):
    sse = text_stream().response_bytes()
    cut = sse.index(b"event: content_block_stop") + 10  # in the middle of an event
    upstream.expect(Reply(200, sse[:cut], {"content-type": text_stream().content_type}, chunk_size=50))
    resp = httpx.post(gateway.url + "/v1/messages", json=stream_body(), headers=headers(api_key), timeout=10)
    whole_events = sse[: sse.rindex(b"\n\n", 0, cut) + 2]
    assert resp.content.startswith(whole_events)
    tail = resp.content[len(whole_events) :]
    assert tail.startswith(b"event: error\ndata: ")
    error = json.loads(tail.split(b"data: ", 1)[1])
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert "'anthropic'" in error["error"]["message"]
    assert tail.endswith(b"\n\n") and tail.count(b"event:") == 1
    assert validate_stream(resp.content)[-1][0] == "error"  # a well-formed stream that ends in error

    upstream.expect(Reply(200, sse[:cut], {"content-type": text_stream().content_type}, chunk_size=50))
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        client.messages.stream(
            model="anthropic/claude-sonnet-4-0", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as s,
    ):
        s.get_final_message()
    assert "before message_stop" in str(info.value)
    row = gateway.ledger_row(info.value.request_id)
    assert row["error_type"] == "api_error" and row["status"] == 502


def test_upstream_stream_error_event_is_relayed_and_recorded(gateway, api_key, upstream):
    sse = text_stream().response_bytes()
    head = sse[: sse.index(b"event: content_block_stop")]
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    upstream.expect(Reply(200, head + error, {"content-type": text_stream().content_type}, chunk_size=64))
    resp = httpx.post(gateway.url + "/v1/messages", json=stream_body(), headers=headers(api_key), timeout=10)
    assert resp.content == head + error  # relayed as is, nothing added after it
    validate_stream(resp.content)
    row = gateway.ledger_row(resp.headers["request-id"])
    assert row["error_type"] == "overloaded_error"
    assert row["input_tokens"] == 17


def test_streams_are_independent(gateway, api_key, upstream):
    """One held stream does not delay another one."""
    sse = text_stream().response_bytes()
    slow = Reply.replay(text_stream(), chunk_size=first_content_len(sse))
    slow.hold_after = 1
    upstream.expect(slow)
    done = threading.Event()

    def slow_client() -> None:
        with httpx.stream(
            "POST", gateway.url + "/v1/messages", json=stream_body(), headers=headers(api_key), timeout=20
        ) as r:
            for _ in r.iter_raw():
                pass
        done.set()

    t = threading.Thread(target=slow_client)
    t.start()
    deadline = time.monotonic() + 5
    while len(upstream.received) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    upstream.expect(Reply.replay(text_stream()))
    resp = httpx.post(gateway.url + "/v1/messages", json=stream_body(), headers=headers(api_key), timeout=5)
    assert resp.content == sse
    validate_stream(resp.content)
    assert not done.is_set()
    slow.release.set()
    t.join(10)
    assert done.is_set()
