"""Input-token counts for an OpenAI Chat Completions request body (for the OpenAI front door).

Same recipe as count.py, on the OpenAI shape: each message costs 3 + role + content (+ name);
content parts are text, `image_url` (a base64 data URL is sized; `detail: low` is 85 tokens; a
remote URL is the 765-token guess) and `file` (a PDF, media.py's per-page estimate); each entry of
`tool_calls` is a call; a `tool` message carries the tool-result overhead; `tools` of type
function follow the cookbook's function recipe. This is also how the recipe is checked: the
recorded OpenAI exchanges carry `usage.prompt_tokens` for known request bodies.
"""

from __future__ import annotations

from typing import Any

from aigateway.tokens import media
from aigateway.tokens.count import TokenCount, count_messages_and_tools, new_tally, parse_body
from aigateway.tokens.tally import TOOL_RESULT_TOKENS, Tally


def count_openai_chat_tokens(body: dict[str, Any] | bytes, upstream_model: str) -> TokenCount:
    return count_messages_and_tools(parse_body(body), new_tally(upstream_model), _message, _tool)


def _tool(tally: Tally, tool: Any) -> None:
    fn = tool.get("function") if isinstance(tool, dict) else None
    if isinstance(fn, dict):
        tally.function(fn.get("name"), fn.get("description"), fn.get("parameters"))
    else:
        tally.opaque_tool(tool)


def _message(tally: Tally, message: dict[str, Any]) -> None:
    role = str(message.get("role"))
    tokens = _content(tally, message.get("content"))
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            args = fn.get("arguments")
            tokens += tally.tool_call(fn.get("name"), args if isinstance(args, str) else "")
    if role == "tool":
        tokens += TOOL_RESULT_TOKENS
    tally.message(role, tokens, name=message.get("name"))


def _content(tally: Tally, content: object) -> int:
    if content is None or isinstance(content, str):
        return tally.text(content)
    if not isinstance(content, list):
        return tally.text(content)
    return sum(_part(tally, part) for part in content)


def _part(tally: Tally, part: object) -> int:
    if not isinstance(part, dict):
        return tally.text(part)
    kind = part.get("type")
    if kind == "text":
        return tally.text(part.get("text"))
    if kind == "image_url":
        return _image(tally, part.get("image_url"))
    if kind == "file":
        file = part.get("file")
        data = file.get("file_data") if isinstance(file, dict) else None
        if isinstance(data, str) and "," in data:
            return tally.guess(media.base64_pdf_tokens(data.split(",", 1)[1]))
        return tally.guess(media.PDF_TOKENS_PER_PAGE)
    return tally.guess(tally.text(part))


def _image(tally: Tally, image: object) -> int:
    if not isinstance(image, dict):
        return tally.guess(media.UNKNOWN_IMAGE_TOKENS)
    if image.get("detail") == "low":
        return media.IMAGE_BASE_TOKENS
    url = image.get("url")
    if isinstance(url, str) and url.startswith("data:") and "," in url:
        tokens = media.base64_image_tokens(url.split(",", 1)[1])
        if tokens is not None:
            return tokens
    return tally.guess(media.UNKNOWN_IMAGE_TOKENS)
