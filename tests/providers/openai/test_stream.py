"""The Chat Completions stream decoder, fed real recordings (and real recordings rearranged)."""

from __future__ import annotations

import json
import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.events import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    StreamError,
)
from aigateway.ir.messages import Message
from aigateway.providers.openai.profiles import PROFILES
from aigateway.providers.openai.stream import OpenAIChatStreamDecoder
from tests.support import openai_recordings
from tests.support.openai_recordings import Recording

STREAMS = [r for r in openai_recordings.recordings() if r.stream and r.status == 200]


def decoder(rec: Recording, input_tokens: int = 7) -> OpenAIChatStreamDecoder:
    return OpenAIChatStreamDecoder(
        provider=rec.kind,
        message_id="msg_test",
        model=rec.model,
        input_tokens=input_tokens,
        profile=PROFILES[rec.kind],
        stop_sequences=None,
    )


def decode(rec: Recording, body: bytes, cuts: list[int] | None = None) -> list:
    dec = decoder(rec)
    events = []
    points = [*sorted(set(cuts or [])), len(body)]
    start = 0
    for end in points:
        events += dec.feed(body[start:end])
        start = end
    return events + dec.finish()


def fold(events: list) -> Message:
    acc = MessageAccumulator()
    for event in events:
        acc.add(event)
    return acc.result()


def data_lines(body: bytes) -> list[str]:
    return [line[5:].strip() for line in body.decode().splitlines() if line.startswith("data:")]


def assert_grammar(events: list) -> None:
    """Spec §5.2 on typed events (the raw-bytes validator checks the wire in the route tests)."""
    assert isinstance(events[0], MessageStart)
    assert sum(isinstance(e, MessageStart) for e in events) == 1
    open_index, next_index = None, 0
    for event in events[1:]:
        if isinstance(event, ContentBlockStart):
            assert open_index is None and event.index == next_index
            open_index, next_index = event.index, next_index + 1
        elif isinstance(event, ContentBlockDelta):
            assert event.index == open_index
        elif isinstance(event, ContentBlockStop):
            assert event.index == open_index
            open_index = None
        elif isinstance(event, MessageDelta):
            assert open_index is None
    if not isinstance(events[-1], StreamError):
        assert isinstance(events[-2], MessageDelta) and isinstance(events[-1], MessageStop)


@pytest.mark.parametrize("rec", STREAMS, ids=str)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_any_chunking_gives_the_same_events(rec, data):
    whole = decode(rec, rec.body)
    cuts = data.draw(st.lists(st.integers(0, len(rec.body)), max_size=12))
    assert msgspec.json.encode(decode(rec, rec.body, cuts)) == msgspec.json.encode(whole)
    assert_grammar(whole)


def test_message_start_carries_the_gateway_count_and_delta_the_upstream_usage():
    rec = openai_recordings.recording("openai-chat/text-stream#1")
    events = decode(rec, rec.body)
    assert events[0].message.usage.input_tokens == 7
    final = [e for e in events if isinstance(e, MessageDelta)][-1]
    assert (final.usage.input_tokens, final.usage.output_tokens) == (16, 10)


def _has_calls(line: str) -> bool:
    choices = json.loads(line).get("choices") if line != "[DONE]" else None
    return bool(choices) and "tool_calls" in choices[0]["delta"]


def _interleaved(rec: Recording, seed: int) -> bytes:
    """The recording with its tool-call fragments for index 0 and 1 shuffled into each other
    (each call's own fragments keep their order), as some servers send parallel calls. Blocks
    come out in the order calls first appear, which is index order on every server seen."""
    lines = data_lines(rec.body)
    calls = [ln for ln in lines if _has_calls(ln)]
    other = [ln for ln in lines if ln not in calls]
    by_index: dict[int, list[str]] = {}
    for ln in calls:
        by_index.setdefault(json.loads(ln)["choices"][0]["delta"]["tool_calls"][0]["index"], []).append(ln)
    rng = random.Random(seed)
    queues = [list(q) for _, q in sorted(by_index.items())]
    merged = [queues[0].pop(0)]  # call 0 announces itself first, then anything goes
    while any(queues):
        q = rng.choice([q for q in queues if q])
        merged.append(q.pop(0))
    head = [ln for ln in other if 'finish_reason":null' in ln][:1]
    tail = [ln for ln in other if ln not in head]
    return "".join(f"data: {ln}\n\n" for ln in head + merged + tail).encode()


@pytest.mark.parametrize("seed", range(8))
def test_interleaved_parallel_tool_calls_come_out_whole_and_ordered(seed):
    rec = openai_recordings.recording("openai-chat/tools-stream#1")
    events = decode(rec, _interleaved(rec, seed))
    assert_grammar(events)
    message = fold(events)
    want = openai_recordings.expected(rec)
    assert [(b.id, b.name, b.input) for b in message.content] == want.tool_calls
    fragments = [e.delta.partial_json for e in events if isinstance(e, ContentBlockDelta)]
    recorded = [
        c["function"].get("arguments")
        for ln in data_lines(rec.body)
        if _has_calls(ln)
        for c in json.loads(ln)["choices"][0]["delta"]["tool_calls"]
        if c["function"].get("arguments")
    ]
    assert sorted(fragments) == sorted(recorded)  # every fragment kept as its own delta
    assert all(isinstance(e.delta, InputJsonDelta) for e in events if isinstance(e, ContentBlockDelta))


def test_a_stream_cut_before_its_finish_reason_ends_in_one_error():
    rec = openai_recordings.recording("openai-chat/tools-stream#1")
    lines = data_lines(rec.body)
    cut = "".join(f"data: {ln}\n\n" for ln in lines[: len(lines) // 2]).encode()
    events = decode(rec, cut)
    assert isinstance(events[-1], StreamError)
    assert "'openai' ended the stream before its finish reason" in events[-1].message
    assert not any(isinstance(e, MessageStop) for e in events)


def test_an_error_chunk_mid_stream_ends_in_one_error():
    """Groq's shape: `data: {"error": {...}}` after content, then the connection closes."""
    rec = openai_recordings.recording("openai-chat/text-stream#1")
    error = json.loads(openai_recordings.ROOT.joinpath("groq/error-400-tool-use-failed.1.response.json").read_text())
    lines = [*data_lines(rec.body)[:3], json.dumps(error)]
    events = decode(rec, "".join(f"data: {ln}\n\n" for ln in lines).encode())
    assert isinstance(events[-1], StreamError)
    assert "Tool call validation failed" in events[-1].message
    assert sum(isinstance(e, StreamError) for e in events) == 1
