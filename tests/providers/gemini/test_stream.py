"""The Gemini stream decoder alone: signatures placed and carried back, any byte split."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.messages import parse_request
from aigateway.providers.gemini import signatures
from aigateway.providers.gemini.request import from_ir
from aigateway.providers.gemini.stream import GeminiStreamDecoder
from tests.support import gemini_recordings as recs

PARTS = [
    {"text": "a", "thought": True},
    {"text": "b", "thought": True, "thoughtSignature": "T"},
    {"text": "x", "thoughtSignature": "N1"},
    {"functionCall": {"name": "f", "args": {"q": 1}}, "thoughtSignature": "N2"},
    {"functionCall": {"name": "f", "args": {"q": 2}, "id": "call_2"}},
    {"text": "", "thoughtSignature": "N3"},
]


def sse(*chunks: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)


def decode(body: bytes, splits: list[int] | None = None):
    decoder = GeminiStreamDecoder(provider="gemini", message_id="msg_1", model="gemini/m", input_tokens=3)
    events, last = [], 0
    for cut in sorted(splits or []):
        events += decoder.feed(body[last:cut])
        last = cut
    events += decoder.feed(body[last:]) + decoder.finish()
    return events, decoder


def fold(events):
    acc = MessageAccumulator()
    for event in events:
        acc.add(event)
    return acc.result()


def test_each_signature_rides_before_its_block_and_goes_back_on_its_part():
    chunks = [{"candidates": [{"content": {"role": "model", "parts": [p]}}]} for p in PARTS]
    chunks[-1]["candidates"][0]["finishReason"] = "STOP"
    message = fold(decode(sse(*chunks))[0])
    blocks = msgspec.to_builtins(message.content)
    shape = [(b["type"], b.get("thinking"), b.get("signature")) for b in blocks]
    assert shape == [
        ("thinking", "ab", signatures.encode("t", "T")),
        ("thinking", "", signatures.encode("n", "N1")),
        ("text", None, None),
        ("thinking", "", signatures.encode("n", "N2")),
        ("tool_use", None, None),
        ("tool_use", None, None),
        ("thinking", "", signatures.encode("n", "N3")),
    ]
    assert message.stop_reason == "tool_use"
    history = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": blocks},
    ]
    sent, _ = from_ir(parse_request({"model": "gemini/m", "max_tokens": 9, "messages": history}), "m")
    assert sent["contents"][1]["parts"] == [
        {"text": "ab", "thought": True, "thoughtSignature": "T"},
        {"text": "x", "thoughtSignature": "N1"},
        {"functionCall": {"name": "f", "args": {"q": 1}}, "thoughtSignature": "N2"},
        {"functionCall": {"name": "f", "args": {"q": 2}, "id": "call_2"}},
    ]  # N3 sat on an empty closing part: nothing to put it back on


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_any_byte_split_gives_the_same_events(splits):
    body = recs.recording("thinking-stream-2.5-pro#1").body
    whole, _ = decode(body)
    split, _ = decode(body, [s % (len(body) + 1) for s in splits])
    assert split == whole


def test_usage_counts_thoughts_as_output_and_cache_apart():
    usage = {"promptTokenCount": 100, "cachedContentTokenCount": 60, "candidatesTokenCount": 7}
    usage |= {"thoughtsTokenCount": 5, "toolUsePromptTokenCount": 2}
    chunk = {"candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}], "usageMetadata": usage}
    events, decoder = decode(sse(chunk))
    assert (decoder.usage.input_tokens, decoder.usage.cache_read_input_tokens) == (42, 60)
    assert decoder.usage.output_tokens == 12
    assert fold(events).usage.output_tokens_details.thinking_tokens == 5
