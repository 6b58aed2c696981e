"""Claude on Bedrock: InvokeModel / InvokeModelWithResponseStream as a passthrough.

The client's Anthropic body reaches Bedrock with only Bedrock's edits (checked byte for byte),
every request carries a SigV4 signature that botocore verifies with the test credentials, the
JSON answer comes back unchanged, and AWS's event stream of base64 Anthropic events comes back
as the Anthropic SSE those events are.
"""

from __future__ import annotations

import base64
import json

import anthropic
import httpx
import pytest

from tests.support import bedrock
from tests.support.bedrock import BEDROCK_TOKEN, chunk_frame, exception_frame, verify_sigv4
from tests.support.fixtures import ROOT, claude_code_request, exchange
from tests.support.stream_grammar import parse_events, validate_stream
from tests.support.upstream import Reply

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
BETAS = "interleaved-thinking-2025-05-14,context-1m-2025-08-07"
EVENT_STREAM = {"content-type": "application/vnd.amazon.eventstream"}


def _members(body: bytes) -> list[bytes]:
    """Each top-level member of a pretty-printed object, as written (one per top-level line)."""
    lines = body.decode().split("\n")[1:-1]
    members, current = [], []
    for line in lines:
        if line.startswith('  "') and current:
            members.append("\n".join(current).rstrip(","))
            current = []
        current.append(line)
    members.append("\n".join(current).rstrip(","))
    return [m.strip().encode() for m in members]


def test_invoke_body_is_the_clients_with_only_bedrocks_edits(gateway, api_key, upstream):
    ex = exchange("bedrock", "invoke-anthropic-messages-cache", 1)
    recorded = json.loads(ex.request_bytes())
    client_body = {"model": f"bedrock/{CLAUDE}", **{k: v for k, v in recorded.items() if k != "anthropic_version"}}
    raw = json.dumps(client_body, indent=2).encode()  # whitespace and order as a client might write
    aws_id = "2f7c3a3e-3b9c-4a8e-9b1a-0c6f1e2d3a4b"
    upstream.expect(
        Reply(body=ex.response_bytes(), headers={"content-type": "application/json", "x-amzn-requestid": aws_id})
    )
    resp = httpx.post(
        gateway.url + "/v1/messages",
        content=raw,
        headers={"x-api-key": api_key, "content-type": "application/json", "anthropic-beta": BETAS},
        timeout=30,
    )
    assert resp.status_code == 200
    assert resp.content == ex.response_bytes()  # the JSON answer passes through
    assert resp.headers["x-upstream-request-id"] == aws_id  # what AWS support asks for

    sent = upstream.received[0]
    assert sent.raw_path == "/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke"
    kept = [m for m in _members(raw) if not m.startswith(b'"model"')]
    added = [
        b'"anthropic_version":"bedrock-2023-05-31"',
        b'"anthropic_beta":' + json.dumps(BETAS.split(","), separators=(",", ":")).encode(),
    ]
    assert sent.body == b"{" + b",".join(kept + added) + b"}"
    assert json.loads(sent.body) == {**recorded, "anthropic_beta": BETAS.split(",")}
    signed = verify_sigv4(sent)
    assert {"host", "x-amz-date", "x-amz-security-token", "content-type"} <= signed


@pytest.mark.parametrize("number", [1, 2])
def test_recorded_invoke_answers_read_by_the_sdk(number, client, upstream):
    ex = exchange("bedrock", "invoke-anthropic-messages-cache", number)
    recorded = json.loads(ex.request_bytes())
    answer = json.loads(ex.response_bytes())
    upstream.expect(Reply(body=ex.response_bytes(), headers={"content-type": "application/json"}))
    message = client.messages.create(
        model=f"bedrock/{CLAUDE}",
        max_tokens=recorded["max_tokens"],
        messages=recorded["messages"],
        system=recorded["system"],
    )
    assert message.content[0].text == answer["content"][0]["text"]
    assert message.usage.cache_creation_input_tokens == answer["usage"]["cache_creation_input_tokens"]
    assert message.usage.cache_read_input_tokens == answer["usage"]["cache_read_input_tokens"]
    assert message.usage.input_tokens == answer["usage"]["input_tokens"]
    assert json.loads(upstream.received[0].body) == recorded  # cache_control kept where the client put it
    verify_sigv4(upstream.received[0])


