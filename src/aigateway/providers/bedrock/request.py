"""Anthropic request (ir) to a Converse body (spec §10.5; botocore's bedrock-runtime model).

Mapping:
- `system` text blocks become `system` entries; a `system` turn inside `messages` is appended
  there too (Converse has no system turn); consecutive turns of one role are merged, since
  Bedrock requires the roles to alternate;
- text, base64 images (png, jpeg, gif, webp) and documents (PDF, plain text, csv, html,
  markdown; named "Document N" unless titled) map to their Converse blocks; images and
  documents by URL or Anthropic file id are a 400, as Converse takes only inline bytes or S3;
- `tool_use` / `tool_result` become `toolUse` / `toolResult` (ids kept; `is_error` as
  `status: error`; result content always a list); see tools.py for `toolConfig`;
- `thinking` blocks become `reasoningContent.reasoningText` {text, signature} and
  `redacted_thinking` becomes `reasoningContent.redactedContent` (its bytes are Anthropic's
  `data`, base64 on the wire) for Claude; other models get no reasoning history;
- `cache_control` on a block, system entry or tool inserts a `cachePoint` after it;
- max_tokens, temperature, top_p, stop_sequences go to `inferenceConfig`; for Claude, top_k and
  thinking go to `additionalModelRequestFields` and effort to `outputConfig.effort`;
- everything else is dropped and named in the warnings.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import (
    Base64Source,
    ContentSource,
    DocumentBlock,
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
)
from aigateway.providers.bedrock.tools import tool_config

_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}
_DOC_FORMATS = {
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
    "text/html": "html",
    "text/markdown": "md",
}
_NAME_CHARS = re.compile(r"[^A-Za-z0-9\-()\[\] ]+")  # what Bedrock allows in a document name


class Translation:
    """The request being built: its model, whether it is Claude, and what was left out."""

    def __init__(self, model: str, claude: bool) -> None:
        self.model = model
        self.claude = claude
        self.warnings: list[str] = []
        self.documents = 0

    def drop(self, what: str) -> None:
        if what not in self.warnings:
            self.warnings.append(what)


def from_ir(req: MessagesRequest, model: str, *, claude: bool) -> tuple[dict[str, Any], list[str]]:
    t = Translation(model, claude)
    if req.server_tools:
        names = ", ".join(str(s.get("name") or s.get("type")) for s in req.server_tools)
        raise InvalidRequest(f"tools: bedrock model '{model}' cannot run Anthropic server tools ({names})")
    system = [entry for block in req.system or [] for entry in _system_block(block)]
    messages: list[dict[str, Any]] = []
    for i, msg in enumerate(req.messages):
        if msg.role == "system":
            system += [entry for j, b in enumerate(msg.content) for entry in _system_turn(b, f"messages.{i}.{j}")]
            continue
        content = _content(msg, i, t)
        if not content:
            continue  # e.g. a turn of another model's reasoning only: Bedrock refuses empty turns
        if messages and messages[-1]["role"] == msg.role:
            messages[-1]["content"] += content
        else:
            messages.append({"role": msg.role, "content": content})
    body: dict[str, Any] = {"messages": messages}
    if system:
        body["system"] = system
    body["inferenceConfig"] = _inference(req)
    config = tool_config(req, t.drop)
    if config is not None:
        body["toolConfig"] = config
    _model_fields(req, body, t)
    for name in req.tool_extras:
        t.drop(name)
    for name in req.extra:
        t.drop(name)
    if req.user_id is not None:
        t.drop("metadata.user_id")
    return body, t.warnings


def _inference(req: MessagesRequest) -> dict[str, Any]:
    config: dict[str, Any] = {"maxTokens": req.max_tokens}
    if req.temperature is not None:
        config["temperature"] = req.temperature
    if req.top_p is not None:
        config["topP"] = req.top_p
    if req.stop_sequences:
        config["stopSequences"] = req.stop_sequences
    return config


def _model_fields(req: MessagesRequest, body: dict[str, Any], t: Translation) -> None:
    """Fields only Claude takes through Converse: `additionalModelRequestFields` is passed to the
    model as is, and other families reject Anthropic's names."""
    extra: dict[str, Any] = {}
    if req.top_k is not None:
        if t.claude:
            extra["top_k"] = req.top_k
        else:
            t.drop("top_k")
    if req.thinking is not None:
        if t.claude:
            extra["thinking"] = {k: v for k, v in _struct(req.thinking).items() if k != "display"}
        elif req.thinking.type != "disabled":
            t.drop("thinking")
    if extra:
        body["additionalModelRequestFields"] = extra
    config = req.output_config
    if config is not None and config.effort and t.claude:
        body["outputConfig"] = {"effort": config.effort}
    elif config is not None and config.effort:
        t.drop("output_config.effort")
    if config is not None and config.format:
        t.drop("output_config.format")


