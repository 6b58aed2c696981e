"""Validates a Messages (or count_tokens) body at the boundary.

Only the fields the gateway needs are decoded; everything else stays raw bytes, so every byte
(thinking signatures, whitespace, key order) reaches an Anthropic-speaking upstream unchanged
but the model id (`wire/body.py`). The body is read once, into its top-level members as their
exact bytes; the head is decoded from the few members it needs, and the members are kept for
whatever else needs them (the response cache's key) so nothing scans the body again.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.wire.body import Members, read_members


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


_max_tokens = msgspec.json.Decoder(MaxTokens).decode
_flag = msgspec.json.Decoder(bool | None).decode
_ARRAY = 0x5B  # "["


def parse_head(body: bytes, kind: type[T]) -> tuple[T, str]:
    """Returns the decoded head and the model id as a str; raises InvalidRequest naming the field."""
    head, model, _ = read_head(body, kind)
    return head, model


def read_head(body: bytes, kind: type[T]) -> tuple[T, str, Members]:
    """`parse_head`, and the body's top-level members as their exact bytes (no copies)."""
    try:
        members = read_members(body)
        head = _head_of(members, kind, body)
        model = msgspec.json.decode(head.model)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(_describe(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    except RecursionError:  # the decoder's own limit, skipping what the head does not read
        raise InvalidRequest("Request body is nested too deeply to be read") from None
    if not isinstance(model, str):
        raise InvalidRequest("model: Input should be a valid string")
    return head, model, members


def _head_of(members: Members, kind: type[T], body: bytes) -> T:
    """The head from its few members (`messages` only checked to be an array: its items are not
    the head's). Anything amiss is decoded again from the whole body, for msgspec's own words."""
    try:
        model, messages = members["model"], members["messages"]
        if memoryview(messages)[0] != _ARRAY:
            raise ValueError
        options = members.get("providerOptions") or msgspec.Raw()
        if kind is CountTokensHead:
            return kind(model=model, messages=[], provider_options=options)
        stream = members.get("stream")
        return kind(  # type: ignore[call-arg]
            model=model,
            messages=[],
            provider_options=options,
            max_tokens=_max_tokens(members["max_tokens"]),
            stream=None if stream is None else _flag(stream),
        )
    except (KeyError, ValueError, msgspec.ValidationError, msgspec.DecodeError):
        head: T = _decoders[kind].decode(body)  # raises what is wrong, where
        return head


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
