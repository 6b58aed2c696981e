"""A Claude answer that searched the web, as Anthropic sends it: a JSON Message and its SSE stream.

The recordings hold no web search, so this answer is built from the anthropic SDK's own types
(`ServerToolUseBlock`, `WebSearchToolResultBlock` of `WebSearchResultBlock`s or a
`WebSearchToolResultError`, `TextBlock` with `CitationsWebSearchResultLocation` citations, the
`Raw*Event`s with `InputJSONDelta`, `CitationsDelta`, `TextDelta`, and `Usage` with
`ServerToolUsage`), dumped with only the members set: its wire shapes are the SDK's. The stream
opens each block as Anthropic does (text empty, tool input `{}`, results whole) and is checked by
`tests/support/stream_grammar.py`; the SDK's own accumulator folds it into the JSON Message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import (
    CitationsDelta,
    CitationsWebSearchResultLocation,
    InputJSONDelta,
    Message,
    MessageDeltaUsage,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    ServerToolUsage,
    ServerToolUseBlock,
    SignatureDelta,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    Usage,
    WebSearchResultBlock,
    WebSearchToolResultBlock,
    WebSearchToolResultError,
)
from anthropic.types.raw_message_delta_event import Delta

from tests.support.stream_grammar import validate_stream

CALL_ID = "srvtoolu_01WebSearchGateway"
QUERY = "python 3.13 release date"
PAGES = [
    ("https://www.python.org/downloads/release/python-3130/", "Python Release Python 3.13.0"),
    ("https://docs.python.org/3/whatsnew/3.13.html", "What's New In Python 3.13"),
]
CITED = [  # (text, the page it cites, or None)
    ("Let me look that up.", None),
    ("Python 3.13 was released on October 7, 2024.", 0),
    (" It ships a new interactive interpreter.", 1),
    ("\n\nAnything else?", None),
]
SIGNATURE = "EqQBCkYIBhgCIkB0aGlua2luZy1zaWduYXR1cmUtZm9yLXRoZS10ZXN0"


@dataclass
class Answer:
    message: dict[str, Any]  # the JSON answer
    stream: bytes  # the same answer as SSE
    text: str  # what the client reads: every text block joined
    searches: int  # usage.server_tool_use.web_search_requests


def answer(*, error: str | None = None, thinking: str | None = None) -> Answer:
    """`error`: the search fails with this `error_code`; `thinking`: a thinking block comes first."""
    if error is not None:
        results: Any = WebSearchToolResultError(type="web_search_tool_result_error", error_code=error)
    else:
        results = [
            WebSearchResultBlock(
                type="web_search_result", url=url, title=title, encrypted_content=f"enc-{i}-" + "x" * 40
            )
            for i, (url, title) in enumerate(PAGES)
        ]
    blocks: list[Any] = [ThinkingBlock(type="thinking", thinking=thinking, signature=SIGNATURE)] if thinking else []
    blocks.append(TextBlock(type="text", text=CITED[0][0]))
    blocks.append(ServerToolUseBlock(type="server_tool_use", id=CALL_ID, name="web_search", input={"query": QUERY}))
    blocks.append(WebSearchToolResultBlock(type="web_search_tool_result", tool_use_id=CALL_ID, content=results))
    for text, page in CITED[1:]:
        if page is None or error is not None:
            blocks.append(TextBlock(type="text", text=text))
            continue
        url, title = PAGES[page]
        cite = CitationsWebSearchResultLocation(
            type="web_search_result_location", url=url, title=title, cited_text=text.strip(), encrypted_index="ix" + url
        )
        blocks.append(TextBlock(type="text", text=text, citations=[cite]))
    usage = Usage(
        input_tokens=1210,
        output_tokens=96,
        cache_creation_input_tokens=0,
        cache_read_input_tokens=0,
        server_tool_use=ServerToolUsage(web_search_requests=1, web_fetch_requests=0),
    )
    message = Message(
        id="msg_01WebSearch",
        type="message",
        role="assistant",
        model="claude-sonnet-4-5-20250929",
        content=blocks,
        stop_reason="end_turn",
        stop_sequence=None,
        usage=usage,
    )
    body = _dump(message)
    stream = _stream(message)
    _check(stream, body)
    text = "".join(b.text for b in blocks if isinstance(b, TextBlock))
    return Answer(message=body, stream=stream, text=text, searches=1)


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)  # type: ignore[no-any-return]


def _stream(message: Message) -> bytes:
    start_usage = message.usage.model_copy(update={"output_tokens": 1, "server_tool_use": None})
    head = message.model_copy(update={"content": [], "stop_reason": None, "usage": start_usage})
    events: list[Any] = [RawMessageStartEvent(type="message_start", message=head)]
    for i, block in enumerate(message.content):
        events += _block_events(i, block)
    delta_usage = MessageDeltaUsage(
        output_tokens=message.usage.output_tokens,
        input_tokens=message.usage.input_tokens,
        server_tool_use=message.usage.server_tool_use,
    )
    delta = Delta(stop_reason=message.stop_reason, stop_sequence=None)
    events.append(RawMessageDeltaEvent(type="message_delta", delta=delta, usage=delta_usage))
    events.append(RawMessageStopEvent(type="message_stop"))
    return b"".join(f"event: {e.type}\ndata: {json.dumps(_dump(e))}\n\n".encode() for e in events)


def _block_events(i: int, block: Any) -> list[Any]:
    deltas: list[Any] = []
    if isinstance(block, TextBlock):
        opened: Any = TextBlock(type="text", text="")
        deltas += [CitationsDelta(type="citations_delta", citation=c) for c in block.citations or ()]
        deltas += [TextDelta(type="text_delta", text=block.text[j : j + 9]) for j in range(0, len(block.text), 9)]
    elif isinstance(block, ThinkingBlock):
        opened = ThinkingBlock(type="thinking", thinking="", signature="")
        deltas += [ThinkingDelta(type="thinking_delta", thinking=block.thinking)]
        deltas += [SignatureDelta(type="signature_delta", signature=block.signature)]
    elif isinstance(block, ServerToolUseBlock):
        opened = ServerToolUseBlock(type="server_tool_use", id=block.id, name=block.name, input={})
        raw = json.dumps(block.input)
        deltas += [InputJSONDelta(type="input_json_delta", partial_json=raw[j : j + 7]) for j in range(0, len(raw), 7)]
    else:
        opened = block  # web search results arrive whole
    out: list[Any] = [RawContentBlockStartEvent(type="content_block_start", index=i, content_block=opened)]
    out += [RawContentBlockDeltaEvent(type="content_block_delta", index=i, delta=d) for d in deltas]
    return [*out, RawContentBlockStopEvent(type="content_block_stop", index=i)]


def _check(stream: bytes, body: dict[str, Any]) -> None:
    """The stream keeps Anthropic's grammar, and the SDK folds it into the JSON answer."""
    snapshot: Any = None
    bufs: dict[int, bytes] = {}
    for _, data in validate_stream(stream):
        snapshot = accumulate_event(event=data, current_snapshot=snapshot, json_bufs=bufs)  # type: ignore[arg-type]
    assert snapshot is not None
    folded = _dump(snapshot)
    assert [_wire(b) for b in folded["content"]] == [_wire(b) for b in body["content"]]


def _wire(block: dict[str, Any]) -> dict[str, Any]:
    """A block as compared: the text block's empty citation list the accumulator starts is none."""
    return {k: v for k, v in block.items() if v not in (None, [])} if block["type"] == "text" else block
