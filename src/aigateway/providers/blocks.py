"""Block bookkeeping shared by every translating stream decoder.

`BlockWriter` is the only code that numbers blocks: it opens a block when content of a new kind
arrives, closes the open one first, and numbers them 0, 1, 2... So whatever order an upstream
sends reasoning, text and tool calls in, the events follow spec §5.2: one block open at a time,
deltas only of the open block's kind.

`ToolCalls` turns OpenAI-style indexed argument fragments into whole, ordered tool_use blocks.
The call being streamed is relayed fragment by fragment; fragments of another call are held
until it may open, which is when the streamed call's arguments parse as complete JSON (so a
sequential upstream streams every call live, and an interleaving one still yields whole blocks,
every fragment kept as its own `input_json_delta`). Calls open in the order they first appear
(a held call waits for the ones before it), which is the order of the JSON answer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import msgspec

from aigateway.ir.events import (
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    Event,
    InputJsonDelta,
    SignatureDelta,
    TextDelta,
    ThinkingDelta,
)
from aigateway.ir.messages import (
    OutputBlock,
    RedactedThinkingBlock,
    RefusalBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
)


class BlockWriter:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.count = 0  # blocks opened so far
        self.open: type[OutputBlock] | None = None

    def take(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    def text(self, text: str, kind: type[TextBlock] = TextBlock) -> None:
        if not text:
            return
        if self.open is not kind:
            self._start(kind(text=""))
        self.events.append(ContentBlockDelta(index=self.count - 1, delta=TextDelta(text=text)))

    def refusal(self, text: str) -> None:
        """Refusal text: a block of its own, marked from its start (ir RefusalBlock)."""
        self.text(text, RefusalBlock)

    def thinking(self, text: str) -> None:
        if not text:
            return
        if self.open is not ThinkingBlock:
            self._start(ThinkingBlock(thinking="", signature=""))
        self.events.append(ContentBlockDelta(index=self.count - 1, delta=ThinkingDelta(thinking=text)))

    def signature(self, signature: str) -> None:
        """Closes the reasoning with its signature (a thinking block is opened if none is): the
        signature is its block's last delta, so more reasoning starts a block of its own."""
        if self.open is not ThinkingBlock:
            self._start(ThinkingBlock(thinking="", signature=""))
        self.events.append(ContentBlockDelta(index=self.count - 1, delta=SignatureDelta(signature=signature)))
        self.close()

    def redacted(self, data: str) -> None:
        """A whole `redacted_thinking` block: it has no deltas (spec §5.3)."""
        self._start(RedactedThinkingBlock(data=data))
        self.close()

    def tool_start(self, call_id: str, name: str) -> None:
        self._start(ToolUseBlock(id=call_id, name=name, input={}))

    def tool_arguments(self, fragment: str) -> None:
        assert self.open is ToolUseBlock, "arguments outside a tool_use block"
        self.events.append(ContentBlockDelta(index=self.count - 1, delta=InputJsonDelta(partial_json=fragment)))

    def close(self) -> None:
        if self.open is not None:
            self.events.append(ContentBlockStop(index=self.count - 1))
            self.open = None

    def _start(self, block: OutputBlock) -> None:
        self.close()
        self.events.append(ContentBlockStart(index=self.count, content_block=block))
        self.open = type(block)
        self.count += 1


@dataclass
class _Call:
    id: str | None
    name: str | None
    fragments: list[str] = field(default_factory=list)


class ToolCalls:
    """Tool calls keyed by the upstream's index (or id), written as ordered tool_use blocks."""

    def __init__(self, writer: BlockWriter) -> None:
        self._writer = writer
        self._calls: dict[Any, _Call] = {}  # in order of first appearance
        self._live: Any = None
        self._done: set[Any] = set()
        self._last: Any = None
        self.seen = False

    def fragment(self, index: int | None, call_id: str | None, name: str | None, arguments: str | None) -> None:
        key = self._key(index, call_id)
        self._last = key
        self.seen = True
        call = self._calls.setdefault(key, _Call(None, None))
        call.id = call.id or call_id
        call.name = call.name or name
        if key == self._live:
            if arguments:
                call.fragments.append(arguments)
                self._writer.tool_arguments(arguments)
            return
        if key in self._done:
            if arguments:  # an upstream that keeps writing a call it already completed
                call.fragments.append(arguments)
            return
        if arguments:
            call.fragments.append(arguments)
        self._open_held()

    def close_live(self) -> bool:
        """Closes the streamed call if its arguments are complete; False if it must stay open."""
        if self._live is not None and not self._live_complete():
            return False
        self._finish_live()
        return True

    def flush(self) -> None:
        """End of the message: every held call is written out whole, in order."""
        self._finish_live()
        for key in list(self._calls):
            if key not in self._done:
                self._promote(key)
                self._finish_live()

    def _key(self, index: int | None, call_id: str | None) -> Any:
        if call_id is not None:
            for key, call in self._calls.items():
                if call.id == call_id:
                    return key
        if index is not None:
            existing = self._calls.get(("index", index))
            if existing is None or call_id is None or existing.id in (None, call_id):
                return ("index", index)
        if call_id is not None:
            return ("id", call_id)
        return self._last if self._last is not None else ("index", 0)

    def _open_held(self) -> None:
        """While the streamed call is complete (or none is), the first held call opens: the calls
        come out in the order they first appeared, as the JSON answer lists them."""
        while self._live is None or self._live_complete():
            key = next((k for k in self._calls if k not in self._done and k != self._live), None)
            if key is None or not self._calls[key].name:
                return
            self._promote(key)

    def _live_complete(self) -> bool:
        text = "".join(self._calls[self._live].fragments)
        try:
            return isinstance(msgspec.json.decode(text), dict)
        except msgspec.DecodeError:
            return False

    def _promote(self, key: Any) -> None:
        self._finish_live()
        call = self._calls[key]
        call.id = call.id or "call_" + secrets.token_hex(12)
        self._writer.tool_start(call.id, call.name or "")
        for fragment in call.fragments:
            self._writer.tool_arguments(fragment)
        self._live = key

    def _finish_live(self) -> None:
        if self._live is not None:
            self._writer.close()
            self._done.add(self._live)
            self._live = None
