"""A non-streamed Anthropic Messages response, typed (`to_ir`), for a client of another protocol."""

from __future__ import annotations

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import Message
from aigateway.ir.usage import Usage

_OUTPUT_TYPES = frozenset({"text", "thinking", "redacted_thinking", "tool_use"})


def to_ir(body: bytes, *, model: str, provider: str) -> tuple[Message, Usage]:
    """A whole Anthropic Message, typed, with `model` as the client named it.

    Blocks the core does not model (server tools and their results) are left out, as in the
    stream decoder, so the two modes give the same answer.
    """
    try:
        data = msgspec.json.decode(body)
        if not isinstance(data, dict):
            raise TypeError
        data["content"] = [b for b in data.get("content") or [] if b.get("type") in _OUTPUT_TYPES]
        data["model"] = model
        message = msgspec.convert(data, Message)
    except (msgspec.DecodeError, msgspec.ValidationError, TypeError, AttributeError):
        raise UpstreamError(
            f"Upstream provider '{provider}' answered with a body that is not a Message", provider=provider, status=502
        ) from None
    u = message.usage
    return message, Usage(u.input_tokens, u.output_tokens, u.cache_read_input_tokens, u.cache_creation_input_tokens)
