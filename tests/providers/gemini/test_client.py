"""Every Gemini recording, read through the gateway by the official Anthropic SDK.

The fake upstream replays the recorded answer; the SDK's final message must hold what the
recording holds (thought text, answer text, every function call's args, every thought
signature), with the right stop reason and usage, whether the client streamed or not. The
thought signatures, Claude Code's own requests and the recorded errors follow.
"""

from __future__ import annotations

import base64
import json

import anthropic
import httpx
import pytest

from aigateway.providers.gemini import signatures
from tests.conftest import UPSTREAM_KEY
from tests.support import gemini_recordings as recs
from tests.support.fixtures import claude_code_request
from tests.support.gemini_recordings import Recording, anthropic_stop_reason, anthropic_usage, expected
from tests.support.stream_grammar import validate_stream
from tests.support.upstream import Reply

OK = [r for r in recs.recordings() if r.status == 200]
PROMPT = [{"role": "user", "content": "Hello"}]


def reply(rec: Recording, body: bytes | None = None) -> Reply:
    return Reply(
        status=rec.status,
        body=rec.body if body is None else body,
        headers={"content-type": rec.exchange.content_type},
        chunk_size=29 if rec.stream else None,
    )


def read(client: anthropic.Anthropic, model: str, *, stream: bool, **params):
    params = {"max_tokens": 1000, "messages": PROMPT, **params}
    if stream:
        with client.messages.stream(model=model, **params) as s:
            return s.get_final_message(), s.response.headers
    raw = client.messages.with_raw_response.create(model=model, **params)
    return raw.parse(), raw.headers


def gemini_signatures(message) -> list[str]:
    """The thought signatures the gateway folded into the message's thinking blocks."""
    found = [signatures.decode(b.signature) for b in message.content if b.type == "thinking"]
    return [sig for _, sig in filter(None, found)]


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("rec", OK, ids=str)
def test_final_message_holds_what_the_recording_holds(rec, mode, client, upstream):
    want = expected(rec)
    upstream.expect(reply(rec))
    message, headers = read(client, f"gemini/{rec.model}", stream=mode == "stream")

    assert "".join(b.thinking for b in message.content if b.type == "thinking") == want.thinking
    assert "".join(b.text for b in message.content if b.type == "text") == want.text
    assert [(b.name, b.input) for b in message.content if b.type == "tool_use"] == want.calls
    assert gemini_signatures(message) == want.signatures
    assert message.stop_reason == anthropic_stop_reason(want)
    usage = anthropic_usage(want.usage)
    assert message.usage.input_tokens == usage["input_tokens"]
    assert message.usage.cache_read_input_tokens == usage["cache_read_input_tokens"]
    assert message.usage.output_tokens == usage["output_tokens"]
    assert message.model == f"gemini/{rec.model}"
    assert headers["x-aigateway-provider"] == "gemini"

    sent = upstream.received[0]
    method = "streamGenerateContent?alt=sse" if mode == "stream" else "generateContent"
    assert sent.path_qs == f"/gemini/v1beta/models/{rec.model}:{method}"
    assert sent.headers["x-goog-api-key"] == UPSTREAM_KEY and "Authorization" not in sent.headers


@pytest.mark.parametrize("rec", OK, ids=str)
def test_every_gemini_stream_keeps_the_grammar(rec, gateway, api_key, upstream):
    upstream.expect(reply(rec))
    body = {"model": f"gemini/{rec.model}", "max_tokens": 100, "messages": PROMPT, "stream": True}
    resp = httpx.post(gateway.url + "/v1/messages", json=body, headers={"x-api-key": api_key}, timeout=30)
    events = validate_stream(resp.content)
    assert events[-1][0] == "message_stop"
    assert events[0][1]["message"]["usage"]["input_tokens"] > 0  # the gateway's own count, never 0
    if expected(rec).calls:  # each call whole: start, one input_json_delta with all its args, stop
        args = [json.loads(d["delta"]["partial_json"]) for n, d in events if d.get("delta", {}).get("partial_json")]
        assert args == [a for _, a in expected(rec).calls]


