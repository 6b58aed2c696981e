"""Edits to a JSON request body kept as bytes, for passthrough.

The model swap edits the bytes of the top-level `"model"` value in place, so every other byte
(thinking signatures, whitespace, key order) reaches the upstream unchanged.
"""

from __future__ import annotations

import msgspec

_WS = b" \t\r\n"

Members = dict[str, msgspec.Raw]
# A JSON object's top-level members as their exact bytes (views of the body, no copies).
read_members = msgspec.json.Decoder(Members).decode


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
    members = read_members(body)
    parts = [msgspec.json.encode(k) + b":" + (encoded_model if k == "model" else bytes(v)) for k, v in members.items()]
    return b"{" + b",".join(parts) + b"}"
