"""Folding events into a Message, and unfolding a Message into events, are inverses."""

from __future__ import annotations

import msgspec
import pytest

from aigateway.ir.accumulate import MessageAccumulator, events_of
from aigateway.ir.events import ContentBlockDelta, ContentBlockStart, TextDelta
from aigateway.ir.messages import Message, RefusalBlock, TextBlock
from aigateway.providers.openai.profiles import PROFILES
from aigateway.providers.openai.response import read, to_ir
from tests.support import chat_refusal, fixtures, openai_recordings

JSON = [r for r in openai_recordings.recordings() if not r.stream and r.status == 200]
ANTHROPIC = [
    ex for ex in fixtures.exchanges("anthropic") if ex.status == 200 and not ex.stream and "count" not in ex.url
]


def fold(events) -> Message:
    acc = MessageAccumulator()
    for event in events:
        acc.add(event)
    return acc.result()


@pytest.mark.parametrize("rec", JSON, ids=str)
def test_unfolding_a_translated_message_and_folding_it_gives_it_back(rec):
    profile = PROFILES[rec.kind]
    completion = read(rec.body, rec.kind)
    message, _ = to_ir(completion, model=rec.model, provider=rec.kind, profile=profile, stop_sequences=None)
    assert fold(events_of(message)) == message


@pytest.mark.parametrize("ex", ANTHROPIC, ids=lambda ex: ex.name)
def test_anthropic_recorded_messages_round_trip(ex):
    """Real Anthropic responses (thinking with signatures, parallel tool calls, cache usage)."""
    message = msgspec.json.decode(ex.response_bytes(), type=Message)
    assert fold(events_of(message)) == message


def test_a_delta_of_the_wrong_kind_is_refused():
    """litellm #32357: a thinking_delta applied to a text block loses content; we refuse it."""
    message = msgspec.json.decode(fixtures.exchange("anthropic", "text-sync").response_bytes(), type=Message)
    events = events_of(message)
    events.insert(2, ContentBlockDelta(index=0, delta=TextDelta(text="x")))
    fold(events)  # text into text: fine
    assert isinstance(message.content[0], TextBlock)
    bad = events_of(
        msgspec.json.decode(fixtures.exchange("anthropic", "thinking-sync-multiturn").response_bytes(), type=Message)
    )
    bad.insert(2, ContentBlockDelta(index=0, delta=TextDelta(text="x")))
    with pytest.raises(AssertionError, match="TextDelta sent to a ThinkingBlock"):
        fold(bad)


def test_a_refusal_stays_a_refusal_through_unfolding_and_folding():
    """The mark is the block's type: the stream that stands for a refusal opens a RefusalBlock,
    and the Anthropic wire sees a plain text block all along."""
    message, _ = to_ir(
        read(chat_refusal.completion(), "ollama"),
        model="m",
        provider="ollama",
        profile=PROFILES["ollama"],
        stop_sequences=None,
    )
    events = events_of(message)
    assert isinstance(events[1], ContentBlockStart) and type(events[1].content_block) is RefusalBlock
    assert (
        msgspec.json.encode(events[1])
        == b'{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'
    )
    folded = fold(events)
    assert folded == message and type(folded.content[0]) is RefusalBlock
    assert msgspec.json.decode(msgspec.json.encode(message))["content"] == [
        {"type": "text", "text": chat_refusal.REFUSAL}
    ]
