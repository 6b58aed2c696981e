"""The Chat Completions door in front of Claude: requests and answers translated through the core.

Every recorded Anthropic answer is replayed by the fake upstream and read through the gateway by
the official `openai` SDK, in both modes; what it reads must be what a plain reading of the
recording says (tests/support/anthropic_recordings.py).
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.frontends.openai.test_passthrough import final_completion
from tests.support import anthropic_recordings as anthropic_rec
from tests.support.fixtures import exchange
from tests.support.upstream import Reply

RECORDINGS = anthropic_rec.messages_exchanges()
PROMPT = [{"role": "user", "content": "Hello"}]


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


def _model(ex) -> str:
    return "anthropic/" + ex.request_json()["model"]


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("ex", RECORDINGS, ids=lambda ex: ex.name)
def test_sdk_reads_what_the_recording_holds(ex, mode, oai, upstream):
    want = anthropic_rec.read(ex)
    upstream.expect(Reply.replay(ex))
    if mode == "stream":
        completion = final_completion(
            oai, model=_model(ex), messages=PROMPT, stream_options={"include_usage": True}, max_tokens=100
        )
    else:
        completion = oai.chat.completions.create(model=_model(ex), messages=PROMPT, max_tokens=100)
    message = completion.choices[0].message
    assert (message.content or "") == want.text
    assert (message.model_extra or {}).get("reasoning_content", "") == want.thinking
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
    assert calls == want.tool_calls
    assert completion.choices[0].finish_reason == want.finish_reason
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == want.prompt_tokens
    assert usage.completion_tokens == want.usage["output_tokens"]
    assert usage.total_tokens == want.prompt_tokens + want.usage["output_tokens"]
    assert usage.prompt_tokens_details.cached_tokens == want.usage.get("cache_read_input_tokens", 0)
    assert completion.model == _model(ex)
    sent = json.loads(upstream.received[0].body)
    assert upstream.received[0].path_qs == "/v1/messages"
    assert upstream.received[0].headers["x-api-key"] == UPSTREAM_KEY
    assert sent["model"] == ex.request_json()["model"] and sent["max_tokens"] == 100


def test_request_reaches_claude_in_anthropic_structure(oai, upstream):
    """System hoisted, tool results merged into one user turn, image, tools, options mapped."""
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    raw = oai.chat.completions.with_raw_response.create(
        model="anthropic/claude-sonnet-4.5",  # has structured outputs: json_schema goes natively
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in JSON."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "geo", "arguments": "{}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "wx", "arguments": '{"q": 1}'}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Paris"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "sunny"}]},
            {"role": "user", "content": "And so?"},
        ],
        tools=[{"type": "function", "function": {"name": "geo", "description": "where", "parameters": schema}}],
        tool_choice="required",
        parallel_tool_calls=False,
        response_format={"type": "json_schema", "json_schema": {"name": "w", "schema": schema, "strict": True}},
        reasoning_effort="low",
        max_completion_tokens=4000,
        stop="END",
        user="user-7",
        seed=7,
        temperature=0.5,
    )
    assert raw.http_response.headers["x-aigateway-dropped"] == "seed"
    sent = json.loads(upstream.received[0].body)
    assert sent == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4000,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "call_1", "name": "geo", "input": {}},
                    {"type": "tool_use", "id": "call_2", "name": "wx", "input": {"q": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "Paris"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": "sunny"},
                    {"type": "text", "text": "And so?"},
                ],
            },
        ],
        "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Answer in JSON."}],
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "tools": [{"name": "geo", "input_schema": schema, "description": "where"}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
        "metadata": {"user_id": "user-7"},
    }


def test_stream_chunks_follow_openai(gateway, api_key, upstream):
    """Role first, tool-call ids and names on their first fragment only, usage chunk last, [DONE]."""
    ex = exchange("anthropic", "tools-parallel-stream", 1)
    upstream.expect(Reply.replay(ex))
    body = {"model": _model(ex), "messages": PROMPT, "stream": True, "stream_options": {"include_usage": True}}
    resp = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers={"authorization": "Bearer " + api_key})
    lines = [ln[6:] for ln in resp.text.split("\n") if ln.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(ln) for ln in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    calls = [tc for c in chunks[:-1] for ch in c["choices"] for tc in ch["delta"].get("tool_calls", [])]
    firsts = [tc for tc in calls if "id" in tc]
    assert [tc["index"] for tc in firsts] == [0, 1]
    assert all(tc["function"]["arguments"] == "" and tc["type"] == "function" for tc in firsts)
    assert all("id" not in tc and "name" not in tc["function"] for tc in calls if tc not in firsts)
    assert resp.headers["content-type"].startswith("text/event-stream")


def test_no_usage_chunk_unless_asked(gateway, api_key, upstream):
    upstream.expect(Reply.replay(exchange("anthropic", "text-stream")))
    body = {"model": "anthropic/claude-sonnet-4-0", "messages": PROMPT, "stream": True}
    resp = httpx.post(gateway.url + "/v1/chat/completions", json=body, headers={"authorization": "Bearer " + api_key})
    chunks = [json.loads(ln[6:]) for ln in resp.text.split("\n") if ln.startswith("data: {")]
    assert all("usage" not in c and len(c["choices"]) == 1 for c in chunks)
    assert resp.text.endswith("data: [DONE]\n\n")


def test_error_inside_a_stream_becomes_an_openai_error_chunk(oai, upstream):
    ex = exchange("anthropic", "text-stream")
    events = ex.response_bytes().split(b"\n\n")
    cut = b"\n\n".join(events[:4]) + b"\n\n"
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    upstream.expect(Reply(body=cut + error, headers={"content-type": "text/event-stream"}, chunk_size=23))
    stream = oai.chat.completions.create(model="anthropic/claude-sonnet-4-0", messages=PROMPT, stream=True)
    seen = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            seen.append(chunk)
    assert "Overloaded" in caught.value.message
    assert caught.value.body["type"] == "server_error" and caught.value.body["code"] == "overloaded"
    assert seen and seen[0].choices[0].delta.role == "assistant"


def test_ledger_row_has_the_recorded_usage(oai, gateway, upstream):
    ex = exchange("anthropic", "prompt-cache-sync", 2)
    want = anthropic_rec.read(ex)
    upstream.expect(Reply.replay(ex))
    raw = oai.chat.completions.with_raw_response.create(model=_model(ex), messages=PROMPT)
    row = gateway.ledger_row(raw.headers["request-id"])
    assert row["endpoint"] == "chat_completions" and row["provider"] == "anthropic"
    assert row["input_tokens"] == want.usage["input_tokens"]
    assert row["cache_read_tokens"] == want.usage["cache_read_input_tokens"] > 0
    assert row["output_tokens"] == want.usage["output_tokens"]
    assert row["stop_reason"] == want.stop_reason and row["status"] == 200
    completion = raw.parse()
    assert completion.usage.prompt_tokens_details.cached_tokens == want.usage["cache_read_input_tokens"]


def test_n_above_one_is_a_clear_400(oai, upstream):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="anthropic/claude-sonnet-4-0", messages=PROMPT, n=2)
    body = caught.value.body
    assert body["type"] == "invalid_request_error" and body["param"] == "n"
    assert "claude-sonnet-4-0" in body["message"]
    assert upstream.received == []


SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
JSON_FORMATS = {
    "json_object": ({"type": "json_object"}, {"type": "object"}),
    "json_schema": ({"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}}, SCHEMA),
}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", JSON_FORMATS)
def test_json_output_by_forced_tool_use_answered_as_content(kind, stream, oai, upstream):
    """No schemaless JSON mode on Claude, and no structured outputs before Claude 4.5
    (claude-sonnet-4-0 here): one forced tool takes the schema, and its input comes back as the
    message content. The recorded forced-tool stream, its tool renamed to ours."""
    response_format, input_schema = JSON_FORMATS[kind]
    ex = exchange("anthropic", "forced-tool-stream")
    recorded = ex.response_bytes().replace(b"__mirascope_formatted_output_tool__", b"json_response")
    upstream.expect(Reply(body=recorded, headers={"content-type": "text/event-stream"}, chunk_size=53))
    params = {"model": "anthropic/claude-sonnet-4-0", "messages": PROMPT, "response_format": response_format}
    completion = final_completion(oai, **params) if stream else oai.chat.completions.create(**params)
    want = anthropic_rec.read(ex).tool_calls[0][2]
    assert json.loads(completion.choices[0].message.content) == want
    assert completion.choices[0].message.tool_calls in (None, [])
    assert completion.choices[0].finish_reason == "stop"
    sent = json.loads(upstream.received[0].body)
    assert "output_config" not in sent
    assert sent["tools"] == [
        {
            "name": "json_response",
            "input_schema": input_schema,
            "description": "Give your whole answer as this tool's input: one JSON object.",
        }
    ]
    assert sent["tool_choice"] == {"type": "tool", "name": "json_response"}


def test_json_object_with_tools_is_a_clear_400(oai, upstream):
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(
            model="anthropic/claude-sonnet-4-0", messages=PROMPT, tools=[tool], response_format={"type": "json_object"}
        )
    assert caught.value.body["param"] == "response_format"
    assert upstream.received == []


@pytest.mark.parametrize(
    "messages, param",
    [
        ([], "messages"),
        ([{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}], "messages[0].content[0]"),
        (
            [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[1]"}}]}],
            "messages[0].tool_calls[0].function.arguments",
        ),
    ],
)
def test_bad_requests_name_the_field(oai, upstream, messages, param):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="anthropic/claude-sonnet-4-0", messages=messages)
    assert caught.value.body["param"] == param
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_gateway_key_errors_are_openai_401s(gateway, upstream):
    for key in ("", "sk-not-a-gateway-key"):
        bad = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key or "x", max_retries=0)
        headers = {} if key else {"Authorization": ""}
        with pytest.raises(openai.AuthenticationError) as caught:
            bad.chat.completions.create(model="anthropic/claude-sonnet-4-0", messages=PROMPT, extra_headers=headers)
        assert set(caught.value.body) == {"message", "type", "param", "code"}
        assert caught.value.body["code"] == "invalid_api_key"
    assert upstream.received == []


@pytest.mark.parametrize(
    "case, status, kind",
    [("error-404-model", 404, "invalid_request_error"), ("error-400-invalid-request", 400, "invalid_request_error")],
)
def test_claude_errors_in_openai_envelope(case, status, kind, oai, upstream):
    ex = exchange("anthropic", case)
    upstream.expect(Reply.replay(ex))
    with pytest.raises(openai.APIStatusError) as caught:
        oai.chat.completions.create(model="anthropic/claude-sonnet-4-0", messages=PROMPT)
    assert caught.value.status_code == status
    assert caught.value.body["type"] == kind
    recorded = json.loads(ex.response_bytes())["error"]["message"]
    assert recorded in caught.value.body["message"]


def test_overloaded_claude_is_a_503(oai, upstream):
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_0"}'
    upstream.expect(Reply(529, body, {"content-type": "application/json"}))
    with pytest.raises(openai.InternalServerError) as caught:
        oai.chat.completions.create(model="anthropic/claude-sonnet-4-0", messages=PROMPT)
    assert caught.value.status_code == 503
    assert caught.value.body["code"] == "overloaded"


def test_unknown_provider_is_an_openai_404(oai):
    with pytest.raises(openai.NotFoundError) as caught:
        oai.chat.completions.create(model="nowhere/model", messages=PROMPT)
    assert caught.value.body["code"] == "model_not_found"


def _openai_part(block: dict) -> dict:
    """The Chat Completions part an OpenAI client sends for a recorded Anthropic block."""
    if block["type"] == "text":
        return {"type": "text", "text": block["text"]}
    source = block["source"]
    url = source["url"] if source["type"] == "url" else f"data:{source['media_type']};base64,{source['data']}"
    if block["type"] == "image":
        return {"type": "image_url", "image_url": {"url": url}}
    return {"type": "file", "file": {"filename": "doc.pdf", "file_data": url}}


@pytest.mark.parametrize("case", ["image-input-sync", "image-url-input-sync", "pdf-input-sync"])
def test_images_and_pdfs_reach_claude_as_recorded(case, oai, upstream):
    """The recorded request's image or document, sent by an OpenAI client, reaches Claude as the
    recorded client sent it; the recorded answer comes back."""
    ex = exchange("anthropic", case)
    recorded = ex.request_json()
    upstream.expect(Reply.replay(ex))
    parts = [_openai_part(b) for b in recorded["messages"][0]["content"]]
    completion = oai.chat.completions.create(
        model=_model(ex), max_tokens=recorded["max_tokens"], messages=[{"role": "user", "content": parts}]
    )
    sent = json.loads(upstream.received[0].body)["messages"][0]["content"]
    strip = [{k: v for k, v in b.items() if k not in ("cache_control", "title")} for b in sent]
    want = [{k: v for k, v in b.items() if k != "cache_control"} for b in recorded["messages"][0]["content"]]
    assert strip == want
    assert completion.choices[0].message.content == anthropic_rec.read(ex).text