def _struct(value: Any) -> dict[str, Any]:
    return {f: getattr(value, f) for f in value.__struct_fields__ if getattr(value, f) is not None}


def _cache_point(cache_control: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not cache_control:
        return []
    point: dict[str, Any] = {"type": "default"}
    if cache_control.get("ttl") in ("5m", "1h"):
        point["ttl"] = cache_control["ttl"]
    return [{"cachePoint": point}]


def _system_block(block: TextBlock) -> list[dict[str, Any]]:
    return [{"text": block.text}, *_cache_point(block.cache_control)]


def _system_turn(block: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(block, TextBlock):
        raise InvalidRequest(f"{path}: a system turn may hold text only")
    return _system_block(block)


def _content(msg: InputMessage, i: int, t: Translation) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for j, block in enumerate(msg.content):
        path = f"messages.{i}.content.{j}"
        if isinstance(block, RawBlock):
            raise InvalidRequest(f"{path}: block type '{block.type}' cannot be sent to bedrock model '{t.model}'")
        if isinstance(block, ThinkingBlock | RedactedThinkingBlock):
            if t.claude:
                out.append(_reasoning(block))
            continue  # another model's reasoning is not this one's to verify
        out.append(_block(block, path, t))
        out += _cache_point(getattr(block, "cache_control", None))
    return out


def _reasoning(block: ThinkingBlock | RedactedThinkingBlock) -> dict[str, Any]:
    if isinstance(block, RedactedThinkingBlock):
        return {"reasoningContent": {"redactedContent": base64.b64encode(block.data.encode()).decode()}}
    text: dict[str, Any] = {"text": block.thinking}
    if block.signature:
        text["signature"] = block.signature
    return {"reasoningContent": {"reasoningText": text}}


def _block(block: Any, path: str, t: Translation) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"text": block.text}
    if isinstance(block, ImageBlock):
        return {"image": _image(block, path, t)}
    if isinstance(block, DocumentBlock):
        return {"document": _document(block, path, t)}
    if isinstance(block, ToolUseBlock):
        return {"toolUse": {"toolUseId": block.id, "name": block.name, "input": block.input}}
    if isinstance(block, ToolResultBlock):
        return {"toolResult": _tool_result(block, path, t)}
    raise InvalidRequest(f"{path}: this block cannot be sent to bedrock model '{t.model}'")


def _tool_result(block: ToolResultBlock, path: str, t: Translation) -> dict[str, Any]:
    if isinstance(block.content, str):
        content = [{"text": block.content}] if block.content else []
    else:
        content = [_block(item, f"{path}.content.{k}", t) for k, item in enumerate(block.content or [])]
    return {"toolUseId": block.tool_use_id, "content": content, "status": "error" if block.is_error else "success"}


def _image(block: ImageBlock, path: str, t: Translation) -> dict[str, Any]:
    source = block.source
    if not isinstance(source, Base64Source):
        raise InvalidRequest(f"{path}.source: bedrock model '{t.model}' takes images inline (base64) only")
    fmt = _IMAGE_FORMATS.get(source.media_type)
    if fmt is None:
        raise InvalidRequest(f"{path}.source.media_type: bedrock takes png, jpeg, gif or webp images")
    return {"format": fmt, "source": {"bytes": source.data}}


def _document(block: DocumentBlock, path: str, t: Translation) -> dict[str, Any]:
    source = block.source
    if isinstance(source, TextSource):
        fmt, data = "txt", base64.b64encode(source.data.encode()).decode()
    elif isinstance(source, ContentSource):
        text = source.content if isinstance(source.content, str) else "".join(c.get("text", "") for c in source.content)
        fmt, data = "txt", base64.b64encode(text.encode()).decode()
    elif isinstance(source, Base64Source) and source.media_type in _DOC_FORMATS:
        fmt, data = _DOC_FORMATS[source.media_type], source.data
    elif isinstance(source, Base64Source):
        raise InvalidRequest(f"{path}.source.media_type: bedrock does not take '{source.media_type}' documents")
    else:
        raise InvalidRequest(f"{path}.source: bedrock model '{t.model}' takes documents inline only")
    t.documents += 1
    name = " ".join(_NAME_CHARS.sub(" ", block.title or "").split())[:200] or f"Document {t.documents}"
    doc: dict[str, Any] = {"format": fmt, "name": name, "source": {"bytes": data}}
    if block.context:
        doc["context"] = block.context
    return doc
