"""What `previous_response_id` continues on a WebSocket: the socket's last few responses, in memory.

Over a socket Codex sends each turn as `previous_response_id` plus only the new input items, even
with `store: false`. Invariants:
- a response is remembered as the whole input it answered (earlier turns included) followed by
  its output items; a turn that names it is sent as that, then its own input (`instructions` are
  not carried over, as in the Responses API);
- at most `KEPT` responses per socket, the oldest forgotten first; failed ones are not kept;
- `continued` is the one place the lookup happens: an id the socket does not hold is left in the
  body for the HTTP path's handling of `previous_response_id`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from aigateway.errors import InvalidRequest

KEPT = 8


class History:
    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._items: OrderedDict[str, list[Any]] = OrderedDict()

    def remember(self, response_id: str, items: list[Any]) -> None:
        self._items[response_id] = items
        self._items.move_to_end(response_id)
        while len(self._items) > self._kept:
            self._items.popitem(last=False)

    def continued(self, raw: dict[str, Any]) -> list[Any]:
        """The whole input of `raw` as a list of items. When this socket holds the response its
        `previous_response_id` names, `raw` becomes that whole input, without the id; otherwise
        `raw` is left as it came (its input checked by the HTTP path)."""
        previous = raw.get("previous_response_id")
        earlier = self._items.get(previous) if isinstance(previous, str) else None
        if earlier is None:
            return _items(raw.get("input"), strict=False)
        items = earlier + _items(raw.get("input"), strict=True)
        del raw["previous_response_id"]
        raw["input"] = items
        return items


def _items(value: Any, *, strict: bool) -> list[Any]:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if isinstance(value, list):
        return value
    if value is not None and strict:
        raise InvalidRequest("input: must be a string or a list of items")
    return []