def test_text_request_maps_field_by_field(client, upstream):
    """The Anthropic form of gemini/text-sync's request yields exactly the recorded body, plus our
    maxOutputTokens (Anthropic requires max_tokens; the recording set none)."""
    rec = recs.recording("text-sync#1")
    upstream.expect(reply(rec))
    read(client, "gemini/gemini-2.5-flash", stream=False, messages=[{"role": "user", "content": "What is 4200 + 42?"}])
    sent = json.loads(upstream.received[0].body)
    assert sent == {**rec.exchange.request_json(), "generationConfig": {"maxOutputTokens": 1000}}


def test_pdf_and_sampling_reach_gemini(client, upstream):
    rec = recs.recording("pdf-input-sync#1")
    recorded = rec.exchange.request_json()
    text, pdf = recorded["contents"][0]["parts"]
    document = {"type": "base64", "media_type": "application/pdf", "data": pdf["inlineData"]["data"]}
    content = [{"type": "text", "text": text["text"]}, {"type": "document", "source": document}]
    upstream.expect(reply(rec))
    message, _ = read(
        client,
        "gemini/gemini-2.5-flash",
        stream=False,
        messages=[{"role": "user", "content": content}],
        system="Be brief.",
        stop_sequences=["END"],
        extra_body={"temperature": 0.5, "top_p": 0.9, "top_k": 20},  # sampling knobs left this SDK's arguments
    )
    sent = json.loads(upstream.received[0].body)
    assert sent["contents"] == recorded["contents"]
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    config = {"maxOutputTokens": 1000, "temperature": 0.5, "topP": 0.9, "topK": 20, "stopSequences": ["END"]}
    assert sent["generationConfig"] == config
    assert message.content[0].text == expected(rec).text


def _round_trip(client, upstream, case: str, model: str, tools: list[dict], prompt: dict, results: list[str]):
    """Turn 1 streamed from the recording; turn 2 built from the SDK's final message, as a client does."""
    first, second = recs.recording(f"{case}#1"), recs.recording(f"{case}#2")
    upstream.expect(reply(first), reply(second))
    messages = [prompt]
    message, _ = read(client, model, stream=True, messages=messages, tools=tools, **extra_for(case))
    calls = [b for b in message.content if b.type == "tool_use"]
    outputs = [{"type": "tool_result", "tool_use_id": c.id, "content": r} for c, r in zip(calls, results, strict=True)]
    messages += [{"role": "assistant", "content": [b.model_dump() for b in message.content]}]
    messages += [{"role": "user", "content": outputs}]
    answer, _ = read(client, model, stream=True, messages=messages, tools=tools, **extra_for(case))
    assert "".join(b.text for b in answer.content if b.type == "text") == expected(second).text
    return json.loads(upstream.received[1].body), second.exchange.request_json()


def extra_for(case: str) -> dict:
    return {"system": "Use parallel tool calling."} if case == "tools-stream" else {}


def same_signature(ours: str, recorded: str) -> bool:
    """The recorder's SDK re-encoded the signature bytes in URL-safe base64; Google takes both."""
    return base64.b64decode(ours) == base64.urlsafe_b64decode(recorded)


def test_parallel_calls_go_back_with_their_signature_and_responses(client, upstream):
    """gemini/tools-stream: two calls in one chunk, the signature on the first; turn 2 as recorded."""
    schema = {"properties": {"password": {"title": "Password", "type": "string"}}, "required": ["password"]}
    tool = {
        "name": "secret_retrieval_tool",
        "description": "A tool that requires a password to retrieve a secret.",
        "input_schema": {"type": "object", **schema},
    }
    prompt = {"role": "user", "content": "Please retrieve the secrets associated with each of these passwords: "
              "mellon,radiance"}  # fmt: skip
    sent, recorded = _round_trip(
        client,
        upstream,
        "tools-stream",
        "gemini/gemini-2.5-flash",
        [tool],
        prompt,
        ["Welcome to Moria!", "Life before Death"],
    )
    assert sent["systemInstruction"]["parts"] == recorded["systemInstruction"]["parts"]
    assert sent["tools"] == recorded["tools"]
    assert sent["contents"][0] == recorded["contents"][0]
    assert sent["contents"][2] == recorded["contents"][2]  # both functionResponses, names recovered
    ours, theirs = sent["contents"][1]["parts"], recorded["contents"][1]["parts"]
    assert [p["functionCall"] for p in ours] == [p["functionCall"] for p in theirs]
    assert same_signature(ours[0]["thoughtSignature"], theirs[0]["thoughtSignature"])
    assert "thoughtSignature" not in ours[1] and "thoughtSignature" not in theirs[1]
    assert sent["contents"][1]["role"] == "model" and len(sent["contents"]) == 3


