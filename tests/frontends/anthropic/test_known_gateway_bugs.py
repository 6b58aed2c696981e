"""One test per failure of other gateways (../shared/spec/known-gateway-bugs.md, sections 1-3)
that applies to the translated path, named for the behaviour it guards. Each streams a real
recording (or a real recording changed in the one way the bug report describes) through the
gateway and reads the raw SSE, since the SDKs quietly drop some malformed events.
"""

from __future__ import annotations

import json

import anthropic
import httpx

from tests.support import openai_recordings
from tests.support.openai_recordings import Recording
from tests.support.upstream import Reply

PROMPT = [{"role": "user", "content": "Hello"}]


def stream_raw(
    gateway, api_key, upstream, rec: Recording, body: bytes | None = None
) -> tuple[list[dict], httpx.Response]:
    upstream.expect(Reply(body=body or rec.body, headers={"content-type": "text/event-stream"}, chunk_size=23))
    request = {"model": f"{rec.kind}/{rec.model}", "max_tokens": 500, "messages": PROMPT, "stream": True}
    resp = httpx.post(gateway.url + "/v1/messages", json=request, headers={"x-api-key": api_key}, timeout=30)
    assert resp.status_code == 200
    events = []
    for block in resp.text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            data = json.loads(lines["data"])
            assert data["type"] == lines["event"]  # both SDKs need the name and the type
            events.append(data)
    return events, resp


def _blocks(events: list[dict]) -> dict[int, str]:
    return {e["index"]: e["content_block"]["type"] for e in events if e["type"] == "content_block_start"}


def test_every_delta_refers_to_a_started_block(gateway, api_key, upstream):
    """litellm #13373: "Content block not found"."""
    for name in ("openai-chat/tools-stream#1", "deepseek/reasoning-stream#1", "mistral/thinking-stream#1"):
        events, _ = stream_raw(gateway, api_key, upstream, openai_recordings.recording(name))
        started, stopped = set(), set()
        for e in events:
            if e["type"] == "content_block_start":
                started.add(e["index"])
            elif e["type"] == "content_block_delta":
                assert e["index"] in started and e["index"] not in stopped, name
            elif e["type"] == "content_block_stop":
                stopped.add(e["index"])
        assert started == stopped == set(range(len(started)))


def test_reasoning_gets_its_own_thinking_block_and_one_message_start(gateway, api_key, upstream):
    """litellm #32357: thinking_delta inside a text block, and a duplicate message_start."""
    events, _ = stream_raw(gateway, api_key, upstream, openai_recordings.recording("deepseek/reasoning-stream#1"))
    assert [e["type"] for e in events].count("message_start") == 1
    kinds = _blocks(events)
    assert list(kinds.values()) == ["thinking", "text"]
    for e in events:
        if e["type"] == "content_block_delta":
            assert e["delta"]["type"] == {"thinking": "thinking_delta", "text": "text_delta"}[kinds[e["index"]]]


def test_thinking_after_text_opens_a_new_thinking_block(gateway, api_key, upstream):
    """litellm #33224: text, then reasoning deltas, sent into the text block."""
    rec = openai_recordings.recording("deepseek/reasoning-stream#1")
    lines = [ln for ln in rec.body.decode().split("\n\n") if ln.startswith("data:")]
    # The recording with its answer moved ahead of its reasoning: text first, then thinking.
    answer = [ln for ln in lines if '"content":"' in ln and '"content":""' not in ln]
    reasoning = [ln for ln in lines if ln not in answer]
    events, _ = stream_raw(gateway, api_key, upstream, rec, ("\n\n".join(answer[:3] + reasoning) + "\n\n").encode())
    assert list(_blocks(events).values())[:2] == ["text", "thinking"]


def test_streamed_tool_calls_carry_every_argument_fragment(gateway, api_key, upstream):
    """litellm #25561: tool_use started but zero input_json_delta, so input {} and endless retries."""
    rec = openai_recordings.recording("openai-chat/tools-stream#1")
    events, _ = stream_raw(gateway, api_key, upstream, rec)
    tools = {i for i, kind in _blocks(events).items() if kind == "tool_use"}
    args: dict[int, str] = {i: "" for i in tools}
    for e in events:
        if e["type"] == "content_block_delta" and e["index"] in tools:
            args[e["index"]] += e["delta"]["partial_json"]
    assert [json.loads(a) for a in args.values()] == [c[2] for c in openai_recordings.expected(rec).tool_calls]
    assert all(json.loads(a) for a in args.values())


def test_tool_call_delivered_whole_in_one_chunk(client, upstream):
    """Groq sends each call whole; the block still carries its full input."""
    rec = openai_recordings.recording("groq/tool-call-chunks")
    upstream.expect(Reply(body=rec.body, headers={"content-type": "text/event-stream"}, chunk_size=41))
    with client.messages.stream(model=f"groq/{rec.model}", max_tokens=100, messages=PROMPT) as s:
        message = s.get_final_message()
    assert [(b.name, b.input) for b in message.content if b.type == "tool_use"] == [
        (c[1], c[2]) for c in openai_recordings.expected(rec).tool_calls
    ]
    assert message.stop_reason == "tool_use"


