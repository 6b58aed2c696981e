"""Refusals on the Responses door, and the same answers on the other doors.

- a model's refusal (a Chat Completions server's `refusal`) is a `message` item with one
  `refusal` part, streamed as `content_part.added` (a refusal part), `response.refusal.delta`...,
  `response.refusal.done`, `content_part.done`; the response is `completed`, as OpenAI's own;
  the Anthropic door shows the same answer as plain text with `stop_reason: refusal`;
- a refusal stop reason without such text (Claude's streaming classifier, Gemini's safety
  reasons, a Bedrock guardrail) is `incomplete` with `incomplete_details.reason:
  content_filter`, what was written before it kept as `output_text`.
"""

from __future__ import annotations

import json

import openai
import pytest
from openai.types.responses import ResponseOutputRefusal, ResponseOutputText

from tests.frontends.responses.support import final, stream
from tests.support import chat_refusal
from tests.support.anthropic_sse import message_stream
from tests.support.fixtures import exchange
from tests.support.upstream import Reply

LOCAL = "ollama/qwen3"  # a Chat Completions server without a Responses API: through the core
SSE = {"content-type": "text/event-stream"}
JSON = {"content-type": "application/json"}


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


def _refusal_reply(mode: str) -> Reply:
    if mode == "stream":
        return Reply(body=chat_refusal.stream(), headers=SSE, chunk_size=29)
    return Reply(body=chat_refusal.completion(), headers=JSON)


@pytest.mark.parametrize("mode", ["create", "stream"])
def test_a_chat_completions_refusal_is_a_refusal_part_of_a_completed_response(mode, oai, gateway, api_key, upstream):
    upstream.expect(_refusal_reply(mode))
    body = {"model": LOCAL, "input": "Help me with something harmful."}
    if mode == "stream":
        events, _ = stream(gateway.url, api_key, body)  # every event checked by the grammar validator
        response = final(events)
        kinds = [e["type"] for e in events]
        added = next(e for e in events if e["type"] == "response.content_part.added")
        assert added["part"] == {"type": "refusal", "refusal": ""}
        assert "".join(e["delta"] for e in events if e["type"] == "response.refusal.delta") == chat_refusal.REFUSAL
        assert [e["refusal"] for e in events if e["type"] == "response.refusal.done"] == [chat_refusal.REFUSAL]
        assert not any(k.startswith("response.output_text") for k in kinds)
    else:
        response = oai.responses.create(**body)
    assert [item.type for item in response.output] == ["message"]
    assert response.output[0].content == [ResponseOutputRefusal(type="refusal", refusal=chat_refusal.REFUSAL)]
    assert response.status == "completed" and response.incomplete_details is None
    assert response.output_text == ""  # the SDK's text accessor reads output_text parts only
    assert response.usage is not None and response.usage.output_tokens == chat_refusal.USAGE.completion_tokens
    assert upstream.received[0].path_qs == "/ollama/v1/chat/completions"


def test_the_sdk_stream_helper_reads_the_refusal(oai, upstream):
    upstream.expect(_refusal_reply("stream"))
    with oai.responses.stream(model=LOCAL, input="Help me with something harmful.") as s:
        deltas = "".join(e.delta for e in s if e.type == "response.refusal.delta")
        response = s.get_final_response()
    assert deltas == chat_refusal.REFUSAL
    assert response.output[0].content == [ResponseOutputRefusal(type="refusal", refusal=chat_refusal.REFUSAL)]


@pytest.mark.parametrize("mode", ["create", "stream"])
def test_the_anthropic_door_shows_the_refusal_as_text_with_stop_reason_refusal(mode, client, upstream):
    upstream.expect(_refusal_reply(mode))
    params = {"model": LOCAL, "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}
    if mode == "stream":
        with client.messages.stream(**params) as s:
            starts = [e.content_block.type for e in s if e.type == "content_block_start"]
            message = s.get_final_message()
        assert starts == ["text"]
    else:
        raw = client.messages.with_raw_response.create(**params)
        message = raw.parse()
        body = json.loads(raw.http_response.content)  # nothing of the gateway's mark on Anthropic's wire
        assert body["content"] == [{"type": "text", "text": chat_refusal.REFUSAL}]
    assert message.stop_reason == "refusal"
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", chat_refusal.REFUSAL)]


@pytest.mark.parametrize("mode", ["create", "stream"])
def test_claudes_refusal_stop_is_incomplete_for_content_filter_with_its_text(mode, oai, gateway, api_key, upstream):
    """Claude's streaming classifier stops an answer with `stop_reason: refusal`; what it wrote
    before is an ordinary answer's text, not the model's refusal."""
    written = [{"type": "text", "text": "Here is how to"}]
    upstream.expect(Reply(body=message_stream(written, "refusal"), headers=SSE, chunk_size=31))
    body = {"model": "anthropic/claude-sonnet-4.5", "input": "Hi"}
    response = final(stream(gateway.url, api_key, body)[0]) if mode == "stream" else oai.responses.create(**body)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "content_filter"
    assert [type(p) for item in response.output for p in item.content] == [ResponseOutputText]  # type: ignore[union-attr]
    assert response.output_text == "Here is how to"


def test_claudes_refusal_stop_is_content_filter_on_the_chat_door(oai, upstream):
    upstream.expect(Reply(body=message_stream([{"type": "text", "text": "No."}], "refusal"), headers=SSE))
    completion = oai.chat.completions.create(
        model="anthropic/claude-sonnet-4.5", messages=[{"role": "user", "content": "Hi"}]
    )
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.choices[0].message.content == "No." and completion.choices[0].message.refusal is None


def test_a_gemini_safety_stop_is_incomplete_for_content_filter(oai, upstream):
    ex = exchange("gemini", "text-sync")
    answer = ex.response_bytes().replace(b'"finishReason": "STOP"', b'"finishReason": "SAFETY"')
    assert answer != ex.response_bytes()
    upstream.expect(Reply(body=answer, headers=JSON))
    response = oai.responses.create(model="gemini/gemini-2.5-flash", input="Hi")
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "content_filter"
    text = json.loads(answer)["candidates"][0]["content"]["parts"][0]["text"]
    assert response.output_text == text


def test_a_bedrock_guardrail_is_incomplete_for_content_filter(oai, upstream):
    ex = exchange("bedrock", "converse-text")
    answer = ex.response_bytes().replace(b'"stopReason": "end_turn"', b'"stopReason": "guardrail_intervened"')
    assert answer != ex.response_bytes()
    upstream.expect(Reply(body=answer, headers=JSON))
    response = oai.responses.create(model="bedrock/amazon.nova-pro-v1:0", input="Hi")
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "content_filter"
    assert response.output_text == json.loads(answer)["output"]["message"]["content"][0]["text"]


def test_a_refusal_sent_back_in_the_history_reaches_the_model_as_its_text(oai, upstream):
    """Clients resend the assistant's refusal part; the model gets it back as its own words."""
    upstream.expect(Reply(body=message_stream([{"type": "text", "text": "Fine."}], "end_turn"), headers=SSE))
    refused = {"role": "assistant", "content": [{"type": "refusal", "refusal": chat_refusal.REFUSAL}]}
    history = [{"role": "user", "content": "Help me with something harmful."}, refused]
    oai.responses.create(model="anthropic/claude-sonnet-4.5", input=[*history, {"role": "user", "content": "Ok."}])
    sent = json.loads(upstream.received[0].body)["messages"]
    assert sent[1] == {"role": "assistant", "content": [{"type": "text", "text": chat_refusal.REFUSAL}]}
