"""Reads usage and stop reason off a non-streamed Anthropic Messages response."""

from __future__ import annotations

import msgspec

from aigateway.ir.usage import Usage


class _Head(msgspec.Struct):
    stop_reason: str | None = None
    usage: dict[str, object] | None = None


_decode = msgspec.json.Decoder(_Head).decode


def read_usage(body: bytes) -> tuple[Usage, str | None] | None:
    """None when the body is not a JSON object: an answer no client could use."""
    usage = Usage()
    try:
        head = _decode(body)
    except msgspec.DecodeError:
        return None
    usage.update_from_anthropic(head.usage)
    return usage, head.stop_reason
