"""ConverseStream decoding on streams built frame by frame the way Bedrock frames them."""

from __future__ import annotations

import json
from typing import Any

from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.events import StreamError
from aigateway.ir.messages import RedactedThinkingBlock, TextBlock, ThinkingBlock
from aigateway.providers.bedrock.response import to_ir
from aigateway.providers.bedrock.stream import ConverseStreamDecoder
from tests.support.bedrock import frame


def event(name: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, json.dumps({**payload, "p": "abc"}).encode())


def text(index: int, value: str) -> bytes:
    return event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": value}})


START = event("messageStart", {"role": "assistant"})
METADATA = event(
    "metadata", {"usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13}, "metrics": {"latencyMs": 1}}
)


def run(raw: bytes, stop_sequences: list[str] | None = None):
    decoder = ConverseStreamDecoder(
        provider="bedrock", message_id="msg_t", model="m", input_tokens=7, stop_sequences=stop_sequences
    )
    events = decoder.feed(raw) + decoder.finish()
    fold = MessageAccumulator()
    for e in events:
        fold.add(e)
    return decoder, events, fold


def test_text_blocks_open_without_a_start_and_a_new_index_closes_the_last():
    raw = START + text(0, "one") + text(1, "two") + event("messageStop", {"stopReason": "end_turn"}) + METADATA
    decoder, _, fold = run(raw)
    assert fold.result().content == [TextBlock(text="one"), TextBlock(text="two")]
    assert decoder.usage is not None and (decoder.usage.input_tokens, decoder.usage.output_tokens) == (9, 4)


def test_nova_reports_a_stop_sequence_as_end_turn_with_the_text():
    raw = START + text(0, "1, 2, 3, STOP") + event("contentBlockStop", {"contentBlockIndex": 0})
    raw += event("messageStop", {"stopReason": "end_turn"}) + METADATA
    _, _, fold = run(raw, ["STOP"])
    assert (fold.result().stop_reason, fold.result().stop_sequence) == ("stop_sequence", "STOP")
    whole = {
        "output": {"message": {"role": "assistant", "content": [{"text": "1, 2, 3, STOP"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13},
    }
    message, _ = to_ir(json.dumps(whole).encode(), model="m", provider="bedrock", stop_sequences=["STOP"])
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "STOP")


def test_usage_waits_for_metadata_and_the_end_without_it_uses_the_gateways_count():
    raw = START + text(0, "hi") + event("messageStop", {"stopReason": "max_tokens"})
    decoder = ConverseStreamDecoder(provider="bedrock", message_id="m", model="m", input_tokens=7, stop_sequences=None)
    first = decoder.feed(raw)
    assert all(type(e).__name__ not in ("MessageDelta", "MessageStop") for e in first)
    rest = decoder.finish()
    assert [type(e).__name__ for e in rest][-2:] == ["MessageDelta", "MessageStop"]
    assert decoder.stop_reason == "max_tokens" and decoder.usage is not None and decoder.usage.input_tokens == 7


def test_reasoning_signature_and_redacted_reasoning():
    raw = START
    raw += event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "think"}}})
    raw += event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "sig"}}})
    raw += event("contentBlockStop", {"contentBlockIndex": 0})
    raw += event(
        "contentBlockDelta", {"contentBlockIndex": 1, "delta": {"reasoningContent": {"redactedContent": "RXFvQg=="}}}
    )
    raw += event("contentBlockStop", {"contentBlockIndex": 1})
    raw += event("messageStop", {"stopReason": "end_turn"}) + METADATA
    _, _, fold = run(raw)
    assert fold.result().content == [
        ThinkingBlock(thinking="think", signature="sig"),
        RedactedThinkingBlock(data="EqoB"),
    ]


def test_an_end_before_message_stop_and_a_corrupt_frame_are_errors():
    _, events, _ = run(START + text(0, "partial"))
    assert isinstance(events[-1], StreamError) and "before messageStop" in events[-1].message
    corrupt = bytearray(START + text(0, "x"))
    corrupt[-1] ^= 1
    decoder, events, _ = run(bytes(corrupt))
    assert isinstance(events[-1], StreamError) and decoder.error is events[-1]