def test_content_with_empty_tool_calls_list_stays_text(client, upstream):
    """litellm #29286: vLLM sends `content` plus `tool_calls: []`; that is text, not a tool call."""
    rec = openai_recordings.recording("openai-chat/text-stream#1")
    body = rec.body.replace(b'"delta":{"content":', b'"delta":{"tool_calls":[],"content":')
    assert body != rec.body
    upstream.expect(Reply(body=body, headers={"content-type": "text/event-stream"}, chunk_size=41))
    with client.messages.stream(model="openai/gpt-4o", max_tokens=100, messages=PROMPT) as s:
        message = s.get_final_message()
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == openai_recordings.expected(rec).text
    assert message.stop_reason == "end_turn"


def test_message_start_usage_is_complete(gateway, api_key, upstream):
    """litellm #24176 / vercel #17326: message_start usage needs input_tokens and the cache object."""
    events, _ = stream_raw(gateway, api_key, upstream, openai_recordings.recording("openai-chat/text-stream#1"))
    usage = events[0]["message"]["usage"]
    assert isinstance(usage["input_tokens"], int) and isinstance(usage["output_tokens"], int)
    assert usage["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    assert events[-1] == {"type": "message_stop"}


def test_final_usage_is_cumulative_and_recorded_once(gateway, api_key, upstream):
    """tensorzero #5481 / envoy #2290: message_delta usage is the total; never start + delta."""
    rec = openai_recordings.recording("openai-chat/prompt-cache-sync#2")
    upstream.expect(Reply(body=rec.body, headers={"content-type": "application/json"}))
    request = {"model": "openai/gpt-4o", "max_tokens": 50, "messages": PROMPT}
    resp = httpx.post(gateway.url + "/v1/messages", json=request, headers={"x-api-key": api_key}, timeout=30)
    usage = json.loads(rec.body)["usage"]
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    assert cached > 0
    row = gateway.ledger_row(resp.headers["request-id"])
    assert (row["input_tokens"], row["cache_read_tokens"]) == (usage["prompt_tokens"] - cached, cached)
    assert row["output_tokens"] == usage["completion_tokens"]


def test_cached_prompt_tokens_are_not_counted_as_input(client, upstream):
    """litellm #9812 / #11789, Portkey #1754: cached tokens once, in cache_read, never in input."""
    rec = openai_recordings.recording("openai-chat/prompt-cache-sync#2")
    upstream.expect(Reply(body=rec.body, headers={"content-type": "application/json"}))
    message = client.messages.create(model="openai/gpt-4o", max_tokens=50, messages=PROMPT)
    usage = json.loads(rec.body)["usage"]
    total_input = message.usage.input_tokens + message.usage.cache_read_input_tokens
    assert total_input == usage["prompt_tokens"]
    assert message.usage.cache_read_input_tokens == usage["prompt_tokens_details"]["cached_tokens"]


def test_streamed_usage_reaches_the_ledger(gateway, api_key, upstream):
    rec = openai_recordings.recording("deepseek/reasoning-stream#1")
    _, resp = stream_raw(gateway, api_key, upstream, rec)
    row = gateway.ledger_row(resp.headers["request-id"])
    usage = openai_recordings.expected(rec).usage
    cached = usage.get("prompt_cache_hit_tokens", 0)
    assert (row["input_tokens"], row["cache_read_tokens"]) == (usage["prompt_tokens"] - cached, cached)
    assert row["output_tokens"] == usage["completion_tokens"]
    assert (row["provider"], row["model"], row["stop_reason"]) == ("deepseek", "deepseek/deepseek-reasoner", "end_turn")
    assert row["streamed"] == 1 and row["ttft_ms"] > 0


def test_thinking_block_with_signature_and_empty_text_is_accepted(client, upstream):
    """litellm #41361: a thinking block with empty text but a signature must not be refused."""
    rec = openai_recordings.recording("openai-chat/text-sync#1")
    upstream.expect(Reply(body=rec.body, headers={"content-type": "application/json"}))
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "", "signature": "EqQB"}, "Hello"]},
        {"role": "user", "content": "Again"},
    ]
    history[1]["content"][1] = {"type": "text", "text": "Hello"}
    message = client.messages.create(model="openai/gpt-4o", max_tokens=50, messages=history)
    assert message.content[0].text == openai_recordings.expected(rec).text


