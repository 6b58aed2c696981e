"""The two edits Vertex AI makes to an Anthropic Messages body, done on the bytes.

Claude on Vertex takes Anthropic's body with `model` removed (the model is in the URL) and
`"anthropic_version": "vertex-2023-10-16"` added. Every other byte stays as the client sent it:
thinking signatures are checked against the exact bytes of their blocks, and re-serializing
would also reorder or re-escape what the client wrote. The version goes in right after the
opening brace; the model member is cut out with its comma. Only if the top-level `model` cannot
be found unambiguously are the top-level members re-joined, each value still kept raw.
"""

from __future__ import annotations

import msgspec

from aigateway.wire.body import read_members

VERTEX_VERSION = "vertex-2023-10-16"
_WS = b" \t\r\n"


def to_vertex(body: bytes, *, keep_model: bool = False) -> bytes:
    members = read_members(body)
    if not keep_model and "model" in members:
        body = _remove_model(body, bytes(members["model"]), members)
    if "anthropic_version" in members:
        return body
    start = body.index(b"{") + 1
    version = b'"anthropic_version":' + msgspec.json.encode(VERTEX_VERSION)
    rest = body[start:].lstrip(_WS)
    separator = b"" if rest.startswith(b"}") else b","
    return body[:start] + version + separator + body[start:]


def _remove_model(body: bytes, raw_model: bytes, members: dict[str, msgspec.Raw]) -> bytes:
    spans = []
    pos = body.find(b'"model"')
    while pos != -1:
        # A bare `"model"` can only be a key (quotes inside strings are escaped); nested objects
        # may have one too, so the top-level member is the one whose value matches exactly.
        i = _skip(body, pos + 7)
        if i < len(body) and body[i] == 58:  # ':'
            i = _skip(body, i + 1)
            if body.startswith(raw_model, i):
                spans.append((pos, i + len(raw_model)))
        pos = body.find(b'"model"', pos + 7)
    if len(spans) != 1:
        return _rebuild(members)
    start, end = spans[0]
    after = _skip(body, end)
    if after < len(body) and body[after] == 44:  # ',' follows: take it and the space after it
        return body[:start] + body[_skip(body, after + 1) :]
    before = start - 1
    while before >= 0 and body[before] in _WS:
        before -= 1
    if body[before] == 44:  # the last member: take the comma before it
        return body[:before] + body[end:]
    return body[:start] + body[end:]


def _skip(body: bytes, i: int) -> int:
    while i < len(body) and body[i] in _WS:
        i += 1
    return i


def _rebuild(members: dict[str, msgspec.Raw]) -> bytes:
    parts = [msgspec.json.encode(k) + b":" + bytes(v) for k, v in members.items() if k != "model"]
    return b"{" + b",".join(parts) + b"}"