def _invoke_stream(sse_name: str) -> tuple[bytes, list[tuple[str, dict]]]:
    """A recorded Anthropic SSE stream re-framed as Bedrock sends it, and its events."""
    events = [(e.event, json.loads(e.data)) for e in parse_events((ROOT / "anthropic" / sse_name).read_bytes())]
    body = b"".join(chunk_frame(json.dumps(data).encode()) for _, data in events)
    return body, events


@pytest.mark.parametrize("sse", ["tools-parallel-stream.1.response.sse", "thinking-stream.1.response.sse"])
def test_invoke_stream_becomes_the_anthropic_sse_it_carries(sse, gateway, api_key, client, upstream):
    body, events = _invoke_stream(sse)
    upstream.expect(Reply(body=body, headers=EVENT_STREAM, chunk_size=53))
    request = {"model": f"bedrock/{CLAUDE}", "max_tokens": 1000, "messages": [{"role": "user", "content": "Hi"}]}
    resp = httpx.post(
        gateway.url + "/v1/messages", json={**request, "stream": True}, headers={"x-api-key": api_key}, timeout=30
    )
    assert validate_stream(resp.content) == events
    sent = upstream.received[0]
    assert sent.raw_path == "/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream"
    assert "stream" not in json.loads(sent.body) and "model" not in json.loads(sent.body)
    verify_sigv4(sent)

    # The SDK's reading equals its reading of the original Anthropic stream.
    upstream.expect(Reply(body=body, headers=EVENT_STREAM, chunk_size=7))
    with client.messages.stream(**request) as stream:
        through_bedrock = stream.get_final_message()
    upstream.expect(Reply(body=(ROOT / "anthropic" / sse).read_bytes(), headers={"content-type": "text/event-stream"}))
    with client.messages.stream(**{**request, "model": "anthropic/claude-sonnet-4"}) as stream:
        direct = stream.get_final_message()
    assert through_bedrock.content == direct.content
    assert through_bedrock.usage == direct.usage and through_bedrock.stop_reason == direct.stop_reason


@pytest.mark.parametrize(
    ("exception", "error_type"),
    [
        ("throttlingException", "rate_limit_error"),
        ("modelStreamErrorException", "api_error"),
        ("serviceUnavailableException", "overloaded_error"),
    ],
)
def test_exception_inside_an_invoke_stream_is_one_error_event(exception, error_type, gateway, api_key, upstream):
    _, events = _invoke_stream("tools-parallel-stream.1.response.sse")
    head = b"".join(chunk_frame(json.dumps(data).encode()) for _, data in events[:4])
    upstream.expect(
        Reply(
            body=head + exception_frame(exception, "Something went wrong upstream."),
            headers=EVENT_STREAM,
            chunk_size=19,
        )
    )
    request = {
        "model": f"bedrock/{CLAUDE}",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
    }
    resp = httpx.post(gateway.url + "/v1/messages", json=request, headers={"x-api-key": api_key}, timeout=30)
    got = validate_stream(resp.content)
    assert got[:4] == events[:4]
    assert [name for name, _ in got].count("error") == 1 and got[-1][0] == "error"
    assert got[-1][1]["error"]["type"] == error_type
    assert "Something went wrong upstream." in got[-1][1]["error"]["message"]


def test_claude_code_request_reaches_bedrock_with_only_bedrocks_edits(gateway, api_key, upstream):
    """Claude Code's own first turn (88 KB, 12 tools, beta flags, thinking, ?beta=true)."""
    captured = claude_code_request("claude-code-sonnet-first-turn")
    raw = json.dumps({**captured["body"], "model": f"bedrock/{CLAUDE}"}).encode()
    body, events = _invoke_stream("text-stream.response.sse")
    upstream.expect(Reply(body=body, headers=EVENT_STREAM, chunk_size=101))
    headers = {k: v for k, v in captured["headers"].items() if k.lower().startswith("anthropic-")}
    resp = httpx.post(
        gateway.url + "/v1/messages?beta=true",
        content=raw,
        headers={**headers, "x-api-key": api_key, "content-type": "application/json"},
        timeout=30,
    )
    assert validate_stream(resp.content) == events
    sent = upstream.received[0]
    assert sent.raw_path.endswith("/invoke-with-response-stream")
    forwarded = json.loads(sent.body)
    original = {k: v for k, v in captured["body"].items() if k not in ("model", "stream")}
    assert forwarded == {
        **original,
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": headers["anthropic-beta"].split(","),
    }
    # every member the client wrote is in the sent body byte for byte
    for key, value in original.items():
        member = json.dumps(key).encode() + b": " + json.dumps(value).encode()
        assert member in raw and member in sent.body, key
    verify_sigv4(sent)


