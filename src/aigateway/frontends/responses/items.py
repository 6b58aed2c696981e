"""Responses API input items to the core's system prompt and turns.

Shapes: openai-python `types/responses/response_input_item_param.py` (and `easy_input_message`,
`response_input_text`, `response_input_image`, `response_input_file`,
`response_function_tool_call`, `response_custom_tool_call`, `response_reasoning_item`).

Invariants of the result:
- `system` and `developer` messages join the system prompt, in order, after `instructions`;
- consecutive items of one role merge into one turn (Anthropic's roles alternate): reasoning,
  assistant messages and tool calls make the assistant turn; user messages and tool outputs the
  user turn, tool results first;
- a reasoning item gives back, from its sealed `encrypted_content` (sealing.py), the thinking
  blocks the model produced, when they were sealed for this model; otherwise it gives nothing
  (summaries are not the model's thinking and cannot be signed). A web search sealed with them
  (web_search.py) comes back as the blocks it was, when this request offers the search;
- a `web_search_call` item holds no results: it gives nothing, and is named dropped unless a
  sealed web search stood for it;
- item ids are accepted and never required; an item the core cannot carry is a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.frontends.request_openai import text_parts, url_source
from aigateway.frontends.responses.sealing import SealedBlock, Sealer
from aigateway.frontends.responses.tools import CUSTOM_INPUT, Toolbox
from aigateway.ir.messages import (
    Base64Source,
    Block,
    DocumentBlock,
    ImageBlock,
    InputMessage,
    RawBlock,
    ServerToolUseBlock,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    URLSource,
    WebSearchToolResultBlock,
)

Role = Literal["user", "assistant"]
_TEXT_PARTS = ("input_text", "output_text", "text")


class Conversation:
    """The system prompt and turns, built item by item."""

    def __init__(self, box: Toolbox, sealer: Sealer, upstream_model: str) -> None:
        self.system: list[TextBlock] = []
        self.turns: list[InputMessage] = []
        self._box, self._sealer, self._model = box, sealer, upstream_model
        self._searches = self._restored = 0  # web_search_call items; sealed searches given back
        self._items: dict[str, Callable[[dict[str, Any], str], tuple[Role, list[Block | RawBlock]]]] = {
            "message": self._message,
            "function_call": self._function_call,
            "custom_tool_call": self._custom_call,
            "function_call_output": self._output,
            "custom_tool_call_output": self._output,
            "reasoning": self._reasoning,
            "web_search_call": self._search_call,
        }

    def carried(self) -> set[str]:
        """The item types this conversation can carry."""
        return set(self._items)

    @property
    def dropped(self) -> list[str]:
        return ["input[].web_search_call"] if self._searches > self._restored else []

    def add_all(self, value: Any) -> None:
        if isinstance(value, str):
            self._append("user", [TextBlock(text=value)])
            return
        if not isinstance(value, list):
            raise InvalidRequest("input: must be a string or a list of items")
        for i, item in enumerate(value):
            self.add(item, f"input[{i}]")
        for turn in self.turns:  # a tool_result must open the user turn that answers the calls
            turn.content.sort(key=lambda b: not isinstance(b, ToolResultBlock))

    def add(self, item: Any, path: str) -> None:
        if not isinstance(item, dict):
            raise InvalidRequest(f"{path}: must be an object")
        kind = item.get("type", "message" if "role" in item else None)
        handler = self._items.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise InvalidRequest(f"{path}.type: input items of type {kind!r} are not supported on this model")
        if kind == "message" and item.get("role") in ("system", "developer"):
            self.system += [TextBlock(text=t) for t in text_parts(item.get("content"), f"{path}.content", _TEXT_PARTS)]
            return
        role, blocks = handler(item, path)
        self._append(role, blocks)

    def _append(self, role: Role, blocks: list[Block | RawBlock]) -> None:
        if self.turns and self.turns[-1].role == role:
            self.turns[-1].content += blocks
        elif blocks:
            self.turns.append(InputMessage(role=role, content=blocks))

    # --- items -----------------------------------------------------------------------------------

    def _message(self, item: dict[str, Any], path: str) -> tuple[Role, list[Block | RawBlock]]:
        role, content = item.get("role"), item.get("content")
        if role == "assistant":
            return "assistant", [TextBlock(text=t) for t in text_parts(content, f"{path}.content", _TEXT_PARTS)]
        if role != "user":
            raise InvalidRequest(f"{path}.role: must be one of user, assistant, system, developer")
        if isinstance(content, str):
            return "user", [TextBlock(text=content)]
        if not isinstance(content, list):
            raise InvalidRequest(f"{path}.content: must be a string or a list of content parts")
        return "user", [_part(p, f"{path}.content[{j}]") for j, p in enumerate(content)]

    def _function_call(self, item: dict[str, Any], path: str) -> tuple[Role, list[Block | RawBlock]]:
        call_id, name = _call_head(item, path)
        arguments = item.get("arguments") or "{}"
        try:
            parsed = msgspec.json.decode(arguments) if isinstance(arguments, str) else None
        except msgspec.DecodeError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidRequest(f"{path}.arguments: must be a JSON object encoded as a string")
        core = self._box.core_name(name, item.get("namespace"))
        return "assistant", [ToolUseBlock(id=call_id, name=core, input=parsed)]

    def _custom_call(self, item: dict[str, Any], path: str) -> tuple[Role, list[Block | RawBlock]]:
        call_id, name = _call_head(item, path)
        text = item.get("input")
        if not isinstance(text, str):
            raise InvalidRequest(f"{path}.input: Field required (a string)")
        core = self._box.core_name(name, item.get("namespace"))
        return "assistant", [ToolUseBlock(id=call_id, name=core, input={CUSTOM_INPUT: text})]

    def _output(self, item: dict[str, Any], path: str) -> tuple[Role, list[Block | RawBlock]]:
        call_id, output = item.get("call_id"), item.get("output")
        if not isinstance(call_id, str):
            raise InvalidRequest(f"{path}.call_id: Field required")
        if isinstance(output, str):
            return "user", [ToolResultBlock(tool_use_id=call_id, content=output)]
        if not isinstance(output, list):
            raise InvalidRequest(f"{path}.output: must be a string or a list of content parts")
        parts = [_part(p, f"{path}.output[{j}]") for j, p in enumerate(output)]
        content = [p for p in parts if isinstance(p, TextBlock | ImageBlock | DocumentBlock)]
        return "user", [ToolResultBlock(tool_use_id=call_id, content=content)]

    def _reasoning(self, item: dict[str, Any], path: str) -> tuple[Role, list[Block | RawBlock]]:
        sealed = item.get("encrypted_content")
        if sealed is None:
            return "assistant", []
        if not isinstance(sealed, str):
            raise InvalidRequest(f"{path}.encrypted_content: must be a string")
        opened = self._sealer.open(sealed, f"{path}.encrypted_content")
        if opened.model != self._model:
            return "assistant", []
        return "assistant", [b for b in map(self._sealed, opened.blocks) if b is not None]

    def _sealed(self, block: SealedBlock) -> Block | RawBlock | None:
        if not isinstance(block, ServerToolUseBlock | WebSearchToolResultBlock):
            return block
        if not self._box.server:  # no search offered: Claude would refuse its blocks
            return None
        data = msgspec.to_builtins(block)
        if isinstance(block, ServerToolUseBlock):
            data["input"] = block.input  # required on input, even when empty
            self._restored += 1
        return RawBlock(type=data["type"], data=data)

    def _search_call(self, item: dict[str, Any], path: str) -> tuple[Role, list[Block | RawBlock]]:
        self._searches += 1
        return "assistant", []


def _call_head(item: dict[str, Any], path: str) -> tuple[str, str]:
    call_id, name = item.get("call_id"), item.get("name")
    if not isinstance(call_id, str):
        raise InvalidRequest(f"{path}.call_id: Field required")
    if not isinstance(name, str):
        raise InvalidRequest(f"{path}.name: Field required")
    return call_id, name


def _part(part: Any, path: str) -> Block:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
        return TextBlock(text=part["text"])
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str):
            raise InvalidRequest(f"{path}.image_url: Field required (file ids cannot be sent on)")
        return ImageBlock(source=url_source(url, path))
    if kind == "input_file":
        return _file(part, path)
    raise InvalidRequest(f"{path}: content part type {kind!r} is not supported (input_text, input_image, input_file)")


def _file(part: dict[str, Any], path: str) -> DocumentBlock:
    data, url, name = part.get("file_data"), part.get("file_url"), part.get("filename")
    title = name if isinstance(name, str) else None
    if isinstance(url, str):
        return DocumentBlock(source=URLSource(url=url), title=title)
    if not isinstance(data, str):
        raise InvalidRequest(f"{path}: only file_data or file_url can be sent on; file ids cannot")
    if not data.startswith("data:"):
        return DocumentBlock(source=Base64Source(media_type="application/pdf", data=data), title=title)
    return DocumentBlock(source=url_source(data, path), title=title)
