"""Claude on Bedrock by InvokeModel: the client's Anthropic body, edited the way Bedrock wants it.

Edits (Bedrock user guide, "Anthropic Claude Messages API"; the same the official
`AnthropicBedrock` client makes): `model` and `stream` leave the body (they are in the URL),
`"anthropic_version": "bedrock-2023-05-31"` is added, and the flags of the `anthropic-beta`
header move into the body as `anthropic_beta` (Bedrock reads no beta header; dropping them
is a known failure of other gateways, known-gateway-bugs row 25).

Invariant: every other top-level member reaches Bedrock byte for byte as the client wrote it
(thinking signatures, key order, escapes); only the separators between members are rewritten.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import msgspec

from aigateway.errors import InvalidRequest
from aigateway.providers.bedrock import wire
from aigateway.wire.body import read_members

BEDROCK_VERSION = "bedrock-2023-05-31"
_WS = b" \t\r\n"
_DROP = frozenset({"model", "stream"})


@dataclass(frozen=True, slots=True)
class InvokeBody:
    model: str
    stream: bool
    body: bytes


def invoke_body(body: bytes, beta_header: str | None, *, extra: dict[str, Any] | None = None) -> InvokeBody:
    """The body for InvokeModel, and the model and stream flag taken out of it."""
    try:
        members = read_members(body)
    except msgspec.DecodeError as exc:  # routes validated it; a count_tokens body may not be
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    model = msgspec.json.decode(members["model"]) if "model" in members else ""
    stream = msgspec.json.decode(members["stream"]) if "stream" in members else False
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: Field required")
    added: dict[str, bytes] = {}
    if "anthropic_version" not in members:
        added["anthropic_version"] = msgspec.json.encode(BEDROCK_VERSION)
    flags = [f.strip() for f in (beta_header or "").split(",") if f.strip()]
    if flags:
        added["anthropic_beta"] = _merged_betas(members.get("anthropic_beta"), flags)
    for key, value in (extra or {}).items():
        if key not in members:
            added[key] = msgspec.json.encode(value)
    kept = [bytes(span) for key, span in _spans(body, members) if key not in _DROP and key not in added]
    kept += [msgspec.json.encode(key) + b":" + value for key, value in added.items()]
    return InvokeBody(model, stream is True, b"{" + b",".join(kept) + b"}")


def _merged_betas(existing: msgspec.Raw | None, flags: list[str]) -> bytes:
    current = msgspec.json.decode(existing) if existing is not None else []
    if not isinstance(current, list):
        raise InvalidRequest("anthropic_beta: must be a list of strings")
    return msgspec.json.encode(current + [f for f in flags if f not in current])


def _spans(body: bytes, members: dict[str, msgspec.Raw]) -> list[tuple[str, memoryview]]:
    """Each top-level member's bytes (`"key": value`) as written, found by walking the object
    with the decoded raw values' lengths; a body that does not walk (duplicate keys) is rebuilt
    from its raw values."""
    view = memoryview(body)
    spans = []
    i = _skip(body, 0) + 1  # past "{"
    for key, raw in members.items():
        i = _skip(body, i)
        if body[i : i + 1] == b",":
            i = _skip(body, i + 1)
        start = i
        i = _skip(body, _string_end(body, i))
        if body[i : i + 1] != b":":
            return _rebuilt(members)
        i = _skip(body, i + 1)
        value = bytes(raw)
        if not body.startswith(value, i):
            return _rebuilt(members)
        i += len(value)
        spans.append((key, view[start:i]))
    return spans


def _rebuilt(members: dict[str, msgspec.Raw]) -> list[tuple[str, memoryview]]:
    return [(k, memoryview(msgspec.json.encode(k) + b":" + bytes(v))) for k, v in members.items()]


def _skip(body: bytes, i: int) -> int:
    while i < len(body) and body[i] in _WS:
        i += 1
    return i


def _string_end(body: bytes, i: int) -> int:
    """Index just past the JSON string that starts at `i` (a quote)."""
    j = i + 1
    while True:
        q = body.index(b'"', j)
        backslashes = 0
        while body[q - 1 - backslashes] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 0:
            return q + 1
        j = q + 1


def count_tokens_body(body: bytes, beta_header: str | None) -> tuple[str, bytes]:
    """(model, CountTokens request): the InvokeModel body, base64 as REST JSON carries blobs.
    An Anthropic count_tokens body has no `max_tokens`, which an InvokeModel body needs."""
    invoke = invoke_body(body, beta_header, extra={"max_tokens": 1})
    wrapped = {"input": {"invokeModel": {"body": base64.b64encode(invoke.body).decode()}}}
    return invoke.model, msgspec.json.encode(wrapped)


def count_tokens_answer(body: bytes) -> bytes:
    """Bedrock's `{"inputTokens": N}` as Anthropic's `{"input_tokens": N}`; msgspec.DecodeError
    (or its ValidationError) when the body is not that."""
    return msgspec.json.encode({"input_tokens": wire.decode_count_tokens(body).inputTokens})
