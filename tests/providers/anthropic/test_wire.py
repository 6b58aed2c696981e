"""Anthropic answers read through `providers/anthropic/wire.py`: on every recording the typed
reading of usage, stop reason and errors equals the plain one (tests/support/anthropic_usage.py
on the parsed JSON), relayed bytes stay the upstream's, and an answer or event of another shape
gives the failure it gave before (None / a failed stream / the provider's 502), never an
exception of its own."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.errors import UpstreamError
from aigateway.ir.events import StreamError
from aigateway.ir.messages import ToolUseBlock
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic import wire
from aigateway.providers.anthropic.response import to_ir
from aigateway.providers.anthropic.stream import AnthropicStreamDecoder
from aigateway.providers.anthropic.tap import AnthropicStreamTap, read_usage
from aigateway.providers.anthropic.usage import apply_usage
from tests.support.anthropic_usage import plain_usage
from tests.support.fixtures import ROOT, exchanges
from tests.support.stream_grammar import parse_events

ANSWERS = [ex for ex in exchanges("anthropic") if ex.status == 200 and ex.response_file and not ex.stream]
MESSAGES = [ex for ex in ANSWERS if "content" in json.loads(ex.response_bytes())]  # not count_tokens
ERRORS = [ex for ex in exchanges("anthropic") if ex.status >= 400]
STREAMS = sorted((ROOT / "anthropic").glob("*.sse"), key=lambda p: p.name)


@pytest.mark.recordings
def test_the_recordings_hold_what_is_read():
    assert len(MESSAGES) >= 10 and len(STREAMS) >= 6 and len(ERRORS) >= 4
    assert any(b"ephemeral_1h_input_tokens" in ex.response_bytes() for ex in ANSWERS)


@pytest.mark.parametrize("ex", ANSWERS, ids=lambda ex: ex.name)
def test_every_answer_reads_as_its_plain_reading(ex):
    plain = json.loads(ex.response_bytes())
    assert read_usage(ex.response_bytes()) == (plain_usage(plain.get("usage")), plain.get("stop_reason"))


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.name)
@pytest.mark.parametrize("size", [1, 7, 10_000_000])
def test_every_stream_is_relayed_unchanged_and_read_as_its_plain_reading(path, size):
    raw = path.read_bytes()
    tap = AnthropicStreamTap()
    relayed = b"".join(tap.feed(raw[i : i + size]) for i in range(0, len(raw), size)) + tap.finish()
    assert relayed == raw
    events = [(e.event, json.loads(e.data)) for e in parse_events(raw) if e.event != "ping"]
    usages = [d["message"].get("usage") for n, d in events if n == "message_start"]
    usages += [d.get("usage") for n, d in events if n == "message_delta"]
    stops = [d["delta"]["stop_reason"] for n, d in events if n == "message_delta"]
    assert tap.usage == plain_usage(*[u for u in usages if u]) and tap.usage.output_tokens > 0
    assert tap.stop_reason == stops[-1] and tap.saw_stop and tap.error_type is None


@pytest.mark.parametrize("ex", ERRORS, ids=lambda ex: ex.name)
def test_every_error_body_reads_as_its_envelope(ex):
    plain = json.loads(ex.response_bytes())["error"]
    error = wire.decode_error(ex.response_bytes()).error
    assert error is not None and (error.type, error.message) == (plain["type"], plain["message"])
    decoder = AnthropicStreamDecoder(provider="anthropic", model="m")
    events = decoder.feed(b"event: error\ndata: " + ex.response_bytes().replace(b"\n", b"") + b"\n\n")
    assert events == [StreamError(error_type=plain["type"], message=f"anthropic: {plain['message']}")]


_COUNTER = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))
_USAGE = st.dictionaries(
    st.sampled_from(["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"]),
    _COUNTER,
).flatmap(
    lambda counters: st.one_of(
        st.just(counters),
        st.builds(lambda one_hour: {**counters, "cache_creation": {"ephemeral_1h_input_tokens": one_hour}}, _COUNTER),
        st.just({**counters, "cache_creation": None}),
    )
)


@given(st.lists(st.one_of(st.none(), _USAGE), max_size=4))
def test_typed_usage_applies_as_the_plain_rule(updates):
    typed = Usage()
    for u in updates:
        apply_usage(typed, None if u is None else msgspec.convert(u, wire.Usage))
    assert typed == plain_usage(*updates)


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"x"', b"{x", b"", b'{"usage":"x"}', b'{"stop_reason":5}', b'{"usage":{"input_tokens":"1"}}'],
)
def test_an_answer_of_another_shape_has_no_usage(body):
    assert read_usage(body) is None  # the caller makes it a 502: an answer no client could use


def _sse(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


@pytest.mark.parametrize(
    "event",
    [
        _sse("message_start", "{x"),
        _sse("message_start", "[]"),
        _sse("message_start", '{"message":{"usage":{"input_tokens":"5"}}}'),
        _sse("message_delta", "[]"),
        _sse("message_delta", '{"delta":{"stop_reason":1},"usage":{"output_tokens":3}}'),
        _sse("error", "[]"),
        _sse("error", '{"error":{"type":5}}'),
    ],
)
def test_an_event_of_another_shape_fails_the_stream_and_is_relayed_as_it_came(event):
    tap = AnthropicStreamTap()
    assert tap.feed(event) == event
    assert tap.error_type == "api_error" and tap.error_body is None


def test_null_and_unknown_members_are_defaults_to_the_tap():
    first = '{"delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}'
    later = '{"delta":{"stop_reason":null,"stop_details":{}},"usage":{"output_tokens":4,"server_tool_use":{}}}'
    raw = _sse("message_start", '{"message":null}') + _sse("message_delta", first) + _sse("message_delta", later)
    raw += _sse("error", '{"type":"error","error":null,"request_id":"r"}')
    tap = AnthropicStreamTap()
    assert tap.feed(raw) == raw
    assert (tap.usage.output_tokens, tap.stop_reason, tap.error_type) == (4, "end_turn", "api_error")
    assert tap.error_body == b'{"type":"error","error":null,"request_id":"r"}'


@pytest.mark.parametrize("data", ["{x", "[]", '{"error":null}', '{"error":{"type":5,"message":"m"}}', '{"error":{}}'])
def test_an_error_event_of_another_shape_is_still_one_stream_error(data):
    decoder = AnthropicStreamDecoder(provider="anthropic", model="m")
    assert decoder.feed(_sse("error", data)) == [StreamError(error_type="api_error", message="anthropic: stream error")]


# a server tool the core does not model (web search it does: tests/providers/anthropic/test_web_search.py)
_SERVER_BLOCKS = [
    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_fetch", "input": {"url": "https://example.com"}},
    {"type": "web_fetch_tool_result", "tool_use_id": "srvtoolu_1", "content": {"type": "web_fetch_result"}},
]


@pytest.mark.parametrize("ex", MESSAGES, ids=lambda ex: ex.name)
def test_blocks_the_core_does_not_model_are_left_out_of_the_same_message(ex):
    message, usage = to_ir(ex.response_bytes(), model="client/m", provider="anthropic")
    plain = json.loads(ex.response_bytes())
    assert message.model == "client/m" and message.id == plain["id"] and len(message.content) == len(plain["content"])
    assert [b.input for b in message.content if isinstance(b, ToolUseBlock)] == [
        b["input"] for b in plain["content"] if b["type"] == "tool_use"
    ]
    assert usage.output_tokens == plain["usage"]["output_tokens"]
    mixed = {**plain, "content": [*_SERVER_BLOCKS, *plain["content"], _SERVER_BLOCKS[0]]}
    del mixed["model"]
    assert to_ir(json.dumps(mixed).encode(), model="client/m", provider="anthropic") == (message, usage)


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"{x",
        b'{"id":"m","content":["x"],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}',
        b'{"id":"m","content":[{"type":"text","text":5}],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}',
        b'{"id":"m","content":[],"stop_reason":null}',
        b'{"content":{}}',
    ],
)
def test_an_answer_that_is_not_a_message_is_the_providers_502(body):
    with pytest.raises(UpstreamError) as caught:
        to_ir(body, model="m", provider="anthropic")
    assert (
        caught.value.status == 502 and "'anthropic' answered with a body that is not a Message" in caught.value.message
    )