@pytest.mark.parametrize("rec", [r for r in recs.recordings() if r.status >= 400], ids=str)
def test_recorded_errors_use_anthropic_types(rec, client, upstream):
    upstream.expect(reply(rec))
    with pytest.raises(anthropic.APIStatusError) as caught:
        read(client, f"gemini/{rec.model}", stream=rec.stream)
    err = caught.value
    recorded = json.loads(rec.body)["error"]
    if recorded["status"] == "INVALID_ARGUMENT":  # API_KEY_INVALID: our credential, not the client's
        assert err.status_code == 502 and err.body["error"]["type"] == "api_error"
        assert "provider 'gemini'" in err.message and "providers.gemini.api_key" in err.message
        assert err.response.headers["x-should-retry"] == "false"
    else:
        assert err.status_code == 404 and err.body["error"]["type"] == "not_found_error"
        assert err.body["error"]["message"] == "gemini: " + recorded["message"]


def test_quota_error_carries_retry_after_from_retry_info(client, upstream):
    upstream.expect(Reply(status=429, body=recs.retry_info_body(), headers={"content-type": "application/json"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        read(client, "gemini/gemini-2.5-flash", stream=False)
    assert caught.value.response.headers["retry-after"] == "35"  # retryDelay "34.4s", rounded up
    assert caught.value.body["error"]["message"] == "gemini: You exceeded your current quota, please check your plan."


def test_unknown_tool_result_id_is_a_400_naming_the_field(client, upstream):
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nowhere", "content": "x"}]},
    ]
    with pytest.raises(anthropic.BadRequestError) as caught:
        read(client, "gemini/gemini-2.5-flash", stream=False, messages=messages)
    assert "messages.1.content.0.tool_use_id" in caught.value.message
    assert upstream.received == []


SCHEMA_FIELDS = {
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "default",
    "example",
    "anyOf",
    "propertyOrdering",
}  # fmt: skip  -- Gemini's Schema object (ai.google.dev/api/caching#Schema)


def schema_problems(node: dict, path: str = "") -> list[str]:
    problems = [f"{path}.{k}" for k in node if k not in SCHEMA_FIELDS]
    if node.get("type") not in ("STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", None):
        problems.append(f"{path}.type={node['type']}")
    for name, child in (node.get("properties") or {}).items():
        problems += schema_problems(child, f"{path}.properties.{name}")
    if "items" in node:
        problems += schema_problems(node["items"], f"{path}.items")
    missing = set(node.get("required", [])) - set(node.get("properties") or {})
    return problems + [f"{path}.required:{m}" for m in missing]


def dropped_fields(body: dict) -> list[str]:
    """What Gemini has no field for: the user id, unmodelled tool fields, unmodelled top-level fields."""
    tool_fields = {f"tools[].{k}" for t in body["tools"] for k in t if k not in ("name", "description", "input_schema")}
    modelled = {"model", "max_tokens", "messages", "system", "stream", "tools", "thinking", "output_config", "metadata"}
    return ["metadata.user_id", *tool_fields, *(k for k in body if k not in modelled)]


def texts(blocks) -> list[str]:
    if isinstance(blocks, str):
        return [blocks] if blocks else []
    return [b["text"] for b in blocks if b.get("type") == "text" and b["text"]]


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("claude-code-sonnet-first-turn", "gemini-2.5-pro"),
        ("claude-code-unknown-model-first-turn", "gemini-3-pro-preview"),
        ("claude-code-unknown-model-tool-result-turn", "gemini-3-pro-preview"),
    ],
)
def test_claude_code_requests_translate_to_gemini(name, model, gateway, api_key, upstream):
    captured = claude_code_request(name)
    body = {**captured["body"], "model": f"gemini/{model}"}
    upstream.expect(reply(recs.recording("text-stream#1")))
    resp = httpx.post(gateway.url + "/v1/messages?beta=true", json=body, headers={"x-api-key": api_key}, timeout=30)
    assert resp.status_code == 200, resp.text
    validate_stream(resp.content)
    dropped = set(resp.headers["x-aigateway-dropped"].split(", "))
    assert {"metadata.user_id", "context_management"} <= dropped <= {*dropped_fields(body)}
    sent = json.loads(upstream.received[0].body)
    assert upstream.received[0].path_qs == f"/gemini/v1beta/models/{model}:streamGenerateContent?alt=sse"

    system_turns = [m for m in body["messages"] if m["role"] == "system"]
    want_system = texts(body["system"]) + [t for m in system_turns for t in texts(m["content"])]
    assert [p["text"] for p in sent["systemInstruction"]["parts"]] == want_system
    turns = [m for m in body["messages"] if m["role"] != "system"]
    assert [c["role"] for c in sent["contents"]] == ["model" if m["role"] == "assistant" else "user" for m in turns]
    for turn, content in zip(turns, sent["contents"], strict=True):
        assert [p["text"] for p in content["parts"] if "text" in p] == texts(turn["content"])

    declarations = sent["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declarations] == [t["name"] for t in body["tools"]]
    assert [d.get("description") for d in declarations] == [t.get("description") for t in body["tools"]]
    for declaration in declarations:
        assert schema_problems(declaration["parameters"]) == [], declaration["name"]

    config = sent["generationConfig"]
    assert config["maxOutputTokens"] == body["max_tokens"]
    if body["thinking"]["type"] == "enabled":  # budget 31999 on 2.5 Pro; display omitted: no thoughts
        assert config["thinkingConfig"] == {"thinkingBudget": 31999}
    else:  # adaptive with effort high on Gemini 3
        assert config["thinkingConfig"] == {"thinkingLevel": "high"}

    calls = [b for m in turns for b in m["content"] if isinstance(m["content"], list) and b["type"] == "tool_use"]
    results = [b for m in turns for b in m["content"] if isinstance(m["content"], list) and b["type"] == "tool_result"]
    sent_parts = [p for c in sent["contents"] for p in c["parts"]]
    assert [p["functionCall"] for p in sent_parts if "functionCall" in p] == [
        {"name": c["name"], "args": c["input"], "id": c["id"]} for c in calls
    ]
    assert [p["functionResponse"] for p in sent_parts if "functionResponse" in p] == [
        {"name": "Bash", "id": r["tool_use_id"], "response": {"output": "\n".join(texts(r["content"]))}}
        for r in results
    ]


# The shape of CountTokensResponse in google-genai's types (total_tokens, prompt_tokens_details);
# no recording of a countTokens exchange exists.
COUNT_ANSWER = b'{"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 31}]}'


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("gemini/gemini-2.5-flash", "/gemini/v1beta/models/gemini-2.5-flash:countTokens"),
        ("vertex/gemini-2.5-flash", "/vertex/v1/projects/test-project/locations/us-east5/publishers/google/models/"
         "gemini-2.5-flash:countTokens"),
    ],
)  # fmt: skip
def test_count_tokens_asks_geminis_own_counter(model, path, request, upstream):
    client = request.getfixturevalue("vertex_client" if model.startswith("vertex/") else "client")
    upstream.expect(Reply(body=COUNT_ANSWER, headers={"content-type": "application/json"}))
    tool = {"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}}
    raw = client.messages.with_raw_response.count_tokens(model=model, messages=PROMPT, system="Be brief.", tools=[tool])
    assert raw.parse().input_tokens == 31
    assert raw.headers["x-aigateway-token-count"] == f"counted; provider={model.split('/')[0]}"
    got = upstream.received[0]
    assert got.path_qs == path
    sent = json.loads(got.body)
    request = sent["generateContentRequest"] if model.startswith("gemini/") else sent
    if model.startswith("gemini/"):
        assert request.pop("model") == "models/gemini-2.5-flash"
    assert request == {
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "tools": [
            {
                "functionDeclarations": [
                    {"name": "f", "description": "d", "parameters": {"type": "OBJECT", "properties": {}}}
                ]
            }
        ],
    }


def _stream_raw(gateway, api_key, upstream, body: bytes) -> list[tuple[str, dict]]:
    upstream.expect(Reply(body=body, headers={"content-type": "text/event-stream"}, chunk_size=17))
    request = {"model": "gemini/gemini-2.5-flash", "max_tokens": 100, "messages": PROMPT, "stream": True}
    resp = httpx.post(gateway.url + "/v1/messages", json=request, headers={"x-api-key": api_key}, timeout=30)
    assert resp.status_code == 200
    return validate_stream(resp.content)


def test_error_inside_a_gemini_stream_ends_it_with_one_error_event(gateway, api_key, upstream):
    rec = recs.recording("tools-stream#2")
    first = rec.body.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
    error = json.dumps({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}})
    events = _stream_raw(gateway, api_key, upstream, first + b"data: " + error.encode() + b"\r\n\r\n")
    names = [name for name, _ in events]
    assert names[0] == "message_start" and "content_block_delta" in names and names[-1] == "error"
    assert "message_stop" not in names
    assert (
        events[-1][1]["error"]["message"]
        == "Upstream provider 'gemini' reported an error mid-stream: The model is overloaded."
    )


