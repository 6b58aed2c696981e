"""Where a value is inside a JSON body kept as bytes, so one part of it can be edited in place.

msgspec gives the exact bytes of a value (`msgspec.Raw`) but not where they are; these find the
place. An array's elements follow each other separated only by whitespace and commas, so each is
found right after the end of the previous one (checked, byte for byte). An
object's member is found by its key followed by its exact value bytes, and only when that pair
occurs once (quotes inside JSON strings are escaped, so a bare `"key"` is a key, but nested
objects may repeat it): anything ambiguous is None, and the caller leaves that part alone.
"""

from __future__ import annotations

import msgspec

from aigateway.wire.body import read_members

_WS = b" \t\r\n"
_SEPARATORS = _WS + b","

Span = tuple[int, int]


def member(body: bytes, within: Span, key: str) -> Span | None:
    """The span of the value of member `key` of the JSON object at `within`, if found exactly."""
    start, end = within
    members = read_members(body[start:end])
    raw = members.get(key)
    if raw is None:
        return None
    value, name = bytes(raw), msgspec.json.encode(key)
    hits = []
    pos = body.find(name, start, end)
    while pos != -1:
        i = _skip(body, pos + len(name))
        if i < end and body[i] == 58:  # ':'
            i = _skip(body, i + 1)
            if body.startswith(value, i):
                hits.append(i)
        pos = body.find(name, pos + len(name), end)
    return (hits[0], hits[0] + len(value)) if len(hits) == 1 else None


def elements(body: bytes, within: Span) -> list[Span]:
    """The spans of the elements of the JSON array at `within`."""
    start, end = within
    items = msgspec.json.decode(body[start:end], type=list[msgspec.Raw])
    spans, pos = [], start + 1
    for item in items:
        raw = bytes(item)
        at = _skip(body, pos, _SEPARATORS)
        if not body.startswith(raw, at):  # cannot happen for JSON msgspec accepted; never guess
            at = body.find(raw, pos, end)
        spans.append((at, at + len(raw)))
        pos = at + len(raw)
    return spans


def whole(body: bytes) -> Span:
    """The span of the top-level value (surrounding whitespace left out)."""
    start, end = _skip(body, 0), len(body)
    while end > start and body[end - 1] in _WS:
        end -= 1
    return start, end


def apply(body: bytes, edits: list[tuple[Span, bytes]]) -> bytes:
    """`body` with each span replaced by its bytes (spans must not overlap)."""
    out, pos = [], 0
    for (start, end), replacement in sorted(edits, key=lambda e: e[0]):
        out += [body[pos:start], replacement]
        pos = end
    out.append(body[pos:])
    return b"".join(out)


def _skip(body: bytes, i: int, chars: bytes = _WS) -> int:
    while i < len(body) and body[i] in chars:
        i += 1
    return i
