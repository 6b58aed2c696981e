"""Bedrock's answers decoded into `providers/bedrock/wire.py`: every recording decodes to what a
plain JSON reading of it holds, reasoning and tool use come back out unchanged in the next
turn's request, and an answer or event of another shape is the provider's 502 / one StreamError,
never an exception of its own."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from aigateway.errors import UpstreamError
from aigateway.ir.events import StreamError
from aigateway.ir.messages import parse_request
from aigateway.providers.bedrock import wire
from aigateway.providers.bedrock.client import BedrockProvider
from aigateway.providers.bedrock.config import BedrockConfig
from aigateway.providers.bedrock.errors import map_error, stream_exception
from aigateway.providers.bedrock.invoke import count_tokens_answer
from aigateway.providers.bedrock.request import from_ir
from aigateway.providers.bedrock.stream import ConverseStreamDecoder
from aigateway.wire.aws_eventstream import EventStreamDecoder
from tests.support import bedrock
from tests.support.bedrock import exception_frame, frame
from tests.support.fixtures import exchange, exchanges

JSON_ANSWERS = [ex for ex in bedrock.converse_exchanges() if not bedrock.is_stream(ex)]
STREAMS = [ex for ex in bedrock.converse_exchanges() if bedrock.is_stream(ex)]
ERRORS = [ex for ex in exchanges("bedrock") if ex.status >= 400]
PROVIDER = BedrockProvider("bedrock", BedrockConfig(base_url="http://127.0.0.1:9", region="us-east-1", api_key="k"))
REQUEST = parse_request({"model": "bedrock/m", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]})
EVENT = {":content-type": "application/json", ":message-type": "event"}


def _block(typed: wire.ContentBlock) -> dict[str, Any]:
    """A decoded content block written back as Bedrock's JSON, the members decoded only."""
    if typed.text is not None:
        return {"text": typed.text}
    if typed.toolUse is not None:
        t = typed.toolUse
        return {"toolUse": {"toolUseId": t.toolUseId, "name": t.name, "input": t.input}}
    assert typed.reasoningContent is not None
    r = typed.reasoningContent
    if r.redactedContent is not None:
        return {"reasoningContent": {"redactedContent": r.redactedContent}}
    assert r.reasoningText is not None
    return {
        "reasoningContent": {"reasoningText": {"text": r.reasoningText.text, "signature": r.reasoningText.signature}}
    }


@pytest.mark.recordings
def test_the_recordings_cover_every_kind_read():
    kinds = {
        next(iter(b)) for ex in JSON_ANSWERS for b in json.loads(ex.response_bytes())["output"]["message"]["content"]
    }
    assert {"text", "reasoningContent", "toolUse"} <= kinds
    names = {f.name for ex in STREAMS for f in EventStreamDecoder().feed(ex.response_bytes())}
    assert {"contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"} <= names


@pytest.mark.parametrize("ex", JSON_ANSWERS, ids=lambda ex: ex.name)
def test_every_converse_answer_decodes_to_what_it_says(ex):
    plain = json.loads(ex.response_bytes())
    typed = wire.decode_converse(ex.response_bytes())
    assert typed.output is not None and typed.output.message is not None
    assert typed.output.message.role == "assistant"
    assert [_block(b) for b in typed.output.message.content or []] == plain["output"]["message"]["content"]
    assert typed.stopReason == plain["stopReason"]
    usage = plain["usage"]
    assert typed.usage == wire.TokenUsage(
        usage["inputTokens"],
        usage["outputTokens"],
        usage.get("cacheReadInputTokens"),
        usage.get("cacheWriteInputTokens"),
    )


@pytest.mark.parametrize("ex", STREAMS, ids=lambda ex: ex.name)
def test_every_converse_stream_event_decodes_to_what_it_says(ex):
    decoders = {
        "contentBlockStart": wire.decode_block_start,
        "contentBlockDelta": wire.decode_block_delta,
        "messageStop": wire.decode_message_stop,
        "metadata": wire.decode_metadata,
    }
    for f in EventStreamDecoder().feed(ex.response_bytes()):
        plain = json.loads(f.payload)
        if f.name not in decoders:
            wire.check_json(f.payload)
            continue
        typed = decoders[f.name](f.payload)
        # Every member of the recording the Struct has, it holds as recorded (nested ones too).
        assert _subset(_builtins(typed), plain), (f.name, plain)
        if f.name == "contentBlockDelta":
            assert typed.delta is not None and any(
                x is not None for x in (typed.delta.text, typed.delta.toolUse, typed.delta.reasoningContent)
            )


