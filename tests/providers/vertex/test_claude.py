"""Claude on Vertex AI through the core: the OpenAI doors' requests reach `rawPredict` /
`streamRawPredict` in Anthropic's body (no `model`, `anthropic_version: vertex-2023-10-16`), with
a Google token, and every recorded Claude answer comes back to the official `openai` SDK as the
recording says; Claude's errors and Google's are told apart; `/v1/responses/input_tokens` asks
Vertex's Claude counter."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.frontends.openai.test_passthrough import final_completion
from tests.frontends.responses.support import final, read, stream
from tests.providers.vertex.test_client import MODEL, PREFIX, bearer
from tests.support import anthropic_recordings as anthropic_rec
from tests.support import fixtures
from tests.support.upstream import Reply

RECORDINGS = anthropic_rec.messages_exchanges()
HELLO = [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]
VERSION = "vertex-2023-10-16"


@pytest.fixture
def oai(vertex_gateway, vertex_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=vertex_gateway.url + "/v1", api_key=vertex_key, max_retries=0)


def _sent(upstream, stream: bool) -> dict[str, Any]:
    """The one request Vertex received: Claude's URL, a Google token, Anthropic's body."""
    assert len(upstream.received) == 1
    got = upstream.received[0]
    assert got.path_qs == f"{PREFIX}/anthropic/models/{MODEL}:{'streamRawPredict' if stream else 'rawPredict'}"
    bearer(upstream, got)
    assert got.headers["Accept"] == ("text/event-stream" if stream else "application/json")
    assert "x-api-key" not in got.headers and "x-goog-api-key" not in got.headers
    assert got.body.startswith(b'{"anthropic_version":"vertex-2023-10-16"')  # as the passthrough writes it
    return json.loads(got.body)


@pytest.mark.parametrize("ex", RECORDINGS, ids=lambda ex: ex.name)
def test_chat_completions_on_claude_reach_raw_predict_in_anthropics_body(ex, oai, upstream):
    want = anthropic_rec.read(ex)
    upstream.expect(Reply.replay(ex))
    params = {"model": f"vertex/{MODEL}", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 100}
    if ex.stream:
        completion = final_completion(oai, **params, stream_options={"include_usage": True})
    else:
        completion = oai.chat.completions.create(**params)
    want_body: dict[str, Any] = {"anthropic_version": VERSION, "max_tokens": 100, "messages": HELLO}
    assert _sent(upstream, ex.stream) == ({**want_body, "stream": True} if ex.stream else want_body)
    message = completion.choices[0].message
    assert (message.content or "") == want.text
    assert (message.model_extra or {}).get("reasoning_content", "") == want.thinking
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
    assert calls == want.tool_calls
    assert completion.choices[0].finish_reason == want.finish_reason
    assert completion.usage is not None and completion.usage.completion_tokens == want.usage["output_tokens"]
    assert completion.model == f"vertex/{MODEL}"


@pytest.mark.parametrize("ex", RECORDINGS, ids=lambda ex: ex.name)
def test_responses_on_claude_reach_raw_predict_in_anthropics_body(ex, oai, vertex_gateway, vertex_key, upstream):
    want = anthropic_rec.read(ex)
    upstream.expect(Reply.replay(ex))
    body = {"model": f"vertex/{MODEL}", "input": "Hello", "max_output_tokens": 100, "reasoning": {"summary": "auto"}}
    # a stream is read through the grammar validator
    response = final(stream(vertex_gateway.url, vertex_key, body)[0]) if ex.stream else oai.responses.create(**body)
    want_body: dict[str, Any] = {"anthropic_version": VERSION, "max_tokens": 100, "messages": HELLO}
    assert _sent(upstream, ex.stream) == ({**want_body, "stream": True} if ex.stream else want_body)
    got = read(response)
    assert (got.text, got.summary, got.calls) == (want.text, want.thinking, want.tool_calls)
    assert response.status == ("incomplete" if want.stop_reason == "max_tokens" else "completed")
    assert response.usage is not None and response.usage.output_tokens == want.usage["output_tokens"]


def test_the_catalog_claude_model_goes_to_vertex_through_both_openai_doors(oai, upstream):
    ex = fixtures.exchange("anthropic", "text-sync")
    upstream.expect(Reply.replay(ex), Reply.replay(ex))
    chat = oai.chat.completions.with_raw_response.create(
        model="anthropic/claude-sonnet-4.5", messages=[{"role": "user", "content": "Hello"}]
    )
    responses = oai.responses.with_raw_response.create(model="anthropic/claude-sonnet-4.5", input="Hello")
    text = anthropic_rec.read(ex).text
    assert chat.parse().choices[0].message.content == text and responses.parse().output_text == text
    for raw in (chat, responses):
        assert raw.headers["x-aigateway-provider"] == "vertex"
        assert raw.headers["x-aigateway-upstream-model"] == MODEL
    assert [r.path_qs for r in upstream.received] == [f"{PREFIX}/anthropic/models/{MODEL}:rawPredict"] * 2


def test_tools_and_a_tool_round_trip_go_in_anthropics_shape(oai, upstream):
    first = fixtures.exchange("anthropic", "tools-parallel-sync")
    upstream.expect(Reply.replay(first), Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}]
    answer = oai.responses.create(model=f"vertex/{MODEL}", input="Weather?", tools=tools)
    calls = [i for i in answer.output if i.type == "function_call"]
    assert [(c.call_id, c.name) for c in calls] == [(c, n) for c, n, _ in anthropic_rec.read(first).tool_calls]
    history: list[Any] = [{"role": "user", "content": "Weather?"}, *[c.model_dump(exclude_none=True) for c in calls]]
    history += [{"type": "function_call_output", "call_id": c.call_id, "output": "sunny"} for c in calls]
    oai.responses.create(model=f"vertex/{MODEL}", input=history, tools=tools)
    sent = [json.loads(r.body) for r in upstream.received]
    assert sent[0]["tools"] == [{"name": "get_weather", "input_schema": {"type": "object"}}]
    assert [m["role"] for m in sent[1]["messages"]] == ["user", "assistant", "user"]
    assert [b["id"] for b in sent[1]["messages"][1]["content"]] == [c.call_id for c in calls]
    results = sent[1]["messages"][2]["content"]
    assert [(b["type"], b["tool_use_id"], b["content"]) for b in results] == [
        ("tool_result", c.call_id, "sunny") for c in calls
    ]
    assert all("model" not in body and body["anthropic_version"] == VERSION for body in sent)


def test_claudes_own_error_keeps_its_status_and_a_google_refusal_names_the_credentials(oai, upstream):
    ex = fixtures.exchange("anthropic", "error-400-invalid-request")
    upstream.expect(Reply.replay(ex))
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model=f"vertex/{MODEL}", messages=[{"role": "user", "content": "Hi"}])
    assert json.loads(ex.response_bytes())["error"]["message"] in caught.value.message
    denied = {"error": {"code": 403, "message": "Permission denied on resource project", "status": "PERMISSION_DENIED"}}
    upstream.expect(Reply(status=403, body=json.dumps(denied).encode(), headers={"content-type": "application/json"}))
    with pytest.raises(openai.APIStatusError) as failed:
        oai.responses.create(model=f"vertex/{MODEL}", input="Hi")
    assert failed.value.status_code == 502
    assert "providers.vertex.credentials_file" in failed.value.message


def test_input_tokens_of_claude_are_counted_by_vertex(oai, vertex_gateway, vertex_key, upstream):
    ex = fixtures.exchange("anthropic", "count-tokens", 1)
    upstream.expect(Reply.replay(ex))
    resp = oai.post(
        "/responses/input_tokens",
        cast_to=object,
        body={"model": f"vertex/{MODEL}", "input": "Hello", "instructions": "Be brief.", "max_output_tokens": 50},
    )
    assert resp == {"object": "response.input_tokens", "input_tokens": json.loads(ex.response_bytes())["input_tokens"]}
    got = upstream.received[0]
    assert got.path_qs == f"{PREFIX}/anthropic/models/count-tokens:rawPredict"
    bearer(upstream, got)
    assert json.loads(got.body) == {
        "anthropic_version": VERSION,
        "model": MODEL,
        "messages": HELLO,
        "system": [{"type": "text", "text": "Be brief."}],
    }  # what count_tokens takes: no max_tokens
