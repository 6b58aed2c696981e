"""The Responses door in front of Claude, Gemini and a Chat Completions server: the official
`openai` SDK's `responses.create` / `responses.stream` / `responses.parse`, against fake
upstreams replaying recorded answers; every stream read here passes the grammar validator."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from tests.frontends.responses.support import final, read, stream
from tests.support import anthropic_recordings as anthropic_rec
from tests.support import gemini_recordings as gemini_rec
from tests.support import openai_recordings as openai_rec
from tests.support.fixtures import exchange
from tests.support.upstream import Reply

ANTHROPIC = anthropic_rec.messages_exchanges()
GEMINI = [r for r in gemini_rec.recordings() if r.status == 200]
STATUS = {"end_turn": "completed", "tool_use": "completed", "stop_sequence": "completed", "max_tokens": "incomplete"}


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("ex", ANTHROPIC, ids=lambda ex: ex.name)
def test_claude_answers_read_as_the_recording_says(ex, mode, oai, gateway, api_key, upstream):
    want = anthropic_rec.read(ex)
    upstream.expect(Reply.replay(ex))
    model = "anthropic/" + ex.request_json()["model"]
    body = {"model": model, "input": "Hello", "max_output_tokens": 100, "reasoning": {"summary": "auto"}}
    response = final(stream(gateway.url, api_key, body)[0]) if mode == "stream" else oai.responses.create(**body)
    got = read(response)
    assert got.text == want.text
    assert got.summary == want.thinking
    assert got.calls == want.tool_calls
    assert response.status == STATUS[want.stop_reason or "end_turn"]
    if want.stop_reason == "max_tokens":
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"
    assert response.usage is not None
    assert response.usage.input_tokens == want.prompt_tokens
    assert response.usage.output_tokens == want.usage["output_tokens"]
    assert response.usage.input_tokens_details.cached_tokens == want.usage.get("cache_read_input_tokens", 0)
    assert response.model == model
    sent = json.loads(upstream.received[0].body)
    assert upstream.received[0].path_qs == "/v1/messages"
    assert sent["max_tokens"] == 100 and sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hello"}]}
    ]
    assert "cache_control" not in json.dumps(sent)  # no prompt_cache_key, no caching option: no breakpoints


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("rec", GEMINI, ids=str)
def test_gemini_answers_read_as_the_recording_says(rec, mode, oai, gateway, api_key, upstream):
    want = gemini_rec.expected(rec)
    headers = {"content-type": rec.exchange.content_type}
    upstream.expect(Reply(body=rec.body, headers=headers, chunk_size=29 if rec.stream else None))
    body = {"model": f"gemini/{rec.model}", "input": "Hello", "reasoning": {"summary": "auto"}}
    response = final(stream(gateway.url, api_key, body)[0]) if mode == "stream" else oai.responses.create(**body)
    got = read(response)
    assert got.text == want.text
    assert got.summary == want.thinking
    assert [(name, args) for _, name, args in got.calls] == want.calls
    usage = gemini_rec.anthropic_usage(want.usage)
    assert response.usage is not None and response.usage.output_tokens == usage["output_tokens"]
    method = "streamGenerateContent?alt=sse" if mode == "stream" else "generateContent"
    assert upstream.received[0].path_qs == f"/gemini/v1beta/models/{rec.model}:{method}"


@pytest.mark.parametrize("name", ["openai-chat/text-stream#1", "openai-chat/tools-stream#1"])
def test_a_chat_completions_server_answers_through_the_core(name, oai, upstream):
    rec = openai_rec.recording(name)
    want = openai_rec.expected(rec)
    upstream.expect(Reply(body=rec.body, headers={"content-type": "text/event-stream"}, chunk_size=31))
    tools = [{"type": "function", "name": n, "parameters": {"type": "object"}} for _, n, _ in want.tool_calls]
    with oai.responses.stream(model="ollama/qwen3", input="Hello", tools=tools) as s:
        deltas = "".join(e.delta for e in s if e.type == "response.output_text.delta")
        response = s.get_final_response()
    got = read(response)
    assert got.text == deltas == want.text
    assert [(c, n, a) for c, n, a in got.calls] == want.tool_calls
    sent = json.loads(upstream.received[0].body)
    assert upstream.received[0].path_qs == "/ollama/v1/chat/completions"
    assert sent["model"] == "qwen3" and sent["messages"] == [{"role": "user", "content": "Hello"}]
    assert [t["function"]["name"] for t in sent.get("tools", [])] == [n for _, n, _ in want.tool_calls]


def test_a_function_tool_round_trip_on_claude(oai, upstream):
    """The call comes back as a function_call; its output goes up as Claude's tool_result."""
    first = exchange("anthropic", "tools-parallel-stream")
    upstream.expect(Reply.replay(first), Reply.replay(exchange("anthropic", "text-stream")))
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}]
    with oai.responses.stream(model="anthropic/claude-sonnet-4.5", input="Weather?", tools=tools) as s:
        response = s.get_final_response()
    calls = [i for i in response.output if i.type == "function_call"]
    assert calls and all(c.call_id.startswith("toolu_") for c in calls)
    history = [{"role": "user", "content": "Weather?"}, *[c.model_dump(exclude_none=True) for c in calls]]
    history += [{"type": "function_call_output", "call_id": c.call_id, "output": "sunny"} for c in calls]
    answer = oai.responses.create(model="anthropic/claude-sonnet-4.5", input=history, tools=tools)
    assert read(answer).text == anthropic_rec.read(exchange("anthropic", "text-stream")).text
    sent = json.loads(upstream.received[1].body)["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert [b["id"] for b in sent[1]["content"] if b["type"] == "tool_use"] == [c.call_id for c in calls]
    assert [(b["tool_use_id"], b["content"]) for b in sent[2]["content"]] == [(c.call_id, "sunny") for c in calls]


class Answer(BaseModel):
    city: str
    temperature: int


def test_parse_gives_the_structured_output_of_claude(oai, upstream):
    text = '{"city": "Paris", "temperature": 21}'
    message = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 12, "output_tokens": 9},
    }  # fmt: skip
    upstream.expect(Reply(body=json.dumps(message).encode(), headers={"content-type": "application/json"}))
    parsed = oai.responses.parse(model="anthropic/claude-sonnet-4.5", input="Weather in Paris?", text_format=Answer)
    assert parsed.output_parsed == Answer(city="Paris", temperature=21)
    sent = json.loads(upstream.received[0].body)
    assert sent["output_config"]["format"]["type"] == "json_schema"
    assert sent["output_config"]["format"]["schema"]["properties"].keys() == {"city", "temperature"}


SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
JSON_FORMATS = {
    "json_object": ({"type": "json_object"}, {"type": "object"}),
    "json_schema": ({"type": "json_schema", "name": "a", "schema": SCHEMA}, SCHEMA),
}


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("kind", JSON_FORMATS)
def test_json_output_without_structured_outputs_comes_from_a_forced_tool(kind, mode, oai, gateway, api_key, upstream):
    """No JSON mode on Claude and no structured outputs before Claude 4.5 (claude-sonnet-4-0): one
    forced tool takes the schema, and its input comes back as the message's `output_text`. The
    recorded forced-tool stream, its tool renamed to the gateway's."""
    fmt, input_schema = JSON_FORMATS[kind]
    ex = exchange("anthropic", "forced-tool-stream")
    recorded = ex.response_bytes().replace(b"__mirascope_formatted_output_tool__", b"json_response")
    upstream.expect(Reply(body=recorded, headers={"content-type": "text/event-stream"}, chunk_size=53))
    body = {"model": "anthropic/claude-sonnet-4-0", "input": "Hello", "text": {"format": fmt}}
    if mode == "stream":
        response = final(stream(gateway.url, api_key, {**body, "stream": True})[0])
    else:
        response = oai.responses.create(**body)
    assert [item.type for item in response.output] == ["message"]
    assert json.loads(read(response).text) == anthropic_rec.read(ex).tool_calls[0][2]
    assert response.status == "completed"
    sent = json.loads(upstream.received[0].body)
    assert "output_config" not in sent
    assert [t["input_schema"] for t in sent["tools"]] == [input_schema]
    assert sent["tool_choice"] == {"type": "tool", "name": "json_response"}


def test_json_output_by_forced_tool_with_tools_is_a_clear_400(oai, upstream):
    tool = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False}
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(
            model="anthropic/claude-sonnet-4-0", input="Hi", tools=[tool], text={"format": {"type": "json_object"}}
        )
    assert caught.value.body["param"] == "text.format"
    assert upstream.received == []