def _builtins(value: Any) -> Any:
    """A decoded Struct as plain values: a member left unset is None, a raw one its JSON."""
    if isinstance(value, msgspec.Struct):
        return {name: _builtins(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, msgspec.Raw):
        return json.loads(bytes(value)) if value else None
    if isinstance(value, list):
        return [_builtins(v) for v in value]
    return value


def _subset(typed: Any, plain: Any) -> bool:
    """What the typed decoding holds is in the plain reading; a member it left unset is absent there."""
    if isinstance(typed, dict):
        return isinstance(plain, dict) and all(
            (k not in plain) if v is None else (k in plain and _subset(v, plain[k])) for k, v in typed.items()
        )
    return typed == plain


@pytest.mark.parametrize("ex", ERRORS, ids=lambda ex: ex.name)
def test_every_error_body_decodes_to_its_message(ex):
    assert wire.decode_error(ex.response_bytes()).message == json.loads(ex.response_bytes())["message"]
    err = map_error("bedrock", ex.status, ex.response_bytes(), ex.response_headers)
    assert err.message.endswith(json.loads(ex.response_bytes())["message"]) and err.status == ex.status


@pytest.mark.parametrize(
    "case", ["converse-claude-redacted-thinking", "converse-claude-thinking", "converse-claude-tool-with-thinking"]
)
def test_reasoning_and_tool_use_go_back_as_bedrock_gave_them(case):
    """The answer read into the core and sent back in the next turn is the recorded next request's
    assistant turn: signatures, redacted bytes (base64) and tool input unchanged."""
    answer = exchange("bedrock", case, 1)
    message, _ = PROVIDER.read_message(answer.response_bytes(), REQUEST, "m")
    recorded = exchange("bedrock", case, 2).request_json()
    assistant = next(m for m in recorded["messages"] if m["role"] == "assistant")
    turn = {"role": "assistant", "content": msgspec.to_builtins(message.content)}
    messages = [{"role": "user", "content": "Hi"}, turn, {"role": "user", "content": "More"}]
    body, _ = from_ir(parse_request({"model": "bedrock/m", "max_tokens": 10, "messages": messages}), "m", claude=True)
    assert body["messages"][1]["content"] == assistant["content"]
    assert assistant["content"] == json.loads(answer.response_bytes())["output"]["message"]["content"]


def _ok(**overrides: Any) -> bytes:
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
        **overrides,
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "answered with a body that is not JSON"),
        (b"", "answered with a body that is not JSON"),
        (b"[]", "not a Converse response (Expected `object`, got `array`)"),
        (_ok(output=None), "answered without a message"),
        (_ok(output={}), "answered without a message"),
        (_ok(output="x"), "not a Converse response (Expected `object | null`, got `str` - at `$.output`)"),
        (_ok(output={"message": {"content": ["x"]}}), "at `$.output.message.content[0]`"),
        (_ok(output={"message": {"content": [{"reasoningContent": {"reasoningText": "x"}}]}}), "reasoningText`"),
        (_ok(output={"message": {"content": [{"toolUse": {"name": "f", "input": []}}]}}), "not a JSON object"),
        (_ok(output={"message": {"content": [{"toolUse": {"name": "f"}}]}}), "not a JSON object"),
        (_ok(usage={"inputTokens": "1"}), "at `$.usage.inputTokens`"),
        (_ok(stopReason=5), "at `$.stopReason`"),
    ],
)
def test_an_answer_of_another_shape_is_the_providers_502(body, says):
    with pytest.raises(UpstreamError) as caught:
        PROVIDER.read_message(body, REQUEST, "m")
    err = caught.value
    assert err.status == 502 and err.provider == "bedrock" and "'bedrock'" in err.message and says in err.message


def test_members_absent_or_null_and_unknown_ones_are_defaults():
    body = _ok(
        output={"message": {"content": [{"image": {"format": "png"}}, {"text": "a"}, {"futureKind": {}}]}},
        usage=None,
        stopReason=None,
        additionalModelResponseFields=[1],
        brandNewMember={"x": 1},
    )
    message, usage = PROVIDER.read_message(body, REQUEST, "m")
    assert [(type(b).__name__, b.text) for b in message.content] == [("TextBlock", "a")]
    assert message.stop_reason == "end_turn" and usage.input_tokens == 0


def test_a_stop_sequence_is_read_from_the_additional_fields_only_when_they_name_one():
    request = parse_request(
        {
            "model": "bedrock/m",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "Hi"}],
            "stop_sequences": ["END"],
        }
    )
    for additional, want in [({"stop_sequence": "END"}, "END"), ({"stop_sequence": 5}, None), ("END", None)]:
        body = _ok(stopReason="stop_sequence", additionalModelResponseFields=additional)
        message, _ = PROVIDER.read_message(body, request, "m")
        assert message.stop_sequence == want, additional


