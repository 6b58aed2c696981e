"""Streams on the Chat Completions door: a stream never just stops, a client that leaves
cancels the upstream at once, and the ledger records what happened."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.support.fixtures import exchange
from tests.support.gateway import leave_mid_stream
from tests.support.upstream import Reply

PROMPT = [{"role": "user", "content": "Hello"}]
CASES = {  # door model -> a recorded stream of its upstream
    "openai/gpt-4o": ("openai-chat", "text-stream"),
    "anthropic/claude-sonnet-4-0": ("anthropic", "text-stream"),
}


def _post_stream(gateway, api_key, model: str) -> httpx.Response:
    body = {"model": model, "messages": PROMPT, "stream": True}
    return httpx.post(
        gateway.url + "/v1/chat/completions", json=body, headers={"authorization": "Bearer " + api_key}, timeout=30
    )


@pytest.mark.parametrize("model", CASES)
def test_upstream_cut_mid_answer_ends_with_an_error_chunk(model, gateway, api_key, upstream):
    """known-gateway-bugs row 28 (Portkey #1797): never a clean end for half an answer."""
    sse = exchange(*CASES[model]).response_bytes()
    cut = sse[: sse.index(b"\n\n", len(sse) // 2) + 2]
    upstream.expect(Reply(body=cut, headers={"content-type": "text/event-stream"}, chunk_size=31))
    resp = _post_stream(gateway, api_key, model)
    data = [line[6:] for line in resp.text.split("\n") if line.startswith("data: ")]
    assert "[DONE]" not in data
    error = json.loads(data[-1])["error"]
    assert error["type"] == "server_error" and "ended the stream" in error["message"]
    assert any(json.loads(d).get("choices") for d in data[:-1])  # what came before was relayed
    row = gateway.ledger_row(resp.headers["request-id"])
    assert row["error_type"] == "api_error"


@pytest.mark.parametrize("model", CASES)
def test_client_disconnect_closes_upstream_and_is_recorded(model, gateway, api_key, upstream):
    sse = exchange(*CASES[model]).response_bytes()
    # The first piece holds the first content (the commit point: nothing reaches the client before
    # it), then the upstream waits.
    marker = b"content_block_start" if b"content_block_start" in sse else b'"content":"4'
    first = sse.index(b"\n\n", sse.index(marker)) + 2
    reply = Reply(body=sse, headers={"content-type": "text/event-stream"}, chunk_size=first)
    reply.hold_after = 1
    (served,) = upstream.expect(reply)
    body = json.dumps({"model": model, "messages": PROMPT, "stream": True}).encode()
    leave_mid_stream(
        gateway, served, "/v1/chat/completions", f"authorization: Bearer {api_key}", body, b'"role":"assistant"'
    )


def test_passthrough_relays_an_upstream_error_chunk_and_records_it(gateway, api_key, upstream):
    """Groq's way: `data: {"error": ...}` mid-stream reaches an OpenAI client as it was sent."""
    sse = exchange("openai-chat", "text-stream").response_bytes()
    events = [e for e in sse.split(b"\n\n") if e.startswith(b"data: {")][:3]
    error = b'data: {"error":{"message":"Tool call validation failed","type":"invalid_request_error"}}\n\n'
    body = b"\n\n".join(events) + b"\n\n" + error
    upstream.expect(Reply(body=body, headers={"content-type": "text/event-stream"}, chunk_size=29))
    oai = openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)
    stream = oai.chat.completions.create(
        model="openai/gpt-4o", messages=PROMPT, stream=True, stream_options={"include_usage": True}
    )
    with pytest.raises(openai.APIError, match="Tool call validation failed"):
        for _ in stream:
            pass
    row = gateway.ledger_row(stream.response.headers["request-id"])
    assert row["error_type"] == "api_error"