def test_count_tokens_uses_bedrocks_counter(client, upstream):
    upstream.expect(Reply(body=b'{"inputTokens": 42}', headers={"content-type": "application/json"}))
    count = client.messages.count_tokens(
        model=f"bedrock/{CLAUDE}", messages=[{"role": "user", "content": "Hello"}], system="Be brief."
    )
    assert count.input_tokens == 42
    sent = upstream.received[0]
    assert sent.raw_path == "/bedrock/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens"
    inner = json.loads(base64.b64decode(json.loads(sent.body)["input"]["invokeModel"]["body"]))
    assert inner == {
        "messages": [{"role": "user", "content": "Hello"}],
        "system": "Be brief.",
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1,
    }
    verify_sigv4(sent)


def test_api_key_is_sent_as_a_bearer_token(client, upstream):
    ex = exchange("bedrock", "invoke-anthropic-messages-cache", 2)
    upstream.expect(Reply(body=ex.response_bytes(), headers={"content-type": "application/json"}))
    client.messages.create(
        model="bedrock_key/eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        max_tokens=10,
        messages=[{"role": "user", "content": "Hi"}],
    )
    sent = upstream.received[0]
    assert sent.raw_path == "/bedrock-key/model/eu.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke"
    assert sent.headers["Authorization"] == "Bearer " + BEDROCK_TOKEN
    assert "X-Amz-Date" not in sent.headers


