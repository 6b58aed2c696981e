"""Request helpers shared by the doors that speak OpenAI's protocols (Chat Completions, the
Responses API); a door never imports another door, so what both need lives here.

Invariants:
- a body is a JSON object with a string `model`, else `InvalidRequest` (400) before anything else;
- a passthrough body is the client's bytes with only the model value's bytes swapped, re-encoded
  only when the gateway's own `providerOptions` had to come out;
- a reasoning effort maps to one thinking budget table for both doors (Anthropic's least budget
  is 1024, so the limit must leave room above it);
- bad input raises `InvalidRequest` naming the field, as each door's caller spells it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import Base64Source, MessagesRequest, Thinking, Tool, ToolChoiceTool, URLSource
from aigateway.wire import document
from aigateway.wire.body import replace_model

# reasoning effort -> thinking budget (Anthropic's minimum budget is 1024)
EFFORT_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768}


JSON_TOOL = "json_response"  # the forced tool standing for a JSON answer format
_JSON_TOOL_DEF = Tool(
    name=JSON_TOOL,
    description="Give your whole answer as this tool's input: one JSON object.",
    input_schema={"type": "object"},
)


class _Head(msgspec.Struct):
    """The model member, raw; the rest of the body is not decoded again."""

    model: msgspec.Raw = msgspec.Raw(b"null")


def decode_body(body: bytes, max_depth: int) -> tuple[dict[str, Any], str]:
    """The decoded body (nested at most `max_depth` deep) and its model id."""
    raw = document.decode(body, max_depth)
    if not isinstance(raw, dict):
        raise InvalidRequest("Request body must be a JSON object")
    model = raw.get("model")
    if not isinstance(model, str):
        raise InvalidRequest("model: Field required (a string of the form 'provider/model')")
    return raw, model


def with_model(body: bytes, upstream_model: str) -> bytes:
    """`body` with its model value's exact bytes replaced by `upstream_model`."""
    head = msgspec.json.decode(body, type=_Head)
    return replace_model(body, bytes(head.model), upstream_model)


def text_parts(content: Any, path: str, kinds: Collection[str]) -> list[str]:
    """The non-empty texts of a string or a list of text parts (`kinds`, or `refusal`)."""
    if isinstance(content, str):
        return [content] if content else []
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}: must be a string or a list of text parts")
    out = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "refusal" and kind not in kinds:
            raise InvalidRequest(f"{path}[{j}]: only text parts are allowed here")
        text = part.get("refusal") if kind == "refusal" else part.get("text")
        if not isinstance(text, str):
            raise InvalidRequest(f"{path}[{j}].{kind if kind == 'refusal' else 'text'}: Field required")
        if text:
            out.append(text)
    return out


def url_source(url: str, path: str) -> Base64Source | URLSource:
    """An image or file URL: a `data:<media type>;base64,` URL inline, any other by reference."""
    if not url.startswith("data:"):
        return URLSource(url=url)
    head, sep, data = url[5:].partition(",")
    media_type, _, encoding = head.partition(";")
    if not sep or encoding != "base64" or not media_type:
        raise InvalidRequest(f"{path}: a data URL must be data:<media type>;base64,<data>")
    return Base64Source(media_type=media_type, data=data)


def thinking(effort: Any, max_tokens: int, *, field: str, limit_field: str) -> Thinking | None:
    """A reasoning effort (`field`) as the core's thinking, within the output limit (`limit_field`)."""
    if effort is None:
        return None
    if effort == "none":
        return Thinking(type="disabled")
    budget = EFFORT_BUDGET.get(effort) if isinstance(effort, str) else None
    if budget is None:
        raise InvalidRequest(f"{field}: must be one of none, {', '.join(EFFORT_BUDGET)}")
    if max_tokens <= 1024:
        raise InvalidRequest(f"{field}: needs {limit_field} above 1024 (the least thinking budget)")
    return Thinking(type="enabled", budget_tokens=min(budget, max_tokens - 1))


def force_json_tool(request: MessagesRequest, schema: dict[str, Any] | None, *, field: str, conflicts: str) -> None:
    """The answer format (`field`) as forced use of `JSON_TOOL` taking `schema` (any object when
    None), for a model without structured outputs or a JSON mode; the door turns the call's input
    back into the answer's text. Forcing a tool leaves no room for the client's tools or thinking."""
    if request.tools or request.thinking:
        raise InvalidRequest(
            f"{field}: answered by a forced tool on this model, so it cannot be combined with {conflicts}"
        )
    request.output_config = None
    tool = msgspec.structs.replace(_JSON_TOOL_DEF, input_schema=schema or dict(_JSON_TOOL_DEF.input_schema))
    request.tools, request.tool_choice = [tool], ToolChoiceTool(name=JSON_TOOL)
