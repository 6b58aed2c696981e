"""Every OpenAI-family recording, read through the gateway by the official Anthropic SDK.

The fake upstream replays the recorded answer; the SDK's final message must hold what the
recording holds (reasoning, text, every tool call's full input), with the right stop reason
and usage, whether the client streamed or not.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from aigateway.providers.openai import opaque
from aigateway.tokens import count_header, count_request_tokens
from tests.conftest import UPSTREAM_KEY
from tests.support import openai_recordings as rec_mod
from tests.support.openai_recordings import STOP_REASONS, Recording, anthropic_usage, expected
from tests.support.stream_grammar import validate_stream
from tests.support.upstream import Reply

RECORDINGS = [r for r in rec_mod.recordings() if r.status == 200]
ERRORS = [r for r in rec_mod.recordings() if r.status >= 400]
PROMPT = [{"role": "user", "content": "Hello"}]


def _reply(rec: Recording) -> Reply:
    content_type = "text/event-stream" if rec.stream else "application/json"
    return Reply(
        status=rec.status, body=rec.body, headers={"content-type": content_type}, chunk_size=29 if rec.stream else None
    )


def _read(client: anthropic.Anthropic, rec: Recording, *, stream: bool | None = None, **extra):
    model = f"{rec.kind}/{rec.model}"
    if rec.stream if stream is None else stream:
        with client.messages.stream(model=model, max_tokens=1000, messages=PROMPT, **extra) as stream:
            return stream.get_final_message(), stream.response.headers
    raw = client.messages.with_raw_response.create(model=model, max_tokens=1000, messages=PROMPT, **extra)
    return raw.parse(), raw.headers


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("rec", [r for r in RECORDINGS if not expected(r).error], ids=str)
def test_final_message_holds_what_the_recording_holds(rec, mode, client, upstream):
    """Each recording read with both calls: a stream asked of a server that answered JSON (some
    ignore `stream`) comes back as a stream, and a streamed answer to a plain call as one Message."""
    want = expected(rec)
    upstream.expect(_reply(rec))
    message, headers = _read(client, rec, stream=mode == "stream")

    thinking = [b.thinking for b in message.content if b.type == "thinking"]
    texts = [b.text for b in message.content if b.type == "text"]
    tools = [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]
    assert "".join(thinking) == want.reasoning
    assert "".join(texts) == want.text
    assert tools == want.tool_calls
    redacted = [opaque.decode(b.data) for b in message.content if b.type == "redacted_thinking"]
    assert [item for items in redacted for item in items] == want.encrypted
    # Reasoning first, then text, then tool calls: the order models produce them in.
    kinds = [b.type for b in message.content]
    assert kinds == sorted(kinds, key=["redacted_thinking", "thinking", "text", "tool_use"].index)
    stop = "tool_use" if want.tool_calls else STOP_REASONS[want.finish_reason]
    assert message.stop_reason == stop
    if want.usage:
        usage = anthropic_usage(want.usage)
        assert message.usage.input_tokens == usage["input_tokens"]
        assert message.usage.cache_read_input_tokens == usage["cache_read_input_tokens"]
        assert message.usage.output_tokens == usage["output_tokens"]
    assert message.model == f"{rec.kind}/{rec.model}"
    assert headers["x-aigateway-provider"] == rec.kind


def test_upstream_error_inside_a_stream_becomes_one_error_event(gateway, api_key, upstream):
    """Groq's way: `data: {"error": ...}` after some content, then the connection closes."""
    rec = rec_mod.recording("openai-chat/text-stream#1")
    error = (rec_mod.ROOT / "groq" / "error-400-tool-use-failed.1.response.json").read_text()
    lines = [ln for ln in rec.body.decode().split("\n\n") if ln.startswith("data:")][:3]
    upstream.expect(
        Reply(
            body=("\n\n".join(lines) + "\n\ndata: " + error.replace("\n", "") + "\n\n").encode(),
            headers={"content-type": "text/event-stream"},
            chunk_size=31,
        )
    )
    body = {"model": "openai/gpt-4o", "max_tokens": 100, "messages": PROMPT, "stream": True}
    resp = httpx.post(gateway.url + "/v1/messages", json=body, headers={"x-api-key": api_key}, timeout=30)
    events = [line[7:] for line in resp.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and "content_block_delta" in events
    assert events[-1] == "error" and events.count("error") == 1
    assert "message_stop" not in events
    assert "'openai' reported an error mid-stream: Tool call validation failed" in resp.text


@pytest.mark.parametrize("rec", RECORDINGS, ids=str)
def test_every_translated_stream_keeps_the_grammar(rec, gateway, api_key, upstream):
    upstream.expect(_reply(rec))
    body = {"model": f"{rec.kind}/{rec.model}", "max_tokens": 100, "messages": PROMPT, "stream": True}
    resp = httpx.post(gateway.url + "/v1/messages", json=body, headers={"x-api-key": api_key}, timeout=30)
    events = validate_stream(resp.content)
    assert events[-1][0] == "message_stop"
    if rec.stream:  # message_start carries the gateway's own count of the prompt, never a placeholder 0
        counted = count_request_tokens(body, rec.model).input_tokens
        assert events[0][1]["message"]["usage"]["input_tokens"] == counted > 0


def test_count_tokens_for_a_model_without_a_counter(client, gateway, api_key, upstream):
    """vercel #17326 / litellm #13252: count_tokens must work for every model (Claude Code uses it)."""
    params = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "What is 4200 + 42?"}]}
    raw = client.messages.with_raw_response.count_tokens(**params)
    want = count_request_tokens(params, "gpt-4o")
    assert raw.parse().input_tokens == want.input_tokens
    assert raw.headers["x-aigateway-token-count"] == count_header(want)[1]
    # Claude Code's form, with ?beta=true; nothing reaches the upstream
    resp = httpx.post(
        gateway.url + "/v1/messages/count_tokens?beta=true",
        json={**params, "tools": [{"name": "f", "input_schema": {"type": "object"}}]},
        headers={"x-api-key": api_key},
        timeout=30,
    )
    assert resp.status_code == 200 and resp.json()["input_tokens"] > want.input_tokens
    assert upstream.received == []