def test_gemini_stream_cut_before_its_finish_reason_is_an_error(gateway, api_key, upstream):
    rec = recs.recording("tools-stream#2")
    events = _stream_raw(gateway, api_key, upstream, rec.body.split(b"\r\n\r\n")[0] + b"\r\n\r\n")
    assert events[-1][0] == "error" and "before its finishReason" in events[-1][1]["error"]["message"]


def test_malformed_function_call_is_an_upstream_error_not_an_empty_answer(gateway, api_key, upstream, client):
    """Gemini's MALFORMED_FUNCTION_CALL has no Anthropic stop reason; an empty end_turn would leave
    an agent stuck, so it is an api_error the SDKs retry (and, streamed, a failure before any
    content: an ordinary failed attempt, not a started stream)."""
    chunk = recs.chunks(recs.recording("max-tokens-stream#1"))[0]
    chunk["candidates"][0] = {"content": {"role": "model", "parts": []}, "finishReason": "MALFORMED_FUNCTION_CALL"}
    body = b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n"
    upstream.expect(Reply(body=body, headers={"content-type": "text/event-stream"}, chunk_size=17))
    with pytest.raises(anthropic.APIStatusError) as caught:
        read(client, "gemini/gemini-2.5-flash", stream=True)
    assert caught.value.status_code >= 500 and caught.value.body["error"]["type"] == "api_error"
    upstream.expect(Reply(body=json.dumps(chunk).encode(), headers={"content-type": "application/json"}))
    with pytest.raises(anthropic.APIStatusError) as caught:
        read(client, "gemini/gemini-2.5-flash", stream=False)
    assert caught.value.status_code == 502 and "MALFORMED_FUNCTION_CALL" in caught.value.message


