"""Every recorded 200 stream of every provider folds into the Message its whole answer stands for.

A recorded stream and a recorded JSON answer are different generations, so the whole answer of
the same scenario is built here from the stream's own chunks, in the provider's wire format: an
OpenAI `chat.completion`, a Gemini `GenerateContentResponse`, a Bedrock Converse response. The
provider's stream decoder turns the stream into events, `MessageAccumulator` folds them, and the
result must equal what the provider's `read_message` makes of the whole answer: blocks, stop
reason and usage. A recorded Anthropic stream is compared with the Message the official SDK's
own accumulator builds from it. Everything goes through `build_provider` and the Provider
interface, so the test does not depend on how a provider is built inside.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2
import msgspec
import pytest

from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.events import StreamError
from aigateway.ir.messages import Message, MessagesRequest, ToolUseBlock, parse_request
from aigateway.providers.base import TranslatingProvider
from aigateway.providers.registry import DESCRIPTORS, build_provider
from tests.support import bedrock, fixtures, gemini_recordings, openai_recordings

MODEL = "client/model"  # the model as the client named it: both paths must report it
GATEWAY_COUNT = 11  # the gateway's own count of the input, for the stream's message_start


@dataclass(frozen=True)
class Stream:
    kind: str  # provider kind, as configured
    name: str
    body: bytes
    whole: Callable[[TranslatingProvider], Message]  # the Message of the answer the stream stands for

    def __str__(self) -> str:
        return self.name


# --- OpenAI Chat Completions and the servers that speak it --------------------------------------


def _data_lines(body: bytes) -> list[str]:
    return [line[5:].strip() for line in body.decode().splitlines() if line.startswith("data:")]


def as_completion(rec: openai_recordings.Recording) -> bytes:
    """The recorded stream as the one `chat.completion` it stands for (OpenAI's own accumulation).
    Inline `<think>` reasoning stays in the content, as such a server's JSON answer has it."""
    want = openai_recordings.expected(rec)
    raw_text = "".join(
        (c.get("delta") or {}).get("content") or ""
        for line in _data_lines(rec.body)
        if line != "[DONE]"
        for c in json.loads(line).get("choices") or []
        if isinstance((c.get("delta") or {}).get("content"), str)
    )
    inline = rec.kind in openai_recordings.THINK_TAG_KINDS and "<think>" in raw_text
    message = {
        "role": "assistant",
        "content": raw_text if inline else want.text,
        "reasoning_content": want.reasoning or None,
        "reasoning_details": want.encrypted or None,
        "tool_calls": [
            {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for i, n, a in want.tool_calls
        ]
        or None,
    }
    choice = {"index": 0, "message": message, "finish_reason": want.finish_reason}
    return json.dumps({"choices": [choice], "usage": want.usage}).encode()


def _openai() -> list[Stream]:
    return [
        Stream(rec.kind, str(rec), rec.body, lambda p, rec=rec: translated(p, as_completion(rec)))
        for rec in openai_recordings.recordings()
        if rec.stream and rec.status == 200
    ]


# --- Gemini --------------------------------------------------------------------------------------


def as_generate_content(rec: gemini_recordings.Recording) -> bytes:
    """The chunks as one GenerateContentResponse: all the first candidate's parts in order, and
    the last chunk's finish reason, usage and the rest."""
    chunks = gemini_recordings.chunks(rec)
    parts = [p for c in chunks for cand in c.get("candidates", [])[:1] for p in cand["content"].get("parts", [])]
    last = chunks[-1]
    candidate = {**last["candidates"][0], "content": {"role": "model", "parts": parts}}
    return json.dumps({**last, "candidates": [candidate]}).encode()


def _gemini() -> list[Stream]:
    return [
        Stream("gemini", f"gemini/{rec}", rec.body, lambda p, rec=rec: translated(p, as_generate_content(rec)))
        for rec in gemini_recordings.recordings()
        if rec.stream and rec.status == 200
    ]


# --- Bedrock ConverseStream ----------------------------------------------------------------------


def as_converse(raw: bytes) -> bytes:
    """The ConverseStream frames as the Converse response they stand for."""
    blocks: dict[int, dict[str, Any]] = {}
    answer: dict[str, Any] = {}
    for name, payload in bedrock.events(raw):
        i = payload.get("contentBlockIndex")
        if name == "contentBlockStart" and "toolUse" in payload["start"]:
            tool = payload["start"]["toolUse"]
            blocks[i] = {"toolUse": {"toolUseId": tool["toolUseId"], "name": tool["name"], "input": ""}}
        elif name == "contentBlockDelta":
            delta = payload["delta"]
            if "text" in delta:
                blocks.setdefault(i, {"text": ""})["text"] += delta["text"]
            elif "toolUse" in delta:
                blocks[i]["toolUse"]["input"] += delta["toolUse"]["input"]
            elif "redactedContent" in delta.get("reasoningContent", {}):
                blocks[i] = {"reasoningContent": {"redactedContent": delta["reasoningContent"]["redactedContent"]}}
            elif "reasoningContent" in delta:
                empty = {"reasoningContent": {"reasoningText": {"text": "", "signature": ""}}}
                text = blocks.setdefault(i, empty)["reasoningContent"]["reasoningText"]
                text["text"] += delta["reasoningContent"].get("text", "")
                text["signature"] += delta["reasoningContent"].get("signature", "")
        elif name == "messageStop":
            answer["stopReason"] = payload["stopReason"]
        elif name == "metadata":
            answer |= {k: payload[k] for k in ("usage", "metrics") if k in payload}
    content = []
    for _, block in sorted(blocks.items()):
        if "toolUse" in block:
            block["toolUse"]["input"] = json.loads(block["toolUse"]["input"] or "{}")
        content.append(block)
    return json.dumps({"output": {"message": {"role": "assistant", "content": content}}, **answer}).encode()


def _bedrock() -> list[Stream]:
    return [
        Stream(
            "bedrock", ex.name, ex.response_bytes(), lambda p, ex=ex: translated(p, as_converse(ex.response_bytes()))
        )
        for ex in bedrock.converse_exchanges()
        if bedrock.is_stream(ex)
    ]


# --- Anthropic: the whole answer is the SDK's accumulation ---------------------------------------


def _anthropic() -> list[Stream]:
    found = []
    for path in sorted((fixtures.ROOT / "anthropic").glob("*.response.sse")):
        body = path.read_bytes()
        name = "anthropic/" + path.name.removesuffix(".response.sse")
        found.append(Stream("anthropic", name, body, lambda p, body=body: sdk_final_message(body)))
    return found


def sdk_final_message(sse: bytes) -> Message:
    """What the official SDK's stream accumulator makes of a recorded stream, read as a Message
    (fields the gateway does not model, such as a tool call's `caller`, and nulls are left out)."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})

    http = httpx2.Client(transport=httpx2.MockTransport(answer))
    client = anthropic.Anthropic(api_key="unused", base_url="http://upstream.invalid", http_client=http)
    with client.messages.stream(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hi"}]) as s:
        final = s.get_final_message()
    message = msgspec.json.decode(final.model_dump_json(exclude_none=True), type=Message)
    message.model = MODEL  # the SDK keeps the upstream's name; the gateway reports the client's
    return message


# --- the test ------------------------------------------------------------------------------------

STREAMS = [*_openai(), *_gemini(), *_bedrock(), *_anthropic()]
REQUEST: MessagesRequest = parse_request(
    {"model": MODEL, "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}
)


def translated(p: TranslatingProvider, answer: bytes) -> Message:
    return p.read_message(answer, REQUEST, MODEL)[0]


def provider(kind: str) -> TranslatingProvider:
    extra = {"region": "us-east-1"} if kind == "bedrock" else {}
    config = DESCRIPTORS[kind].config(base_url="http://upstream.invalid", api_key="unused", **extra)
    built = build_provider(kind, kind, config)
    assert isinstance(built, TranslatingProvider)
    return built


def fold(p: TranslatingProvider, body: bytes, seed: str) -> Message:
    """The stream fed to the provider's decoder in pieces of random size, its events folded."""
    decoder = p.stream_decoder(REQUEST, MODEL, "msg_streamed", GATEWAY_COUNT)
    rng, pos, events = random.Random(seed), 0, []
    while pos < len(body):
        size = rng.randint(1, 300)
        events += decoder.feed(body[pos : pos + size])
        pos += size
    events += decoder.finish()
    errors = [e for e in events if isinstance(e, StreamError)]
    assert not errors, errors
    acc = MessageAccumulator()
    for event in events:
        acc.add(event)
    return acc.result()


def comparable(message: Message, recorded: bytes) -> dict[str, Any]:
    """The message with the ids the gateway makes up per answer set aside (a translated message's
    id, tool call ids an upstream did not send): ids the upstream sent must match on both paths."""
    data = msgspec.to_builtins(message)
    if message.id.encode() not in recorded:
        data["id"] = "(made up by the gateway)"
    for block, raw in zip(data["content"], message.content, strict=True):
        if isinstance(raw, ToolUseBlock) and raw.id.encode() not in recorded:
            block["id"] = "(made up by the gateway)"
    return data


@pytest.mark.recordings
def test_there_are_streams_of_every_provider_that_has_recorded_some():
    kinds = {s.kind for s in STREAMS}
    assert kinds >= {"openai", "deepseek", "groq", "mistral", "openrouter", "xai", "gemini", "bedrock", "anthropic"}


@pytest.mark.parametrize("stream", STREAMS, ids=str)
def test_folded_stream_equals_the_whole_answer(stream: Stream):
    p = provider(stream.kind)
    streamed, whole = fold(p, stream.body, stream.name), stream.whole(p)
    assert streamed.model == MODEL
    assert comparable(streamed, stream.body) == comparable(whole, stream.body)
