"""Anthropic request (ir) to a Gemini `generateContent` body (spec §10.4).

Mapping:
- `system` becomes `systemInstruction`; a `system` turn inside `messages` is added to it too
  (Gemini has no system role in `contents`);
- turns become `contents` with roles `user` / `model`; neighbours of the same role are merged
  (a tool-result turn followed by a user's text is one Gemini turn);
- text, base64 images and PDFs become `text` and `inlineData` parts; URL sources become
  `fileData` (Gemini fetches them); text documents are inlined as text; Anthropic file ids are
  a 400 (they exist only at Anthropic);
- `tool_use` becomes `functionCall {name, args}`; `tool_result` becomes
  `functionResponse {name, response}` where `name` comes from the matching `tool_use` earlier in
  `messages` (Anthropic's result has no name) and `response` is `{"output": ...}`, or
  `{"error": ...}` when `is_error` (the keys Gemini documents for FunctionResponse.response);
  images in a result follow it as `inlineData` parts of the same turn;
- call ids: an id Gemini gave us goes back on both parts; one the gateway made up (Gemini gave
  none) stays here, since some Gemini endpoints reject ids they did not issue;
- thinking blocks: thought text is not replayed; the `thoughtSignature`s the gateway folded into
  their signatures go back on their parts (signatures.py); Anthropic's signatures and
  `redacted_thinking` are Anthropic's own and are dropped;
- sampling knobs to `generationConfig`; thinking to `thinkingConfig` (thinking.py); tools and
  `tool_choice` to `tools` / `toolConfig` (tools.py);
- what Gemini cannot take is named in the returned warnings, never dropped silently.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import (
    Base64Source,
    ContentSource,
    DocumentBlock,
    FileSource,
    ImageBlock,
    InputMessage,
    MessagesRequest,
    RawBlock,
    RedactedThinkingBlock,
    TextBlock,
    TextSource,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    URLSource,
)
from aigateway.providers.gemini import signatures
from aigateway.providers.gemini.thinking import thinking_config
from aigateway.providers.gemini.tools import function_declarations, tool_config

SYNTHETIC_ID_PREFIX = "toolu_gm"  # ids the gateway made up for calls Gemini gave no id


class _Translation:
    def __init__(self, kind: str, model: str, req: MessagesRequest) -> None:
        self.kind, self.model = kind, model
        self.warnings: list[str] = []
        self.system: list[dict[str, Any]] = [{"text": b.text} for b in req.system or [] if b.text]
        self.names = {b.id: b.name for m in req.messages for b in m.content if isinstance(b, ToolUseBlock)}

    def drop(self, what: str) -> None:
        if what not in self.warnings:
            self.warnings.append(what)

    def refuse(self, path: str, what: str) -> InvalidRequest:
        return InvalidRequest(f"{path}: {self.kind} model '{self.model}' {what}")


def from_ir(req: MessagesRequest, upstream_model: str, kind: str = "gemini") -> tuple[dict[str, Any], list[str]]:
    t = _Translation(kind, upstream_model, req)
    body: dict[str, Any] = {"contents": _contents(req, t)}
    if t.system:
        body["systemInstruction"] = {"parts": t.system}
    _tools(req, body, t)
    body["generationConfig"] = _generation_config(req, upstream_model, t)
    if req.user_id is not None:
        t.drop("metadata.user_id")
    for name in [*req.tool_extras, *req.extra]:
        t.drop(name)
    return body, t.warnings


def _generation_config(req: MessagesRequest, model: str, t: _Translation) -> dict[str, Any]:
    config: dict[str, Any] = {"maxOutputTokens": req.max_tokens}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK")):
        value = getattr(req, ours)
        if value is not None:
            config[theirs] = value
    if req.stop_sequences:
        config["stopSequences"] = req.stop_sequences
    fmt = req.output_config.format if req.output_config else None
    if fmt:
        config["responseMimeType"] = "application/json"
        if isinstance(fmt.get("schema"), dict):
            config["responseJsonSchema"] = fmt["schema"]
    _openai_knobs(req, config, t)
    thinking, dropped = thinking_config(req, model)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    for name in dropped:
        t.drop(name)
    return config


# The Chat Completions door's own knobs (ir/messages.py) that generationConfig has a field for.
_KNOB_FIELDS = (("seed", "seed"), ("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty"))


def _openai_knobs(req: MessagesRequest, config: dict[str, Any], t: _Translation) -> None:
    if req.n is not None and req.n > 1:  # one candidate is read back: more would be lost
        raise t.refuse("n", "returns one choice per request through this gateway; send n=1")
    for ours, theirs in _KNOB_FIELDS:
        value = getattr(req, ours)
        if value is not None:
            config[theirs] = value
    if req.response_format is not None and req.response_format.get("type") == "json_object":
        config["responseMimeType"] = "application/json"
    for name in ("logprobs", "top_logprobs"):  # Gemini's logprobs have no way back to the client
        if getattr(req, name) is not None:
            t.drop(name)


def _tools(req: MessagesRequest, body: dict[str, Any], t: _Translation) -> None:
    if req.server_tools:
        names = ", ".join(str(s.get("name") or s.get("type")) for s in req.server_tools)
        raise t.refuse("tools", f"cannot run Anthropic server tools ({names})")
    if req.tools:
        body["tools"] = [{"functionDeclarations": function_declarations(req.tools)}]
    if req.tool_choice is not None and req.tools:
        config, no_parallel = tool_config(req.tool_choice)
        body["toolConfig"] = config
        if no_parallel:
            t.drop("tool_choice.disable_parallel_tool_use")


def _contents(req: MessagesRequest, t: _Translation) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = []
    for i, msg in enumerate(req.messages):
        if msg.role == "system":
            t.system += [{"text": text} for text in _system_texts(msg, f"messages.{i}")]
            continue
        role = "model" if msg.role == "assistant" else "user"
        parts = _model_parts(msg, i, t) if role == "model" else _user_parts(msg, i, t)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _system_texts(msg: InputMessage, path: str) -> list[str]:
    if not all(isinstance(b, TextBlock) for b in msg.content):
        raise InvalidRequest(f"{path}: a system turn may hold text only")
    return [b.text for b in msg.content if isinstance(b, TextBlock) and b.text]


def _model_parts(msg: InputMessage, i: int, t: _Translation) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    pending: str | None = None  # a signature that belongs to the next part
    for j, block in enumerate(msg.content):
        part: dict[str, Any] | None = None
        if isinstance(block, ThinkingBlock):
            carried = signatures.decode(block.signature)
            if carried is not None and carried[0] == "t":
                part = {"text": block.thinking, "thought": True, "thoughtSignature": carried[1]}
            elif carried is not None:
                pending = carried[1]
        elif isinstance(block, TextBlock):
            part = {"text": block.text} if block.text else None
        elif isinstance(block, ToolUseBlock):
            call: dict[str, Any] = {"name": block.name, "args": block.input}
            if not block.id.startswith(SYNTHETIC_ID_PREFIX):
                call["id"] = block.id
            part = {"functionCall": call}
        elif isinstance(block, RedactedThinkingBlock):
            t.drop("assistant redacted_thinking block")
        elif isinstance(block, RawBlock):
            t.drop(f"assistant {block.type} block")
        else:
            raise InvalidRequest(f"messages.{i}.content.{j}: a {type(block).__name__} belongs in a user turn")
        if part is not None:
            if pending is not None and "thoughtSignature" not in part:
                part["thoughtSignature"] = pending
            pending = None
            parts.append(part)
    return parts


def _user_parts(msg: InputMessage, i: int, t: _Translation) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for j, block in enumerate(msg.content):
        path = f"messages.{i}.content.{j}"
        if isinstance(block, ToolResultBlock):
            results += _tool_result(block, path, t)
        elif isinstance(block, RawBlock):
            raise t.refuse(path, f"cannot take a '{block.type}' block")
        else:
            part = _part(block, path, t)
            if part is not None:
                rest.append(part)
    return results + rest  # Gemini wants the responses first, right after the calls


def _tool_result(block: ToolResultBlock, path: str, t: _Translation) -> list[dict[str, Any]]:
    name = t.names.get(block.tool_use_id)
    if name is None:
        raise InvalidRequest(
            f"{path}.tool_use_id: no tool_use block with id '{block.tool_use_id}' earlier in messages "
            f"({t.kind} needs the function's name, which only that block has)"
        )
    texts: list[str] = []
    media: list[dict[str, Any]] = []
    if isinstance(block.content, str):
        texts.append(block.content)
    for k, item in enumerate(block.content if isinstance(block.content, list) else []):
        part = _part(item, f"{path}.content.{k}", t)
        if part is not None and "text" in part:
            texts.append(part["text"])
        elif part is not None:
            media.append(part)
    response = {"error" if block.is_error else "output": "\n".join(texts)}
    function_response: dict[str, Any] = {"name": name, "response": response}
    if not block.tool_use_id.startswith(SYNTHETIC_ID_PREFIX):
        function_response["id"] = block.tool_use_id
    return [{"functionResponse": function_response}, *media]


def _part(block: Any, path: str, t: _Translation) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        return {"text": block.text} if block.text else None
    if isinstance(block, ImageBlock):
        return _media(block.source, path, None)
    if isinstance(block, DocumentBlock):
        source = block.source
        if isinstance(source, TextSource):
            return {"text": source.data}
        if isinstance(source, ContentSource):
            content = source.content
            return {"text": content if isinstance(content, str) else "".join(c.get("text", "") for c in content)}
        return _media(source, path, "application/pdf")
    if isinstance(block, ThinkingBlock | RedactedThinkingBlock | ToolUseBlock):
        raise InvalidRequest(f"{path}: a {type(block).__name__} belongs in an assistant turn")
    raise t.refuse(path, "cannot take this block")


def _media(source: Any, path: str, default_type: str | None) -> dict[str, Any]:
    if isinstance(source, Base64Source):
        return {"inlineData": {"mimeType": source.media_type, "data": source.data}}
    if isinstance(source, URLSource):
        guessed = mimetypes.guess_type(source.url.split("?", 1)[0])[0]
        return {"fileData": {"mimeType": default_type or guessed or "image/jpeg", "fileUri": source.url}}
    if isinstance(source, FileSource):
        raise InvalidRequest(f"{path}.source: Anthropic file ids cannot be sent to another provider")
    raise InvalidRequest(f"{path}.source: this source type cannot be sent to Gemini")
