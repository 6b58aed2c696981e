"""The Chat Completions encoders against every recorded Claude answer (and a Chat Completions
server's refusal), and the Anthropic stream decoder they are fed by.

- stream and JSON agree: a Message encoded as chunks, accumulated by the openai SDK's own
  `ChatCompletionStreamState`, equals the same Message encoded as a `chat.completion`;
- the decoder, fed a recording in arbitrary pieces, yields events that keep Anthropic's grammar
  and fold into what a plain reading of the recording says.
"""

from __future__ import annotations

import json
import random

import msgspec
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from aigateway.frontends.openai.response import from_ir
from aigateway.frontends.openai.stream import OpenAIChatStreamEncoder
from aigateway.ir.accumulate import MessageAccumulator, events_of
from aigateway.ir.events import EVENT_NAMES, StreamError
from aigateway.ir.messages import Message, RefusalBlock, TextBlock, ToolUseBlock, WireUsage
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic.response import to_ir
from aigateway.providers.anthropic.stream import AnthropicStreamDecoder
from aigateway.providers.openai import response as openai_response
from aigateway.providers.openai.profiles import PROFILES
from aigateway.providers.openai.stream import OpenAIChatStreamDecoder
from aigateway.wire.sse import encode_event
from tests.support import anthropic_recordings as anthropic_rec
from tests.support import chat_refusal, fixtures
from tests.support.stream_grammar import validate_stream

RECORDINGS = anthropic_rec.messages_exchanges()
STREAMS = [ex for ex in RECORDINGS if ex.stream]


def _message(ex) -> tuple[Message, Usage]:
    if not ex.stream:
        return to_ir(ex.response_bytes(), model="anthropic/m", provider="anthropic")
    decoder = AnthropicStreamDecoder(provider="anthropic", model="anthropic/m")
    fold = MessageAccumulator()
    for event in decoder.feed(ex.response_bytes()) + decoder.finish():
        fold.add(event)
    assert decoder.usage is not None
    return fold.result(), decoder.usage


