"""Validates a Messages (or count_tokens) body at the boundary and swaps its model id.

Only the fields the gateway needs are decoded; everything else stays raw bytes. The model swap
edits the bytes of the top-level `"model"` value in place, so every other byte (thinking
signatures, whitespace, key order) reaches an Anthropic-speaking upstream unchanged.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from aigateway.errors import InvalidRequest


class CountTokensHead(msgspec.Struct, kw_only=True):
    model: msgspec.Raw
    messages: list[msgspec.Raw]
    # Raw, so its presence costs nothing to notice; empty when absent
    provider_options: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw, name="providerOptions")


class MessagesHead(CountTokensHead):
    max_tokens: int
    stream: bool | None = None


T = TypeVar("T", bound=CountTokensHead)

_decoders: dict[type, msgspec.json.Decoder[Any]] = {t: msgspec.json.Decoder(t) for t in (MessagesHead, CountTokensHead)}
_MISSING = re.compile(r"Object missing required field `(\w+)`")
_AT = re.compile(r"^(.*?) - at `\$\.?([^`]*)`$")
_WS = b" \t\r\n"


def parse_head(body: bytes, kind: type[T]) -> tuple[T, str]:
    """Returns the decoded head and the model id as a str; raises InvalidRequest naming the field."""
    try:
        head = _decoders[kind].decode(body)
        model = msgspec.json.decode(head.model)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(_describe(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(model, str):
        raise InvalidRequest("model: Input should be a valid string")
    return head, model


def _describe(text: str) -> str:
    if m := _MISSING.search(text):
        where = _AT.match(text)
        prefix = f"{where.group(2)}." if where and where.group(2) else ""
        return f"{prefix}{m.group(1)}: Field required"
    if m := _AT.match(text):
        return f"{m.group(2)}: {m.group(1)}"
    if text.startswith("Expected `object`"):
        return "Request body must be a JSON object"
    return text


def replace_model(body: bytes, raw_model: bytes, new_model: str) -> bytes:
    """`body` with its top-level model value (exactly `raw_model`) replaced by `new_model`."""
    encoded = msgspec.json.encode(new_model)
    if encoded == raw_model:
        return body
    hits = []
    pos = body.find(b'"model"')
    while pos != -1:
        # A bare `"model"` can only be a key (quotes inside strings are escaped); nested objects
        # may also have one, so the top-level value is the one whose bytes match exactly.
        i = pos + 7
        while i < len(body) and body[i] in _WS:
            i += 1
        if i < len(body) and body[i] == 58:  # ':'
            i += 1
            while i < len(body) and body[i] in _WS:
                i += 1
            if body.startswith(raw_model, i):
                hits.append(i)
        pos = body.find(b'"model"', pos + 7)
    if len(hits) == 1:
        i = hits[0]
        return body[:i] + encoded + body[i + len(raw_model) :]
    return _rebuild(body, encoded)


def _rebuild(body: bytes, encoded_model: bytes) -> bytes:
    """Fallback when the value is ambiguous: re-join the top-level members, each kept raw."""
    members = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
    parts = [msgspec.json.encode(k) + b":" + (encoded_model if k == "model" else bytes(v)) for k, v in members.items()]
    return b"{" + b",".join(parts) + b"}"
