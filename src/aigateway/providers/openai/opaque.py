"""Encrypted reasoning (OpenRouter's `reasoning_details` of type `reasoning.encrypted`), carried
through Anthropic clients as `redacted_thinking` blocks.

An Anthropic client keeps a `redacted_thinking` block and sends it back unchanged on the next
turn, which is exactly what the upstream needs of its encrypted reasoning (known-gateway-bugs
row 14: "reasoning details must be preserved"). The block's `data` is a prefix naming the
format plus the items as base64url JSON; blocks without the prefix are Anthropic's own.
"""

from __future__ import annotations

import base64
from typing import Any

import msgspec

PREFIX = "agw.reasoning_details.v1:"


def is_encrypted(item: dict[str, Any]) -> bool:
    return item.get("type") == "reasoning.encrypted"


def encode(items: list[dict[str, Any]]) -> str:
    return PREFIX + base64.urlsafe_b64encode(msgspec.json.encode(items)).decode()


def decode(data: str) -> list[dict[str, Any]] | None:
    if not data.startswith(PREFIX):
        return None
    try:
        items = msgspec.json.decode(base64.urlsafe_b64decode(data[len(PREFIX) :]))
    except (ValueError, msgspec.DecodeError):
        return None
    return items if isinstance(items, list) else None
