"""A client's JSON body, decoded with its nesting bounded.

Invariant: whatever a client sends, decoding it raises `InvalidRequest` (a 400 in the door's
envelope) or returns a value nested at most `max_depth` levels deep, so code that walks the
value recursively (schema conversion, re-encoding) cannot run out of stack. The decoder's own
recursion limit (about a thousand levels) is reported the same way, never as a 500.
"""

from __future__ import annotations

import gc
from itertools import compress
from typing import Any

import msgspec

from aigateway.errors import InvalidRequest

_decode = msgspec.json.Decoder().decode
_CONTAINERS = frozenset({dict, list})  # what msgspec decodes JSON objects and arrays to


def too_deep(limit: int) -> InvalidRequest:
    return InvalidRequest(f"Request body is nested more than {limit} levels deep (server.max_json_depth)")


def decode(body: bytes, max_depth: int) -> Any:
    """The body as Python values; a 400 if it is not JSON or is nested too deeply."""
    try:
        value = _decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise too_deep(max_depth) from None
    check_depth(value, max_depth)
    return value


def check_depth(value: Any, max_depth: int) -> None:
    """Level by level, without recursion. `gc.get_referents` lists the members of every container
    of a level in one C call and the filter runs in C too: a quarter of the decode's own time on an
    88 KB Claude Code body, where a Python loop over the members took twice the decode."""
    level = [value] if type(value) in _CONTAINERS else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise too_deep(max_depth)
        members = gc.get_referents(*level)  # a dict's keys and values, a list's items
        level = list(compress(members, map(_CONTAINERS.__contains__, map(type, members))))