def test_blocked_prompt_is_a_refusal(client, upstream):
    usage = {"promptTokenCount": 12, "totalTokenCount": 12}
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage}
    upstream.expect(Reply(body=json.dumps(blocked).encode(), headers={"content-type": "application/json"}))
    message, _ = read(client, "gemini/gemini-2.5-flash", stream=False)
    assert message.stop_reason == "refusal" and message.content == []
    assert message.usage.input_tokens == 12


@pytest.mark.parametrize(
    ("status", "google", "want_status", "want_type"),
    [
        (503, "UNAVAILABLE", 529, "overloaded_error"),
        (500, "INTERNAL", 500, "api_error"),
        (504, "DEADLINE_EXCEEDED", 504, "api_error"),
        (403, "PERMISSION_DENIED", 502, "api_error"),
        (400, "FAILED_PRECONDITION", 400, "invalid_request_error"),
    ],
)
def test_google_statuses_map_to_anthropic_types(status, google, want_status, want_type, client, upstream):
    body = json.dumps({"error": {"code": status, "message": "something", "status": google}}).encode()
    upstream.expect(Reply(status=status, body=body, headers={"content-type": "application/json"}))
    with pytest.raises(anthropic.APIStatusError) as caught:
        read(client, "gemini/gemini-2.5-flash", stream=False)
    assert caught.value.status_code == want_status and caught.value.body["error"]["type"] == want_type