def test_error_mid_stream_is_typed_for_the_sdk(client, upstream):
    """Portkey #1797: an upstream that stops mid-answer must not look like a clean end."""
    rec = openai_recordings.recording("openai-chat/tools-stream#1")
    lines = [ln for ln in rec.body.decode().split("\n\n") if ln.startswith("data:")]
    upstream.expect(
        Reply(body=("\n\n".join(lines[:6]) + "\n\n").encode(), headers={"content-type": "text/event-stream"})
    )
    try:
        with client.messages.stream(model="openai/gpt-4o", max_tokens=100, messages=PROMPT) as s:
            s.get_final_message()
    except anthropic.APIStatusError as exc:
        assert exc.body["error"]["type"] == "api_error"
        assert "'openai' ended the stream before its finish reason" in exc.body["error"]["message"]
    else:
        raise AssertionError("a cut stream must raise")


# --- Gemini and Vertex (section 1 row 4, section 2 row 15) ----------------------------------------


def test_vertex_gemini_streamed_tool_use_carries_its_input(vertex_gateway, vertex_key, upstream):
    """litellm #25561: Vertex Gemini streamed, tool_use started but no input_json_delta: `input: {}`."""
    from tests.support import gemini_recordings

    rec = gemini_recordings.recording("tools-stream#1")
    upstream.expect(Reply(body=rec.body, headers={"content-type": "text/event-stream"}, chunk_size=23))
    request = {"model": "vertex/gemini-2.5-flash", "max_tokens": 500, "messages": PROMPT, "stream": True}
    resp = httpx.post(vertex_gateway.url + "/v1/messages", json=request, headers={"x-api-key": vertex_key}, timeout=30)
    assert resp.status_code == 200, resp.text
    events = [json.loads(line[6:]) for line in resp.text.splitlines() if line.startswith("data: ")]
    tools = [
        e["index"] for e in events if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"
    ]
    inputs = {
        i: "".join(e["delta"]["partial_json"] for e in events if e.get("index") == i and "delta" in e) for i in tools
    }
    assert [json.loads(inputs[i]) for i in tools] == [{"password": "mellon"}, {"password": "radiance"}]


def test_gemini_thought_signature_survives_a_tool_round_trip(client, upstream):
    """litellm #25322: Gemini's thoughtSignature lost via /v1/messages, so Gemini 3 refuses turn 2.
    gemini/tool-call-thought-signature-stream: turn 2 is built from the SDK's final message the way
    a client builds it; what reaches Gemini is checked field by field against the recorded turn 2."""
    import base64

    from tests.support import gemini_recordings

    first, second = (gemini_recordings.recording(f"tool-call-thought-signature-stream#{n}") for n in (1, 2))
    recorded = second.exchange.request_json()
    prompt = recorded["contents"][0]["parts"][0]["text"]
    declared = json.loads(first.exchange.request_bytes())["tools"][0]["functionDeclarations"][0]
    tool = {"name": declared["name"], "description": declared["description"]}
    tool["input_schema"] = declared["parameters_json_schema"]
    upstream.expect(
        Reply(body=first.body, headers={"content-type": "text/event-stream"}, chunk_size=23),
        Reply(body=second.body, headers={"content-type": "text/event-stream"}, chunk_size=23),
    )
    model = "gemini/gemini-3-pro-preview"
    messages = [{"role": "user", "content": prompt}]
    with client.messages.stream(model=model, max_tokens=1000, messages=messages, tools=[tool]) as stream:
        turn1 = stream.get_final_message()
    call = next(b for b in turn1.content if b.type == "tool_use")
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in turn1.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Mexico"}]},
    ]
    with client.messages.stream(model=model, max_tokens=1000, messages=messages, tools=[tool]) as stream:
        turn2 = stream.get_final_message()
    assert turn2.content[-1].text == "The capital of Mexico is Mexico City."

    sent = json.loads(upstream.received[1].body)
    assert sent["contents"][0] == recorded["contents"][0]
    (ours,), (theirs,) = sent["contents"][1]["parts"], recorded["contents"][1]["parts"]
    assert sent["contents"][1]["role"] == recorded["contents"][1]["role"] == "model"
    # The recorder's SDK re-encoded the signature's bytes as URL-safe base64; the bytes are Gemini's.
    assert base64.b64decode(ours["thoughtSignature"]) == base64.urlsafe_b64decode(theirs["thoughtSignature"])
    # The recorder sent its own made-up call id; Gemini gave none, so the gateway sends none.
    assert ours["functionCall"] == {k: v for k, v in theirs["functionCall"].items() if k != "id"}
    response, recorded_response = sent["contents"][2]["parts"][0], recorded["contents"][2]["parts"][0]
    assert response["functionResponse"]["name"] == recorded_response["functionResponse"]["name"] == "get_country"
    # Gemini's documented key is "output"; the recorder used its own ("return_value").
    assert response["functionResponse"]["response"] == {"output": "Mexico"}
    assert list(recorded_response["functionResponse"]["response"].values()) == ["Mexico"]
    assert sent["contents"][2]["role"] == "user" and len(sent["contents"]) == 3
    assert sent["tools"][0]["functionDeclarations"] == [
        {"name": "get_country", "description": "", "parameters": {"type": "OBJECT", "properties": {}}}
    ]
