"""Conversation state of the Responses door: what `previous_response_id` continues, and the items
a finished response leaves in the store (store/responses.py).

- a response is kept with its input items: the conversation before it (the previous response's
  input items and output), then its own input, each with an `id` (and a `status` where the
  API's item type has one), so `input_items` can list and page them as OpenAI does;
- a continued conversation is that history followed by the new input, for any model:
  - through the core (items.py), items the core cannot carry (hosted tools' calls) are left out
    and named in `x-aigateway-dropped`; reasoning sealed by this gateway gives the model its
    thinking back (when it came from the same model), reasoning sealed elsewhere is left out;
  - to a Responses API upstream, item ids go (the upstream never saw them), and so does
    reasoning it cannot read (sealed by this gateway, or kept without `encrypted_content`); its
    own reasoning goes with its id and `encrypted_content`, as it requires;
  - but a response the upstream keeps itself (it answered `store: true`) is continued there
    with its own id and only the new input, on that same provider (`Previous.upstream`);
- `previous_response_id` names a response of the same key, finished; anything else is OpenAI's
  400 `previous_response_not_found`, before any upstream call.

`Previous` is what a continuation needs, wherever it comes from: this store (`load_previous`),
or a caller's own memory of a conversation.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from aigateway.errors import InvalidRequest
from aigateway.frontends.responses.sealing import PREFIX
from aigateway.store.responses import RUNNING, Kept, ResponseStore

_PREFIXES = {
    "message": "msg", "function_call": "fc", "function_call_output": "fco", "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco", "reasoning": "rs",
}  # fmt: skip
_WITH_STATUS = {"message", "function_call", "function_call_output", "custom_tool_call_output"}


@dataclass(frozen=True)
class Previous:
    """The conversation a request continues."""

    id: str
    items: list[dict[str, Any]]  # every item up to and including that response's output
    upstream: str | None = None  # a provider that keeps `id` itself: continued there as it is


def previous_of(kept: Kept) -> Previous:
    return Previous(kept.id, [*kept.items, *(kept.response.get("output") or [])], kept.upstream)


async def load_previous(store: ResponseStore, key_id: str, response_id: Any) -> Previous:
    """The stored conversation `previous_response_id` names; OpenAI's 400 when there is none."""
    if not isinstance(response_id, str) or not response_id:
        raise InvalidRequest("previous_response_id: must be a response id (a string)")
    kept = await store.load(key_id, response_id, settle=True)
    if kept is None:
        raise InvalidRequest(
            f"previous_response_id: Previous response with id '{response_id}' not found.",
            error_type="previous_response_not_found",
        )
    if kept.status in RUNNING:
        raise InvalidRequest(f"previous_response_id: response '{response_id}' has not finished (it is {kept.status})")
    return previous_of(kept)


def input_items(value: Any) -> list[dict[str, Any]]:
    """The request's `input` as a list of items (a string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": value}]}]
    if not isinstance(value, list):
        raise InvalidRequest("input: must be a string or a list of items")
    return value


def for_storage(items: list[Any]) -> list[dict[str, Any]]:
    """Items as `input_items` lists them: each with an id, text content as parts, and a status
    where the item type has one."""
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message" if "role" in item else None)
        kept = {**item, "type": kind}
        if kind == "message" and isinstance(item.get("content"), str):
            part = "output_text" if item.get("role") == "assistant" else "input_text"
            kept["content"] = [{"type": part, "text": item["content"]}]
            if part == "output_text":
                kept["content"][0]["annotations"] = []
        if not isinstance(kept.get("id"), str):
            kept["id"] = f"{_PREFIXES.get(str(kind), 'item')}_{secrets.token_hex(16)}"
        if kind in _WITH_STATUS and "status" not in kept:
            kept["status"] = "completed"
        out.append(kept)
    return out


def for_core(items: list[dict[str, Any]], carried: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """History for items.py: items of the kinds it carries; reasoning only when sealed here.
    Also the kinds left out, for `x-aigateway-dropped`."""
    out, dropped = [], []
    for item in items:
        kind = item.get("type")
        if kind == "reasoning" and not _sealed_here(item):
            continue
        if kind in carried:
            out.append(item)
        elif f"previous_response_id: {kind}" not in dropped:
            dropped.append(f"previous_response_id: {kind}")
    return out, dropped


def for_upstream(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History for a Responses API upstream: no reasoning it cannot read, and no ids but those of
    the reasoning it can (its own, which it requires with their `encrypted_content`)."""
    out = []
    for item in items:
        if item.get("type") != "reasoning":
            out.append({k: v for k, v in item.items() if k != "id"})
        elif item.get("encrypted_content") and not _sealed_here(item):
            out.append(item)
    return out


def without_sealed(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items as a client that did not `include` reasoning.encrypted_content sees them."""
    return [
        {k: v for k, v in item.items() if k != "encrypted_content"} if item.get("type") == "reasoning" else item
        for item in items
    ]


def _sealed_here(item: dict[str, Any]) -> bool:
    sealed = item.get("encrypted_content")
    return isinstance(sealed, str) and sealed.startswith(PREFIX)