def test_streamed_usage_reaches_the_ledger(client, gateway, upstream):
    rec = recs.recording("thinking-stream-2.5-pro#1")
    upstream.expect(reply(rec))
    with client.messages.stream(model="gemini/gemini-2.5-pro", max_tokens=1000, messages=PROMPT) as s:
        message = s.get_final_message()
        request_id = s.response.headers["request-id"]
    row = gateway.ledger_row(request_id)
    assert (row["provider"], row["upstream_model"], row["stop_reason"]) == ("gemini", "gemini-2.5-pro", "end_turn")
    assert row["input_tokens"] == message.usage.input_tokens == 34
    assert row["output_tokens"] == message.usage.output_tokens == 469 + 787  # candidates + thoughts


@pytest.mark.parametrize(("fixture", "provider"), [("client", "gemini"), ("vertex_client", "vertex")])
def test_google_model_id_is_served_by_whichever_google_provider_is_configured(fixture, provider, request, upstream):
    """The catalog's `google/gemini-2.5-flash` goes to the Gemini API or to Vertex, as configured."""
    client = request.getfixturevalue(fixture)
    rec = recs.recording("text-sync#1")
    upstream.expect(reply(rec))
    message, headers = read(client, "google/gemini-2.5-flash", stream=False)
    assert message.content[0].text == expected(rec).text and message.model == "google/gemini-2.5-flash"
    assert headers["x-aigateway-provider"] == provider
    assert headers["x-aigateway-upstream-model"] == "gemini-2.5-flash"
    assert upstream.received[0].path_qs.endswith("/models/gemini-2.5-flash:generateContent")
    assert "google/gemini-2.5-flash" in [m.id for m in client.models.list(limit=1000).data]


def test_claude_code_itself_carries_geminis_thought_signature_back(gateway, api_key, upstream, tmp_path):
    """`claude -p` on a Gemini model: turn 1 is gemini/tools-stream's two calls with a signature;
    Claude Code runs them (they are not its tools, so it reports errors) and sends turn 2 built from
    the blocks it kept. Gemini must find its signature on the first call of turn 2."""
    from tests.frontends.anthropic.test_claude_code import claude

    first, second = recs.recording("tools-stream#1"), recs.recording("tools-stream#2")
    upstream.expect(reply(first), *[reply(second) for _ in range(4)])
    proc = claude(gateway, api_key, tmp_path, "gemini/gemini-2.5-flash", "gemini/gemini-2.5-flash-lite")
    assert proc.stdout.strip() == expected(second).text

    turn2 = json.loads(upstream.received[1].body)["contents"]
    calls = [p for p in turn2[-2]["parts"] if "functionCall" in p]
    assert [c["functionCall"]["args"] for c in calls] == [{"password": "mellon"}, {"password": "radiance"}]
    assert calls[0]["thoughtSignature"] == expected(first).signatures[0] and "thoughtSignature" not in calls[1]
    responses = [p["functionResponse"] for p in turn2[-1]["parts"] if "functionResponse" in p]
    assert [r["name"] for r in responses] == ["secret_retrieval_tool"] * 2
    assert all("error" in r["response"] for r in responses)  # Claude Code has no such tool: is_error
