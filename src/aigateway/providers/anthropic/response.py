"""A non-streamed Anthropic Messages response, typed (`to_ir`), for a client of another protocol
(an answer relayed unchanged is only read for usage: tap.py)."""

from __future__ import annotations

import msgspec

from aigateway.errors import UpstreamError
from aigateway.ir.messages import Message, OutputBlock, ServerToolUseBlock
from aigateway.ir.usage import Usage
from aigateway.providers.anthropic import wire
from aigateway.providers.anthropic.usage import apply_usage
from aigateway.wire.body import read_members

_OUTPUT_TYPES = frozenset(
    {"text", "thinking", "redacted_thinking", "tool_use", "server_tool_use", "web_search_tool_result"}
)
WEB_SEARCH = "web_search"  # the one server tool whose call and result the core models
_decode_message = msgspec.json.Decoder(Message).decode


def to_ir(body: bytes, *, model: str, provider: str) -> tuple[Message, Usage]:
    """A whole Anthropic Message, typed, with `model` as the client named it, and its usage
    (web searches included).

    Blocks the core does not model (server tools other than web search, and their results) are
    left out, as in the stream decoder, so the two modes give the same answer.
    """
    try:
        try:  # an answer of modelled blocks only, decoded as it is
            message = msgspec.structs.replace(_decode_message(body), model=model)
        except msgspec.ValidationError:
            message = _decode_message(_kept(body, model))
        head = wire.decode_message_head(body)
    except msgspec.DecodeError:  # and its ValidationError
        raise UpstreamError(
            f"Upstream provider '{provider}' answered with a body that is not a Message", provider=provider, status=502
        ) from None
    message.content = [block for block in message.content if modelled(block)]
    usage = Usage()
    apply_usage(usage, head.usage)
    return message, usage


def modelled(block: OutputBlock) -> bool:
    """False for a server tool call the core does not model (its result is left out as well)."""
    return not isinstance(block, ServerToolUseBlock) or block.name == WEB_SEARCH


def _kept(body: bytes, model: str) -> bytes:
    """The body with only the blocks the core models, and `model` as the client named it: the
    members written back as the upstream sent them."""
    blocks = wire.decode_answer(body).content or ()
    kept = [raw for raw in blocks if wire.decode_block_head(raw).type in _OUTPUT_TYPES]
    members = read_members(body)
    members["content"] = msgspec.Raw(b"[" + b",".join(bytes(raw) for raw in kept) + b"]")
    members["model"] = msgspec.Raw(msgspec.json.encode(model))
    return msgspec.json.encode(members)
