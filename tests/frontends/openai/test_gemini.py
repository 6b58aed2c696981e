"""Every Gemini recording, read through the Chat Completions door by the official openai SDK.

The request goes OpenAI body -> core -> Gemini, the answer Gemini -> core -> chat.completion;
what the SDK reads must be what the plain reading of the recording says
(tests/support/gemini_recordings.py), in both modes.
"""

from __future__ import annotations

import json

import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.frontends.openai.test_passthrough import final_completion
from tests.support import gemini_recordings as recs
from tests.support.gemini_recordings import anthropic_stop_reason, anthropic_usage, expected
from tests.support.upstream import Reply

OK = [r for r in recs.recordings() if r.status == 200]
PROMPT = [{"role": "user", "content": "Hello"}]
FINISH = {"end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("rec", OK, ids=str)
def test_sdk_reads_what_the_gemini_recording_holds(rec, mode, oai, upstream):
    want = expected(rec)
    reply = Reply(
        body=rec.body, headers={"content-type": rec.exchange.content_type}, chunk_size=29 if rec.stream else None
    )
    upstream.expect(reply)
    model = f"gemini/{rec.model}"
    if mode == "stream":
        completion = final_completion(oai, model=model, messages=PROMPT, stream_options={"include_usage": True})
    else:
        completion = oai.chat.completions.create(model=model, messages=PROMPT)
    message = completion.choices[0].message
    assert (message.content or "") == want.text
    assert (message.model_extra or {}).get("reasoning_content", "") == want.thinking
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] == want.calls
    assert completion.choices[0].finish_reason == FINISH[anthropic_stop_reason(want)]
    usage = anthropic_usage(want.usage)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == usage["input_tokens"] + usage["cache_read_input_tokens"]
    assert completion.usage.prompt_tokens_details.cached_tokens == usage["cache_read_input_tokens"]
    assert completion.usage.completion_tokens == usage["output_tokens"]
    assert completion.model == model
    sent = upstream.received[0]
    method = "streamGenerateContent?alt=sse" if mode == "stream" else "generateContent"
    assert sent.path_qs == f"/gemini/v1beta/models/{rec.model}:{method}"
    assert sent.headers["x-goog-api-key"] == UPSTREAM_KEY


def test_openai_request_reaches_gemini_through_the_core(oai, upstream):
    rec = recs.recording("text-sync#1")
    upstream.expect(Reply(body=rec.body, headers={"content-type": rec.exchange.content_type}))
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    raw = oai.chat.completions.with_raw_response.create(
        model=f"gemini/{rec.model}",
        messages=[{"role": "developer", "content": "Be brief."}, *PROMPT],
        tools=[tool],
        max_completion_tokens=321,
        stop=["END"],
        seed=5,
        presence_penalty=0.5,
        logprobs=True,
        response_format={"type": "json_object"},
    )
    sent = json.loads(upstream.received[0].body)
    assert sent["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert sent["contents"] == [{"role": "user", "parts": [{"text": "Hello"}]}]
    assert sent["generationConfig"]["maxOutputTokens"] == 321
    assert sent["generationConfig"]["stopSequences"] == ["END"]
    assert ("tools" in sent and "toolConfig" not in sent) or sent["toolConfig"]
    assert sent["tools"][0]["functionDeclarations"][0]["name"] == "lookup"
    config = sent["generationConfig"]
    assert (config["seed"], config["presencePenalty"], config["responseMimeType"]) == (5, 0.5, "application/json")
    assert raw.headers["x-aigateway-dropped"] == "logprobs"  # no way back for Gemini's logprobs


def test_more_than_one_choice_is_a_clear_400(oai, upstream):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="gemini/gemini-2.5-flash", messages=PROMPT, n=2)
    assert caught.value.body["param"] == "n" and upstream.received == []
