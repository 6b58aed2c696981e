"""Validates a Messages (or count_tokens) body at the boundary.

Only the fields the gateway needs are decoded; everything else stays raw bytes, so every byte
(thinking signatures, whitespace, key order) reaches an Anthropic-speaking upstream unchanged
but the model id (`wire/body.py`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec

from aigateway.errors import InvalidRequest


class CountTokensHead(msgspec.Struct, kw_only=True):
    model: msgspec.Raw
    messages: list[msgspec.Raw]
    # Raw, so its presence costs nothing to notice; empty when absent
    provider_options: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw, name="providerOptions")


# At least one token: the reservation of a budgeted request is `max_tokens` at the output price,
# so a negative value would be a credit that admits every concurrent request (and no upstream
# takes one). The upper bound keeps the reservation within the counters' 64-bit integers.
MaxTokens = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class MessagesHead(CountTokensHead):
    max_tokens: MaxTokens
    stream: bool | None = None


T = TypeVar("T", bound=CountTokensHead)

_decoders: dict[type, msgspec.json.Decoder[Any]] = {t: msgspec.json.Decoder(t) for t in (MessagesHead, CountTokensHead)}
_MISSING = re.compile(r"Object missing required field `(\w+)`")
_AT = re.compile(r"^(.*?) - at `\$\.?([^`]*)`$")


def parse_head(body: bytes, kind: type[T]) -> tuple[T, str]:
    """Returns the decoded head and the model id as a str; raises InvalidRequest naming the field."""
    try:
        head = _decoders[kind].decode(body)
        model = msgspec.json.decode(head.model)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(_describe(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    except RecursionError:  # the decoder's own limit, skipping what the head does not read
        raise InvalidRequest("Request body is nested too deeply to be read") from None
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