@pytest.mark.parametrize(
    ("errortype", "status", "want_status", "want_type"),
    [
        ("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", 400, 400, "invalid_request_error"),
        ("ThrottlingException", 429, 429, "rate_limit_error"),
        ("ServiceUnavailableException", 503, 529, "overloaded_error"),
        ("ModelNotReadyException", 429, 529, "overloaded_error"),
        ("ResourceNotFoundException", 404, 404, "not_found_error"),
        ("ModelTimeoutException", 408, 504, "timeout_error"),
        ("InternalServerException", 500, 500, "api_error"),
    ],
)
@pytest.mark.parametrize("model", [CLAUDE, "us.amazon.nova-micro-v1:0"], ids=["invoke", "converse"])
def test_bedrock_errors_come_back_in_anthropics_envelope(
    errortype, status, want_status, want_type, model, client, upstream
):
    body = b'{"message":"Something specific went wrong."}'
    upstream.expect(
        Reply(status=status, body=body, headers={"content-type": "application/json", "x-amzn-errortype": errortype})
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model=f"bedrock/{model}", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    err = caught.value
    assert err.status_code == want_status
    assert err.body["type"] == "error" and err.body["error"]["type"] == want_type
    assert err.body["error"]["message"] == f"bedrock: {errortype.split(':')[0]}: Something specific went wrong."


@pytest.mark.parametrize("errortype", ["AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"])
def test_refused_aws_credentials_are_the_gateways_fault(errortype, client, upstream):
    body = b'{"message":"User: arn:aws:iam::123456789012:user/gw is not authorized to perform: bedrock:InvokeModel"}'
    upstream.expect(
        Reply(status=403, body=body, headers={"content-type": "application/json", "x-amzn-errortype": errortype})
    )
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(model=f"bedrock/{CLAUDE}", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    err = caught.value
    assert err.status_code == 502 and err.body["error"]["type"] == "api_error"
    assert "provider 'bedrock'" in err.message and "123456789012" not in err.message
    assert err.response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize("case", ["error-400-validation", "error-400-stream-request"])
def test_recorded_bedrock_errors(case, client, upstream):
    """Recorded without the x-amzn-errortype header: the status decides (400: ValidationException)."""
    ex = exchange("bedrock", case)
    upstream.expect(Reply(status=ex.status, body=ex.response_bytes(), headers={"content-type": ex.content_type}))
    model = "bedrock/" + bedrock.recorded_model(ex).split("/", 1)[1]
    with pytest.raises(anthropic.BadRequestError) as caught:
        if ex.url.endswith("/converse-stream"):
            with client.messages.stream(
                model=model, max_tokens=10, messages=[{"role": "user", "content": "hello"}]
            ) as s:
                s.get_final_message()
        else:
            client.messages.create(model=model, max_tokens=10, messages=[{"role": "user", "content": "hello"}])
    err = caught.value
    assert err.body["error"] == {
        "type": "invalid_request_error",
        "message": "bedrock: ValidationException: The provided model identifier is invalid.",
    }
    assert upstream.received[0].raw_path == "/bedrock" + ex.path_and_query
    verify_sigv4(upstream.received[0])


def test_refused_beta_flags_are_retried_with_the_documented_ones_then_none(client, upstream):
    """Bedrock answers 400 "invalid beta flag" to flags it does not know (Claude Code sends some):
    all flags first, then AWS's documented ones, then none; every attempt signed."""
    ex = exchange("bedrock", "invoke-anthropic-messages-cache", 2)
    refused = b'{"message":"The model returned the following errors: invalid beta flag"}'
    bad = {"content-type": "application/json", "x-amzn-errortype": "ValidationException"}
    upstream.expect(
        Reply(status=400, body=refused, headers=bad),
        Reply(status=400, body=refused, headers=bad),
        Reply(body=ex.response_bytes(), headers={"content-type": "application/json"}),
    )
    betas = ["claude-code-20250219", "interleaved-thinking-2025-05-14", "context-management-2025-06-27"]
    message = client.beta.messages.create(
        model=f"bedrock/{CLAUDE}", max_tokens=10, messages=[{"role": "user", "content": "Hi"}], betas=betas
    )
    assert message.content[0].text == json.loads(ex.response_bytes())["content"][0]["text"]
    sent = [json.loads(r.body).get("anthropic_beta") for r in upstream.received]
    assert sent == [betas, betas[1:], None]
    for got in upstream.received:
        verify_sigv4(got)


def test_other_400s_are_not_retried(client, upstream):
    upstream.expect(
        Reply(status=400, body=b'{"message":"messages: bad"}', headers={"content-type": "application/json"})
    )
    with pytest.raises(anthropic.BadRequestError):
        client.beta.messages.create(
            model=f"bedrock/{CLAUDE}", max_tokens=10, messages=[{"role": "user", "content": "Hi"}], betas=["x-1"]
        )
    assert len(upstream.received) == 1


def test_ledger_has_bedrocks_cache_usage(gateway, client, upstream):
    """litellm #19 / #20: cache writes and reads kept apart from input on the Bedrock paths too."""
    ex = exchange("bedrock", "invoke-anthropic-messages-cache", 2)
    usage = json.loads(ex.response_bytes())["usage"]
    upstream.expect(Reply(body=ex.response_bytes(), headers={"content-type": "application/json"}))
    raw = client.messages.with_raw_response.create(
        model=f"bedrock/{CLAUDE}", max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
    )
    row = gateway.ledger_row(raw.headers["request-id"])
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (
        usage["input_tokens"],
        usage["cache_read_input_tokens"],
        usage["output_tokens"],
    )
    assert (row["provider"], row["upstream_model"]) == ("bedrock", CLAUDE)

    ex = exchange("bedrock", "converse-cache-write-read", 1)
    usage = json.loads(ex.response_bytes())["usage"]
    upstream.expect(bedrock.reply(ex))
    with client.messages.stream(
        model=bedrock.recorded_model(ex), max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
    ) as s:
        s.get_final_message()
        request_id = s.response.headers["request-id"]
    row = gateway.ledger_row(request_id)
    assert (row["input_tokens"], row["output_tokens"]) == (usage["inputTokens"], usage["outputTokens"])
    assert row["cache_write_tokens"] == usage["cacheWriteInputTokens"] > 0
    assert row["stop_reason"] == "end_turn" and row["streamed"] == 1
