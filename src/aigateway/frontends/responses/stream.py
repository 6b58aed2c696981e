"""The core's stream events to the Responses API's SSE grammar (openai-python
`types/responses/response_stream_event.py` and the `response_*_event.py` it unions).

`ResponsesStreamEncoder.encode(event) -> bytes` is pure, one per stream, all state inside:
- `message_start` gives `response.created` then `response.in_progress`;
- each core block is one output item, opened by `response.output_item.added` and closed by
  `response.output_item.done` when the block stops, so items never overlap and `output_index`
  counts them: text is a `message` item with one `output_text` part (`content_part.added`,
  `output_text.delta`..., `output_text.done`, `content_part.done`), which the next text block
  joins (the item closes when anything else comes), each block's web search citations an
  `output_text.annotation.added` when the block stops; a refusal the same with a `refusal` part
  (`refusal.delta`..., `refusal.done`), never joined with text; a web search (web_search.py) a
  `web_search_call` item opened with its call (`web_search_call.in_progress`, then `.searching`
  once the query is whole) and done with its result (`.completed`), the two sealed into a
  reasoning item after it when the client asked for encrypted content; thinking a `reasoning`
  item (its text as one summary part when the client asked for a summary); a tool call a
  `function_call` (`function_call_arguments.delta`/`.done`) or, for a freeform tool, a
  `custom_tool_call` whose raw input is known only once the block's JSON is whole (one
  `custom_tool_call_input.delta`, then `.done`); the forced tool standing for `text.format` a
  `message` item whose `output_text` deltas are its JSON input's fragments;
- `message_stop` gives the one terminal event: `response.completed`, or `response.incomplete`
  with its reason; a failure gives `error` then `response.failed` (`failure`);
- every event carries its `type` and a `sequence_number` one above the last.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from aigateway.frontends.responses import web_search
from aigateway.frontends.responses.response import (
    Shaper,
    content_part,
    custom_input,
    message_item,
    new_id,
    status_of,
    usage_of,
)
from aigateway.ir.events import (
    CitationsDelta,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    Event,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    SignatureDelta,
    TextDelta,
    ThinkingDelta,
)
from aigateway.ir.messages import (
    OutputBlock,
    RedactedThinkingBlock,
    RefusalBlock,
    ServerToolUseBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    WebSearchToolResultBlock,
)
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import take_delta
from aigateway.wire.sse import encode_event

_encode = msgspec.json.encode


class _Open:
    """The output item of the block under way."""

    def __init__(self, item_id: str, index: int, block: OutputBlock) -> None:
        self.id, self.index, self.block = item_id, index, block
        self.text: list[str] = []  # text, thinking text or argument fragments
        self.signature = block.signature if isinstance(block, ThinkingBlock) else ""
        self.summary_open = False
        self.refusal = isinstance(block, RefusalBlock)
        self.annotations: list[dict[str, Any]] = []  # of a message item's output_text
        self.begin(block)

    def begin(self, block: OutputBlock) -> None:
        """The block under way (a message item goes on through consecutive text blocks)."""
        self.block = block
        self.start = sum(map(len, self.text))  # where the block's text begins in the item's
        self.citations = list(block.citations or []) if isinstance(block, TextBlock) else []


class ResponsesStreamEncoder:
    def __init__(self, shaper: Shaper) -> None:
        self._shaper = shaper
        self.next_sequence = 0
        self._output: list[dict[str, Any]] = []
        self._open: _Open | None = None
        self._held: _Open | None = None  # a message item the next text block may join
        self._searching: tuple[_Open, ServerToolUseBlock] | None = None  # a call awaiting its result
        self._calls: dict[str, ServerToolUseBlock] = {}  # web search calls by id, for sealing
        self._usage = Usage()
        self._reasoning_tokens = 0
        self._stop_reason: str | None = None
        self._refused = False  # a refusal part was written
        self._terminated = False
        self.final: dict[str, Any] | None = None  # the terminal event's response object

    def encode(self, event: Event) -> bytes:
        if isinstance(event, MessageStart):
            u = event.message.usage
            self._usage = Usage(
                u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens
            )
            shell = self._shaper.response("in_progress", [], None)
            return self._emit("response.created", response=shell) + self._emit("response.in_progress", response=shell)
        if isinstance(event, ContentBlockStart):
            return self._start(event.content_block)
        if isinstance(event, ContentBlockDelta):
            return self._delta(event)
        if isinstance(event, ContentBlockStop):
            return self._stop()
        if isinstance(event, MessageDelta):
            self._stop_reason = event.delta.stop_reason
            self._take_usage(event)
            return b""
        if isinstance(event, MessageStop):
            return self._stop() + self._settle(ended=True) + self._end()
        return b""  # ping: the Responses grammar has no keep-alive event

    def failure(self, code: str, message: str) -> bytes:
        """`error` then `response.failed`: the stream's end after an upstream failure."""
        if self._terminated:
            return b""
        out = self._settle(ended=True)  # what was whole goes into the failed response
        self._terminated = True
        out += self._emit("error", code=code, message=message, param=None)
        failed = self._shaper.response("failed", self._output, None)
        failed["error"] = {"code": "rate_limit_exceeded" if code == "rate_limit_exceeded" else "server_error"}
        failed["error"]["message"] = message
        return out + self._emit("response.failed", response=failed)

    # --- items -----------------------------------------------------------------------------------

    def _start(self, block: OutputBlock) -> bytes:
        out = self._stop()  # a decoder closes each block; this only guards against one that did not
        if isinstance(block, WebSearchToolResultBlock):
            return out + self._result(block)
        held = self._held
        if isinstance(block, TextBlock) and held is not None and held.refusal == isinstance(block, RefusalBlock):
            item, self._held = held, None
            self._open = item
            item.begin(block)
            return out + (self._text(block.text) if block.text else b"")
        out += self._settle()
        item = self._open = _Open(new_id(self._shaper.item_prefix(block)), len(self._output), block)
        if isinstance(block, ServerToolUseBlock):
            out += self._added(web_search.call_item(item.id, block, None, False, "in_progress"))
            return out + self._emit("response.web_search_call.in_progress", **self._at(item))
        if isinstance(block, TextBlock) or self._shaper.is_json_answer(block):
            added = message_item(item.id, "", "in_progress")
            added["content"] = []
            out += self._added(added)
            self._refused = self._refused or item.refusal
            part = content_part("", refusal=item.refusal)
            out += self._emit("response.content_part.added", **self._at(item), content_index=0, part=part)
            text = block.text if isinstance(block, TextBlock) else ""
            return out + (self._text(text) if text else b"")
        if isinstance(block, ToolUseBlock):
            head = self._shaper.call(item.id, block, arguments="")
            head.update(status="in_progress", **({"input": ""} if head["type"] == "custom_tool_call" else {}))
            return out + self._added(head)
        out += self._added({"id": item.id, "type": "reasoning", "summary": []})
        if isinstance(block, ThinkingBlock) and block.thinking:
            out += self._thinking(block.thinking)
        return out

    def _delta(self, event: ContentBlockDelta) -> bytes:
        item, delta = self._open, event.delta
        if item is None:
            return b""
        if isinstance(delta, TextDelta) and delta.text:
            return self._text(delta.text)
        if isinstance(delta, ThinkingDelta) and delta.thinking:
            return self._thinking(delta.thinking)
        if isinstance(delta, CitationsDelta):
            item.citations.append(delta.citation)
        elif isinstance(delta, SignatureDelta):
            item.signature += delta.signature
        elif isinstance(delta, InputJsonDelta) and delta.partial_json and self._shaper.is_json_answer(item.block):
            return self._text(delta.partial_json)
        elif isinstance(delta, InputJsonDelta) and delta.partial_json:
            item.text.append(delta.partial_json)
            if isinstance(item.block, ToolUseBlock) and item.block.name not in self._shaper.box.custom:
                return self._emit("response.function_call_arguments.delta", **self._at(item), delta=delta.partial_json)
        return b""

    def _text(self, text: str) -> bytes:
        assert self._open is not None
        self._open.text.append(text)
        if self._open.refusal:
            return self._emit("response.refusal.delta", **self._at(self._open), content_index=0, delta=text)
        return self._emit(
            "response.output_text.delta", **self._at(self._open), content_index=0, delta=text, logprobs=[]
        )

    def _thinking(self, text: str) -> bytes:
        item = self._open
        assert item is not None
        item.text.append(text)
        if not self._shaper.summary:
            return b""
        out = b""
        if not item.summary_open:
            item.summary_open = True
            part = {"type": "summary_text", "text": ""}
            out = self._emit("response.reasoning_summary_part.added", **self._at(item), summary_index=0, part=part)
        return out + self._emit("response.reasoning_summary_text.delta", **self._at(item), summary_index=0, delta=text)

    def _stop(self) -> bytes:
        item, self._open = self._open, None
        if item is None:
            return b""
        block, text = item.block, "".join(item.text)
        if isinstance(block, TextBlock):
            self._held = item  # the next text block may join it
            return self._annotate(item, len(text))
        if self._shaper.is_json_answer(block):
            return self._stop_text(item, text)
        if isinstance(block, ServerToolUseBlock):
            self._searching = (item, msgspec.structs.replace(block, input=_parsed(text)))
            return self._emit("response.web_search_call.searching", **self._at(item))
        if isinstance(block, ToolUseBlock):
            return self._stop_call(item, block, text)
        out = b""
        if item.summary_open:
            at = {**self._at(item), "summary_index": 0}
            out += self._emit("response.reasoning_summary_text.done", **at, text=text)
            out += self._emit("response.reasoning_summary_part.done", **at, part={"type": "summary_text", "text": text})
        kept = (
            block
            if isinstance(block, RedactedThinkingBlock)
            else ThinkingBlock(thinking=text, signature=item.signature)
        )
        return out + self._done(self._shaper.reasoning(item.id, [kept]))

    def _stop_text(self, item: _Open, text: str) -> bytes:
        if item.refusal:
            out = self._emit("response.refusal.done", **self._at(item), content_index=0, refusal=text)
        else:
            out = self._emit("response.output_text.done", **self._at(item), content_index=0, text=text, logprobs=[])
        done = message_item(item.id, text, refusal=item.refusal)
        if not item.refusal:
            done["content"][0]["annotations"] = item.annotations
        part = done["content"][0]
        out += self._emit("response.content_part.done", **self._at(item), content_index=0, part=part)
        return out + self._done(done)

    def _annotate(self, item: _Open, end: int) -> bytes:
        """The citations of the text block that ended, as annotations of the text it spans."""
        out = b""
        for annotation in web_search.url_citations(item.citations, item.start, end):
            at = {**self._at(item), "content_index": 0, "annotation_index": len(item.annotations)}
            out += self._emit("response.output_text.annotation.added", **at, annotation=annotation)
            item.annotations.append(annotation)
        item.citations = []
        return out

    def _result(self, block: WebSearchToolResultBlock) -> bytes:
        """A web search's results: its call item done, then the two sealed for the next turn."""
        searching, out = self._searching, b""
        call: ServerToolUseBlock | None
        if searching is not None and searching[1].id == block.tool_use_id:
            self._searching = None
            item, call = searching
            done = web_search.call_item(item.id, call, block, self._shaper.sources)
            if done["status"] == "completed":
                out += self._emit("response.web_search_call.completed", **self._at(item))
            out += self._done(done)
        else:  # results of a call closed earlier (another block came between), or never shown
            out += self._settle()
            call = self._calls.get(block.tool_use_id)
        if call is None or not self._shaper.seal:
            return out
        sealed = self._shaper.reasoning(new_id("rs"), [call, block])
        return out + self._added({"id": sealed["id"], "type": "reasoning", "summary": []}) + self._done(sealed)

    def _settle(self, *, ended: bool = False) -> bytes:
        """Closes what waited for a next block: the message item text blocks may join, and a web
        search call whose results did not come next (`searching`: they may still come; once the
        message has `ended`, `incomplete`: they never came)."""
        out = b""
        if self._held is not None:
            item, self._held = self._held, None
            out += self._stop_text(item, "".join(item.text))
        if self._searching is not None:
            (item, call), self._searching = self._searching, None
            self._calls[call.id] = call
            status = "incomplete" if ended else "searching"
            out += self._done(web_search.call_item(item.id, call, None, False, status))
        return out

    def _stop_call(self, item: _Open, block: ToolUseBlock, arguments: str) -> bytes:
        arguments = arguments or "{}"
        if block.name in self._shaper.box.custom:
            try:
                parsed = json.loads(arguments)
            except ValueError:
                parsed = {}
            text = custom_input(parsed if isinstance(parsed, dict) else {})
            out = self._emit("response.custom_tool_call_input.delta", **self._at(item), delta=text)
            out += self._emit("response.custom_tool_call_input.done", **self._at(item), input=text)
            return out + self._done(self._shaper.call(item.id, msgspec.structs.replace(block, input=parsed)))
        name = self._shaper.box.client_name(block.name)[0]
        out = self._emit("response.function_call_arguments.done", **self._at(item), name=name, arguments=arguments)
        return out + self._done(self._shaper.call(item.id, block, arguments=arguments))

    # --- framing ---------------------------------------------------------------------------------

    def _end(self) -> bytes:
        if self._terminated:
            return b""
        self._terminated = True
        status, incomplete = status_of(self._stop_reason, self._refused)
        body = self._shaper.response(status, self._output, usage_of(self._usage, self._reasoning_tokens))
        body["incomplete_details"] = incomplete
        self.final = body
        return self._emit(f"response.{status}", response=body)

    def _take_usage(self, event: MessageDelta) -> None:
        thinking = take_delta(self._usage, event.usage)
        self._reasoning_tokens = self._reasoning_tokens if thinking is None else thinking

    def _added(self, item: dict[str, Any]) -> bytes:
        return self._emit("response.output_item.added", output_index=len(self._output), item=item)

    def _done(self, item: dict[str, Any]) -> bytes:
        self._output.append(item)
        return self._emit("response.output_item.done", output_index=len(self._output) - 1, item=item)

    @staticmethod
    def _at(item: _Open) -> dict[str, Any]:
        return {"item_id": item.id, "output_index": item.index}

    def _emit(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.next_sequence, **fields}
        self.next_sequence += 1
        return encode_event(kind, _encode(data))


def _parsed(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