def test_upstream_gets_the_gateway_key_and_stream_usage_option(client, upstream):
    rec = rec_mod.recording("openai-chat/text-stream#1")
    upstream.expect(_reply(rec))
    _read(client, rec)
    sent = upstream.received[0]
    assert sent.path_qs == "/openai/v1/chat/completions"
    assert sent.headers["Authorization"] == "Bearer " + UPSTREAM_KEY
    body = json.loads(sent.body)
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == "gpt-4o"


def test_keyless_local_server_gets_no_authorization(client, upstream):
    rec = rec_mod.recording("ollama/local-text-sync#1")
    upstream.expect(_reply(rec))
    _read(client, rec)
    assert "Authorization" not in upstream.received[0].headers


def test_dropped_parameters_are_named_in_a_header_and_logged(client, gateway, upstream):
    rec = rec_mod.recording("openai-chat/text-sync#1")
    upstream.expect(_reply(rec))
    _, headers = _read(client, rec, extra_body={"top_k": 5, "context_management": {"edits": []}})
    assert headers["x-aigateway-dropped"] == "top_k, context_management"
    assert "top_k" not in json.loads(upstream.received[0].body)
    logged = [json.loads(line) for line in gateway.log_text().splitlines() if headers["request-id"] in line]
    warning = next(line for line in logged if line["msg"] == "parameters dropped")
    assert warning["dropped"] == ["top_k", "context_management"] and warning["provider"] == "openai"


@pytest.mark.parametrize("rec", ERRORS, ids=str)
def test_upstream_errors_use_anthropic_types(rec, client, upstream):
    upstream.expect(_reply(rec))
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model=f"{rec.kind}/{rec.model}", max_tokens=10, messages=PROMPT)
    err = caught.value
    if rec.status in (401, 403):  # our credential, not the client's key
        assert err.status_code == 502
        assert err.body["error"]["type"] == "api_error"
        assert f"provider '{rec.kind}'" in err.message
        assert err.response.headers["x-should-retry"] == "false"
        assert "invalid-*****" not in err.message
    else:
        kinds = {400: "invalid_request_error", 404: "not_found_error", 429: "rate_limit_error"}
        assert err.status_code == rec.status
        assert err.body["error"]["type"] == kinds[rec.status]
        recorded = json.loads(rec.body)["error"]["message"]
        message = err.body["error"]["message"]
        assert message.startswith(rec.kind + ": ") and recorded in message


def test_azure_addresses_the_deployment_with_its_api_key_header(client, upstream):
    rec = rec_mod.recording("openai-chat/text-sync#1")
    upstream.expect(_reply(rec))
    message = client.messages.create(model="azure/prod-gpt4o", max_tokens=50, messages=PROMPT)
    assert message.content[0].text == expected(rec).text
    sent = upstream.received[0]
    assert sent.path_qs == "/azure/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21"
    assert sent.headers["api-key"] == UPSTREAM_KEY and "Authorization" not in sent.headers
    assert json.loads(sent.body)["max_completion_tokens"] == 50
