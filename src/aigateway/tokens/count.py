"""Input-token counts for Anthropic Messages (and OpenAI Chat) requests, with tiktoken.

The Anthropic request is counted the way it will look to an OpenAI-style upstream:
- `system` (a string or text blocks) is one system message; a `role: system` entry inside
  `messages` (Claude Code sends one to models it does not know) is one too;
- a user or assistant turn is one message; its text, image, document and thinking blocks add up
  as its content; each `tool_use` block is a tool call on that message (name + arguments JSON);
  each `tool_result` block becomes a tool message of its own;
- images and PDFs are estimated as media.py says; `thinking` counts its text (an upper bound:
  many upstreams drop prior reasoning); `redacted_thinking` counts nothing (only Anthropic
  upstreams can read it); a block type we do not know counts as its JSON text;
- every tool with an `input_schema` is a function definition; a server tool (no schema) counts
  as its JSON text.
Overheads are OpenAI's published recipe (family.py, tally.py). Fields that are not content
(cache_control, thinking config, metadata, ...) cost nothing.

`TokenCount.exact` is true when the model's own tokenizer was used and nothing was guessed;
otherwise the count is an estimate and `count_header` says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aigateway.tokens import media
from aigateway.tokens.encodings import get_encoding
from aigateway.tokens.family import model_family
from aigateway.tokens.tally import Tally, compact_json

COUNT_HEADER = "x-aigateway-token-count"


@dataclass(frozen=True, slots=True)
class TokenCount:
    input_tokens: int
    tokenizer: str  # the tiktoken encoding used
    exact: bool  # the model's own tokenizer and nothing estimated


def count_header(count: TokenCount) -> tuple[str, str]:
    """The response header that says how a gateway-side count was made.

    `estimate; tokenizer=o200k_base` when any part was guessed (another family's tokenizer, an
    image of unknown size, a PDF, a nested tool schema); `counted; tokenizer=...` otherwise."""
    kind = "counted" if count.exact else "estimate"
    return COUNT_HEADER, f"{kind}; tokenizer={count.tokenizer}"


def parse_body(body: dict[str, Any] | bytes) -> dict[str, Any]:
    parsed = json.loads(body) if isinstance(body, bytes | bytearray) else body
    if not isinstance(parsed, dict):
        raise ValueError("a count_tokens body must be a JSON object")
    return parsed


def new_tally(upstream_model: str) -> Tally:
    family = model_family(upstream_model)
    return Tally(family, get_encoding(family.encoding))


def count_messages_and_tools(
    req: dict[str, Any],
    tally: Tally,
    message: Callable[[Tally, dict[str, Any]], None],
    tool: Callable[[Tally, Any], None],
) -> TokenCount:
    """The count of `tally` once each object of `messages` and each entry of `tools` is added, by
    the counters of the body's shape (an entry that is not a list or an object counts nothing)."""
    messages = req.get("messages")
    for entry in messages if isinstance(messages, list) else ():
        if isinstance(entry, dict):
            message(tally, entry)
    tools = req.get("tools")
    for entry in tools if isinstance(tools, list) else ():
        tool(tally, entry)
    return TokenCount(max(tally.finish(), 1), tally.family.encoding, exact=not tally.estimated)


def count_request_tokens(body: dict[str, Any] | bytes, upstream_model: str) -> TokenCount:
    """Input tokens of an Anthropic Messages / count_tokens request sent to `upstream_model`."""
    req = parse_body(body)
    tally = new_tally(upstream_model)
    system = req.get("system")
    if system:
        tally.message("system", _content(tally, system))
    return count_messages_and_tools(req, tally, _message, _tool)


def _tool(tally: Tally, tool: Any) -> None:
    if isinstance(tool, dict) and "input_schema" in tool:
        tally.function(tool.get("name"), tool.get("description"), tool.get("input_schema"))
    else:
        tally.opaque_tool(tool)


def _message(tally: Tally, message: dict[str, Any]) -> None:
    role = message.get("role")
    content = message.get("content")
    if not isinstance(content, list):
        tally.message(str(role), _content(tally, content))
        return
    tokens = 0
    results: list[dict[str, Any]] = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            results.append(block)
        elif isinstance(block, dict) and block.get("type") == "tool_use":
            tokens += tally.tool_call(block.get("name"), json.dumps(block.get("input"), ensure_ascii=False))
        else:
            tokens += _block(tally, block)
    # Chat Completions wants tool messages right after the calls, before the user's other content.
    for block in results:
        tally.tool_result(_content(tally, block.get("content")))
    if tokens or not results:
        tally.message(str(role), tokens)


def _content(tally: Tally, content: object) -> int:
    """A string, or a list of blocks (system, message content, tool_result content)."""
    if isinstance(content, str):
        return tally.text(content)
    if isinstance(content, list):
        return sum(_block(tally, block) for block in content)
    return tally.text(content)


def _block(tally: Tally, block: object) -> int:
    if not isinstance(block, dict):
        return tally.text(block)
    match block.get("type"):
        case "text":
            return tally.text(block.get("text"))
        case "thinking":
            # Counted although many upstreams drop prior reasoning: an over- not an under-count,
            # and so an estimate.
            return tally.guess(tally.text(block.get("thinking")))
        case "redacted_thinking":
            return 0
        case "image":
            return _image(tally, block.get("source"))
        case "document":
            return _document(tally, block)
        case "tool_use":
            return tally.tool_call(block.get("name"), json.dumps(block.get("input"), ensure_ascii=False))
        case "tool_result":
            return _content(tally, block.get("content"))
        case _:
            return tally.guess(tally.text(compact_json(block)))


def _image(tally: Tally, source: object) -> int:
    if isinstance(source, dict) and source.get("type") == "base64" and isinstance(source.get("data"), str):
        tokens = media.base64_image_tokens(source["data"])
        if tokens is not None:
            return tokens
    return tally.guess(media.UNKNOWN_IMAGE_TOKENS)


def _document(tally: Tally, block: dict[str, Any]) -> int:
    tokens = tally.text(block.get("title")) + tally.text(block.get("context"))
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if isinstance(source, dict) and kind == "text":
        return tokens + tally.text(source.get("data"))
    if isinstance(source, dict) and kind == "content":
        return tokens + _content(tally, source.get("content"))
    if isinstance(source, dict) and kind == "base64" and isinstance(source.get("data"), str):
        return tokens + tally.guess(media.base64_pdf_tokens(source["data"]))
    return tokens + tally.guess(media.PDF_TOKENS_PER_PAGE)  # a URL or file id: pages unknown