@pytest.mark.parametrize("ex", RECORDINGS, ids=lambda ex: ex.name)
def test_stream_and_json_encodings_agree(ex):
    message, usage = _message(ex)
    whole = ChatCompletion.model_validate_json(from_ir(message, usage, model="anthropic/m"))
    encoder = OpenAIChatStreamEncoder(completion_id=whole.id, model="anthropic/m", include_usage=True, created=1)
    sse = b"".join(encoder.encode(event) for event in events_of(message))
    lines = [line[6:] for line in sse.decode().split("\n") if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    state = ChatCompletionStreamState()
    for line in lines[:-1]:
        state.handle_chunk(ChatCompletionChunk.model_validate_json(line))
    streamed = state.current_completion_snapshot
    assert streamed.choices[0].message.content == whole.choices[0].message.content
    assert streamed.choices[0].message.model_extra.get("reasoning_content") == whole.choices[0].message.model_extra.get(
        "reasoning_content"
    )
    got = [(c.id, c.function.name, c.function.arguments) for c in streamed.choices[0].message.tool_calls or []]
    want = [(c.id, c.function.name, c.function.arguments) for c in whole.choices[0].message.tool_calls or []]
    assert got == want
    assert streamed.choices[0].finish_reason == whole.choices[0].finish_reason
    assert streamed.usage == whole.usage


@pytest.mark.parametrize("ex", STREAMS, ids=lambda ex: ex.name)
def test_decoder_keeps_the_grammar_in_any_pieces(ex):
    raw = ex.response_bytes()
    rng = random.Random(ex.name)
    decoder = AnthropicStreamDecoder(provider="anthropic", model="anthropic/m")
    events = []
    pos = 0
    while pos < len(raw):
        size = rng.randint(1, 97)
        events += decoder.feed(raw[pos : pos + size])
        pos += size
    events += decoder.finish()
    assert not any(isinstance(e, StreamError) for e in events)
    encoded = b"".join(encode_event(EVENT_NAMES[type(e)], msgspec.json.encode(e)) for e in events)
    validate_stream(encoded)
    fold = MessageAccumulator()
    for event in events:
        fold.add(event)
    message, want = fold.result(), anthropic_rec.read(ex)
    assert "".join(b.text for b in message.content if isinstance(b, TextBlock)) == want.text
    assert [(b.id, b.name, b.input) for b in message.content if isinstance(b, ToolUseBlock)] == want.tool_calls
    assert message.stop_reason == want.stop_reason
    assert decoder.usage is not None and decoder.usage.output_tokens == want.usage["output_tokens"]


def test_decoder_reports_a_cut_stream_and_an_error_event():
    ex = fixtures.exchange("anthropic", "text-stream")
    cut = ex.response_bytes()[: len(ex.response_bytes()) // 2]
    decoder = AnthropicStreamDecoder(provider="anthropic", model="m")
    events = decoder.feed(cut) + decoder.finish()
    assert isinstance(events[-1], StreamError) and "ended the stream early" in events[-1].message
    decoder = AnthropicStreamDecoder(provider="anthropic", model="m")
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    events = decoder.feed(b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n")
    assert events == [StreamError(error_type="overloaded_error", message="anthropic: Overloaded")]


def _refusal(mode: str) -> tuple[Message, Usage]:
    """A Chat Completions server's refusal read into the core by the OpenAI provider, as a route
    from a Chat Completions server to a door through the core reads it."""
    profile = PROFILES["ollama"]
    if mode == "create":
        completion = openai_response.read(chat_refusal.completion(), "ollama")
        return openai_response.to_ir(completion, model="m", provider="ollama", profile=profile, stop_sequences=None)
    decoder = OpenAIChatStreamDecoder(
        provider="ollama", message_id="msg_1", model="m", input_tokens=0, profile=profile, stop_sequences=None
    )
    fold = MessageAccumulator()
    for event in decoder.feed(chat_refusal.stream()) + decoder.finish():
        fold.add(event)
    assert decoder.usage is not None
    return fold.result(), decoder.usage


@pytest.mark.parametrize("mode", ["create", "stream"])
def test_a_refusal_is_message_refusal_and_delta_refusal_with_finish_reason_stop(mode):
    message, usage = _refusal(mode)
    assert message.stop_reason == "refusal"
    assert [type(b) for b in message.content] == [RefusalBlock]
    whole = ChatCompletion.model_validate_json(from_ir(message, usage, model="m"))
    choice = whole.choices[0]
    assert (choice.message.content, choice.message.refusal) == (None, chat_refusal.REFUSAL)
    assert choice.finish_reason == "stop"  # a refusal is the model's answer, as OpenAI ends one
    encoder = OpenAIChatStreamEncoder(completion_id=whole.id, model="m", include_usage=True, created=1)
    sse = b"".join(encoder.encode(event) for event in events_of(message))
    chunks = [ChatCompletionChunk.model_validate_json(line[6:]) for line in sse.decode().split("\n\n")[:-2]]
    assert [c.choices[0].delta.refusal for c in chunks if c.choices and c.choices[0].delta.refusal] == [
        chat_refusal.REFUSAL
    ]
    assert not any(c.choices[0].delta.content for c in chunks if c.choices)
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    streamed = state.current_completion_snapshot.choices[0]
    assert (streamed.message.content, streamed.message.refusal) == (None, chat_refusal.REFUSAL)
    assert streamed.finish_reason == "stop"


def test_a_refusal_after_text_keeps_both():
    message = Message(
        id="msg_1",
        model="m",
        content=[TextBlock(text="Part of it: "), RefusalBlock(text="no more.")],
        stop_reason="refusal",
        usage=WireUsage(input_tokens=3, output_tokens=4),
    )
    whole = ChatCompletion.model_validate_json(from_ir(message, Usage(3, 4), model="m")).choices[0]
    assert (whole.message.content, whole.message.refusal) == ("Part of it: ", "no more.")
    encoder = OpenAIChatStreamEncoder(completion_id="c", model="m", include_usage=False, created=1)
    sse = b"".join(encoder.encode(event) for event in events_of(message))
    state = ChatCompletionStreamState()
    for line in sse.decode().split("\n\n")[:-2]:
        state.handle_chunk(ChatCompletionChunk.model_validate_json(line[6:]))
    streamed = state.current_completion_snapshot.choices[0].message
    assert (streamed.content, streamed.refusal) == ("Part of it: ", "no more.")
