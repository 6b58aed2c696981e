"""Every Bedrock Converse recording, read through the gateway by the official Anthropic SDK.

The fake upstream replays the recorded answer (JSON, or the binary event stream in odd-sized
pieces); the SDK's final message, with `messages.create` and `messages.stream` alike, must hold
what a plain reading of the recording holds: text, reasoning with its signature, redacted
reasoning, every tool call's input, the stop reason and usage with cache reads and writes.
"""

from __future__ import annotations

import base64
import json

import anthropic
import httpx
import pytest

from aigateway.ir.accumulate import MessageAccumulator
from aigateway.providers.bedrock.client import BedrockProvider
from aigateway.providers.bedrock.config import BedrockConfig
from aigateway.providers.bedrock.stream import ConverseStreamDecoder
from tests.support import bedrock
from tests.support.bedrock import STOP_REASONS, anthropic_usage, expected, recorded_model, reply
from tests.support.fixtures import exchange
from tests.support.stream_grammar import validate_stream

RECORDINGS = bedrock.converse_exchanges()
PROMPT = [{"role": "user", "content": "Hello"}]


def _read(client: anthropic.Anthropic, model: str, *, stream: bool):
    if stream:
        with client.messages.stream(model=model, max_tokens=1000, messages=PROMPT) as s:
            return s.get_final_message(), s.response.headers
    raw = client.messages.with_raw_response.create(model=model, max_tokens=1000, messages=PROMPT)
    return raw.parse(), raw.headers


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("ex", RECORDINGS, ids=lambda ex: ex.name)
def test_final_message_holds_what_the_recording_holds(ex, mode, client, upstream):
    want = expected(ex)
    upstream.expect(reply(ex))
    model = recorded_model(ex)
    message, headers = _read(client, model, stream=mode == "stream")

    assert "".join(b.text for b in message.content if b.type == "text") == want.text
    thinking = [(b.thinking, b.signature) for b in message.content if b.type == "thinking"]
    assert thinking == want.reasoning
    redacted = [b.data for b in message.content if b.type == "redacted_thinking"]
    assert redacted == [base64.b64decode(r).decode() for r in want.redacted]  # Anthropic's own data
    assert [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"] == want.tools
    assert message.stop_reason == STOP_REASONS[want.stop_reason]
    usage = anthropic_usage(want.usage)
    assert message.usage.input_tokens == usage["input_tokens"]
    assert message.usage.output_tokens == usage["output_tokens"]
    assert message.usage.cache_read_input_tokens == usage["cache_read_input_tokens"]
    assert message.usage.cache_creation_input_tokens == usage["cache_creation_input_tokens"]
    assert message.model == model
    assert headers["x-aigateway-provider"] == "bedrock"
    # The request went to the recorded operation; the answer's mode decides the path.
    sent = upstream.received[0]
    action = "converse-stream" if mode == "stream" else "converse"
    assert sent.raw_path == "/bedrock" + ex.path_and_query.rsplit("/", 1)[0] + "/" + action


@pytest.mark.parametrize("ex", RECORDINGS, ids=lambda ex: ex.name)
def test_every_translated_stream_keeps_the_grammar(ex, gateway, api_key, upstream):
    upstream.expect(reply(ex, chunk_size=13))
    body = {"model": recorded_model(ex), "max_tokens": 100, "messages": PROMPT, "stream": True}
    resp = httpx.post(gateway.url + "/v1/messages", json=body, headers={"x-api-key": api_key}, timeout=30)
    events = validate_stream(resp.content)
    assert events[-1][0] == "message_stop"
    assert events[0][1]["message"]["usage"]["input_tokens"] > 0  # the gateway's own count, never 0


def _fold(raw: bytes, chunk: int) -> object:
    decoder = ConverseStreamDecoder(
        provider="bedrock", message_id="msg_x", model="m", input_tokens=1, stop_sequences=None
    )
    fold = MessageAccumulator()
    for i in range(0, len(raw), chunk):
        for event in decoder.feed(raw[i : i + chunk]):
            fold.add(event)
    for event in decoder.finish():
        fold.add(event)
    assert fold.error is None
    return fold.result()


def test_stream_folds_to_the_same_message_at_any_chunk_size():
    ex = exchange("bedrock", "converse-stream-tool", 1)
    first = _fold(ex.response_bytes(), 1)
    for size in (2, 7, 64, 10_000):
        assert _fold(ex.response_bytes(), size) == first


def _request():
    from aigateway.ir.messages import parse_request

    return parse_request({"model": "bedrock/m", "max_tokens": 10, "messages": PROMPT})


def test_claude_thinking_recorded_both_ways_translates_alike():
    """converse-claude-thinking (JSON) and converse-stream-claude-thinking (stream) are the same
    model and scenario: both come out as one thinking block with a signature, then text."""
    provider = BedrockProvider(
        "bedrock", BedrockConfig(base_url="http://127.0.0.1:9", region="us-east-1", api_key="unused")
    )
    whole, _ = provider.read_message(exchange("bedrock", "converse-claude-thinking").response_bytes(), _request(), "m")
    streamed = _fold(exchange("bedrock", "converse-stream-claude-thinking").response_bytes(), 50)
    kinds = [[type(b).__name__ for b in m.content] for m in (whole, streamed)]
    assert kinds == [["ThinkingBlock", "TextBlock"]] * 2
    assert all(m.content[0].signature for m in (whole, streamed))


def test_upstream_exception_inside_a_converse_stream_is_one_error_event(gateway, api_key, upstream):
    ex = exchange("bedrock", "converse-stream-text")
    frames = bedrock.events(ex.response_bytes())
    head = b"".join(
        bedrock.frame(
            {":event-type": n, ":content-type": "application/json", ":message-type": "event"}, json.dumps(p).encode()
        )
        for n, p in frames[:4]
    )
    body = head + bedrock.exception_frame("throttlingException", "Too many tokens, please wait before trying again.")
    from tests.support.upstream import Reply

    upstream.expect(Reply(body=body, headers={"content-type": "application/vnd.amazon.eventstream"}, chunk_size=11))
    request = {"model": "bedrock/us.amazon.nova-micro-v1:0", "max_tokens": 100, "messages": PROMPT, "stream": True}
    resp = httpx.post(gateway.url + "/v1/messages", json=request, headers={"x-api-key": api_key}, timeout=30)
    events = validate_stream(resp.content)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and "content_block_delta" in names
    assert names[-1] == "error" and names.count("error") == 1 and "message_stop" not in names
    error = events[-1][1]["error"]
    assert error["type"] == "rate_limit_error" and "Too many tokens" in error["message"]


def test_claude_code_tool_result_turn_through_converse(gateway, api_key, upstream):
    """Claude Code's own second turn (system turn, tool_use, tool_result with cache_control,
    adaptive thinking, effort) to a Nova model: translated, answered, and what Converse has
    no place for named in the response header."""
    from tests.support.fixtures import claude_code_request

    captured = claude_code_request("claude-code-unknown-model-tool-result-turn")
    upstream.expect(reply(exchange("bedrock", "converse-stream-tool", 2), chunk_size=17))
    body = {**captured["body"], "model": "bedrock/us.amazon.nova-micro-v1:0"}
    headers = {k: v for k, v in captured["headers"].items() if k.lower().startswith("anthropic-")}
    resp = httpx.post(
        gateway.url + "/v1/messages?beta=true", json=body, headers={**headers, "x-api-key": api_key}, timeout=30
    )
    events = validate_stream(resp.content)
    text = "".join(
        d["delta"]["text"] for n, d in events if n == "content_block_delta" and d["delta"]["type"] == "text_delta"
    )
    assert text == expected(exchange("bedrock", "converse-stream-tool", 2)).text
    dropped = resp.headers["x-aigateway-dropped"].split(", ")
    assert {"context_management", "metadata.user_id", "thinking", "output_config.effort"} <= set(dropped)
    sent = json.loads(upstream.received[0].body)
    assert upstream.received[0].raw_path == "/bedrock/model/us.amazon.nova-micro-v1%3A0/converse-stream"
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert any("toolResult" in b for b in sent["messages"][-1]["content"]) and sent["toolConfig"]["tools"]
    bedrock.verify_sigv4(upstream.received[0])