def _event(name: str, payload: bytes | dict[str, Any]) -> bytes:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return frame({":event-type": name, **EVENT}, raw)


def _run(*frames: bytes) -> tuple[ConverseStreamDecoder, list[Any]]:
    decoder = ConverseStreamDecoder(provider="bedrock", message_id="m", model="m", input_tokens=3, stop_sequences=None)
    events = decoder.feed(b"".join(frames))
    return decoder, events + decoder.finish()


START = _event("messageStart", {"role": "assistant"})
STOP = _event("messageStop", {"stopReason": "end_turn"})
METADATA = _event("metadata", {"usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}})


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (_event("contentBlockDelta", b"{x"), "sent an event that is not JSON"),
        (_event("messageStart", b"{x"), "sent an event that is not JSON"),
        (_event("someNewEvent", b"{x"), "sent an event that is not JSON"),
        (_event("contentBlockDelta", b"[]"), "sent a malformed contentBlockDelta event (Expected `object`"),
        (_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": "x"}), "got `str` - at `$.delta`"),
        (_event("contentBlockDelta", {"contentBlockIndex": "0", "delta": {}}), "at `$.contentBlockIndex`"),
        (_event("contentBlockDelta", {"delta": {"reasoningContent": {"text": 1}}}), "reasoningContent.text`"),
        (_event("contentBlockStart", {"contentBlockIndex": 0, "start": "x"}), "a malformed contentBlockStart event"),
        (_event("messageStop", {"stopReason": 5}), "a malformed messageStop event"),
        (_event("metadata", {"usage": {"outputTokens": 1.5}}), "a malformed metadata event"),
        (
            _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": "{}"}}}),
            "outside a tool",
        ),
    ],
)
def test_an_event_of_another_shape_ends_the_stream_with_one_error(bad, says):
    decoder, events = _run(START, bad, STOP, METADATA)
    errors = [e for e in events if isinstance(e, StreamError)]
    assert errors == [events[-1]] and decoder.error is events[-1]
    assert errors[0].error_type == "api_error" and "'bedrock'" in errors[0].message and says in errors[0].message


def test_empty_payloads_and_unknown_members_and_events_are_read_as_defaults():
    decoder, events = _run(
        START,
        _event("someNewEvent", {"x": [1]}),
        _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "a", "citation": {}}, "p": "pad"}),
        _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"image": {}}}),
        _event("contentBlockStop", b""),
        _event("messageStop", b""),
        _event("metadata", {"usage": {"inputTokens": 3, "outputTokens": 1}, "trace": {}, "serviceTier": {}}),
    )
    assert decoder.error is None and decoder.stop_reason == "end_turn"
    assert decoder.usage is not None and decoder.usage.output_tokens == 1
    assert [type(e).__name__ for e in events] == [
        "MessageStart",
        "ContentBlockStart",
        "ContentBlockDelta",
        "ContentBlockStop",
        "MessageDelta",
        "MessageStop",
    ]


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b'{"message":"slow down"}', "ThrottlingException: slow down"),
        (b'{"Message":"slow down"}', "ThrottlingException: slow down"),
        (b"[]", "ThrottlingException"),
        (b'{"message":5}', "ThrottlingException"),
        (b"<html>busy</html>", "ThrottlingException: <html>busy</html>"),
    ],
)
def test_exception_bodies_of_any_shape_keep_the_exceptions_status(payload, says):
    err = stream_exception("bedrock", "throttlingException", payload, {})
    assert (err.status, err.error_type) == (429, "rate_limit_error") and err.message == f"bedrock: {says}"


def test_an_exception_frame_ends_the_stream_with_its_message():
    _, events = _run(START, exception_frame("throttlingException", "slow down"))
    assert isinstance(events[-1], StreamError) and events[-1].error_type == "rate_limit_error"
    assert events[-1].message == "bedrock: ThrottlingException: slow down"


@pytest.mark.parametrize("body", [b"{}", b"[]", b"x", b'{"inputTokens":null}', b'{"inputTokens":"5"}', b""])
def test_a_count_tokens_answer_without_the_count_is_a_decode_error(body):
    with pytest.raises(msgspec.DecodeError):  # the client makes it the provider's 502
        count_tokens_answer(body)


def test_a_count_tokens_answer_is_anthropics_count():
    assert count_tokens_answer(b'{"inputTokens":12,"other":1}') == b'{"input_tokens":12}'
