"""The Responses API stream grammar, checked on raw SSE bytes.

`validate_responses_stream(raw) -> [event, ...]` parses with the gateway's own SSE reader and
raises AssertionError naming the event (its 1-based position and type) and the rule broken:

    response.created  response.in_progress
    for i = 0, 1, 2, ...:  output_item.added(i)  (events of item i)*  output_item.done(i)
    response.completed | response.incomplete | response.failed   -- and nothing after it
    an `error` event may come before the terminal event (then only response.failed may follow),
    or be a stream's only event; a stream that opened always ends with a terminal event

plus: every event validates against the openai SDK's `ResponseStreamEvent` union (its shape is
the SDK's, not ours); an `event:` line, where present, equals its JSON `type`;
`sequence_number` is strictly increasing; the events of an item name its `item_id` and
`output_index`; content parts and summary parts are added before their deltas and done before
the item is; the `.done` text, arguments and input equal the concatenated deltas; the terminal
response's `output` holds the items done, in order; `web_search_call.in_progress`, `.searching`
and `.completed` come only inside a `web_search_call` item, each once, in that order, and a call
done as `completed` had its `.completed`; `output_text.annotation.added` comes inside an open
`output_text` part, numbered 0, 1, 2... per part, and the part's annotations when it is done
(and in its item when that is) are the ones added.
"""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from openai.types.responses import ResponseStreamEvent

from tests.support.stream_grammar import parse_events

# event type -> the SDK's model of it (the union is discriminated by `type`)
_MODELS = {get_args(m.model_fields["type"].annotation)[0]: m for m in get_args(get_args(ResponseStreamEvent)[0])}
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_HEAD = ("response.created", "response.in_progress")
# event type -> what its deltas accumulate into, and the `.done` member holding the whole
_DELTAS = {
    "response.output_text": "text",
    "response.function_call_arguments": "arguments",
    "response.custom_tool_call_input": "input",
    "response.reasoning_summary_text": "text",
    "response.reasoning_text": "text",
    "response.refusal": "refusal",
}
_SEARCH_STEPS = ("response.web_search_call.in_progress", "response.web_search_call.searching")
_SEARCH_STEPS += ("response.web_search_call.completed",)


class _State:
    def __init__(self) -> None:
        self.sequence = -1
        self.open: dict[str, Any] | None = None  # the item under way
        self.done: list[dict[str, Any]] = []
        self.parts: set[tuple[str, int]] = set()  # open content / summary parts
        self.text: dict[tuple[str, int], str] = {}
        self.annotations: dict[int, list[Any]] = {}  # content_index -> annotations added
        self.search_steps: list[str] = []  # web_search_call events of the open item
        self.terminal: str | None = None
        self.errored = False


def validate_responses_stream(raw: bytes, *, sdk_shapes: bool = True) -> list[dict[str, Any]]:
    """`sdk_shapes`: also validate each event against this SDK's models (off for recordings made
    before the SDK added a required member, which OpenAI itself then did not send)."""
    events = parse_events(raw)
    assert events, "empty stream"
    state, out = _State(), []
    for n, sse in enumerate(events, 1):
        data = msgspec.json.decode(sse.data)
        where = f"event {n} ({data.get('type')})"
        assert sse.event in (None, data.get("type")), f"{where}: event line {sse.event!r}"
        assert data.get("type") in _MODELS, f"{where}: not an event type the SDK knows"
        if sdk_shapes:
            _MODELS[data["type"]].model_validate(data)  # raises naming the member the SDK misses
        _check(state, data, n, where)
        out.append(data)
    opened = out[0]["type"] != "error"
    assert state.terminal or (state.errored and not opened), "the stream ended without a terminal event"
    return out


def _check(state: _State, data: dict[str, Any], n: int, where: str) -> None:
    kind = data["type"]
    assert state.terminal is None, f"{where}: after {state.terminal}"
    assert data["sequence_number"] > state.sequence, f"{where}: sequence_number {data['sequence_number']}"
    state.sequence = data["sequence_number"]
    if n <= 2:
        assert kind == _HEAD[n - 1] or (kind == "error" and n == 1), f"{where}: the stream opens with {_HEAD}"
        return
    if state.errored:
        assert kind == "response.failed", f"{where}: only response.failed may follow an error event"
    if kind == "error":
        state.errored = True
    elif kind in TERMINAL:
        _terminal(state, data, where)
    elif kind == "response.output_item.added":
        assert state.open is None, f"{where}: item {state.open} is still open"
        assert data["output_index"] == len(state.done), f"{where}: output_index {data['output_index']}"
        state.open = data["item"]
    elif kind == "response.output_item.done":
        _item_done(state, data, where)
    else:
        _inside(state, data, kind, where)


def _inside(state: _State, data: dict[str, Any], kind: str, where: str) -> None:
    item = state.open
    assert item is not None, f"{where}: no item is open"
    assert data.get("item_id") == item["id"], f"{where}: item_id {data.get('item_id')} of {item['id']}"
    assert data["output_index"] == len(state.done), f"{where}: output_index {data['output_index']}"
    if kind in _SEARCH_STEPS:
        assert item["type"] == "web_search_call", f"{where}: inside a {item['type']} item"
        steps = [*state.search_steps, kind]
        assert steps == [s for s in _SEARCH_STEPS if s in steps], f"{where}: after {state.search_steps}"
        state.search_steps = steps
        return
    if kind == "response.output_text.annotation.added":
        index = data["content_index"]
        assert any(p[1] == index for p in state.parts), f"{where}: no output_text part {index} is open"
        added = state.annotations.setdefault(index, [])
        assert data["annotation_index"] == len(added), f"{where}: annotation_index {data['annotation_index']}"
        added.append(data["annotation"])
        return
    part = (kind.rsplit(".", 2)[0], data.get("content_index", data.get("summary_index", 0)))
    if kind.endswith((".part.added", "_part.added")):
        assert part not in state.parts, f"{where}: part added twice"
        state.parts.add(part)
        return
    if kind.endswith((".part.done", "_part.done")):
        assert part in state.parts, f"{where}: part done before added"
        state.parts.discard(part)
        if kind == "response.content_part.done" and data["part"]["type"] == "output_text":
            added = state.annotations.get(part[1], [])
            assert data["part"]["annotations"] == added, f"{where}: annotations {data['part']['annotations']}"
        return
    stem, _, step = kind.rpartition(".")
    if stem in _DELTAS:
        key = (stem, part[1])
        if stem in ("response.output_text", "response.reasoning_summary_text", "response.refusal"):
            assert any(p[1] == part[1] for p in state.parts), f"{where}: text outside an open part"
        if step == "delta":
            state.text[key] = state.text.get(key, "") + data["delta"]
        else:
            whole = data[_DELTAS[stem]]
            assert whole == state.text.get(key, whole), f"{where}: .done differs from its deltas"
            state.text.pop(key, None)


def _item_done(state: _State, data: dict[str, Any], where: str) -> None:
    item = state.open
    assert item is not None, f"{where}: no item is open"
    assert data["item"]["id"] == item["id"] and data["output_index"] == len(state.done), where
    assert not state.parts, f"{where}: parts still open: {state.parts}"
    done = data["item"]
    if done["type"] == "web_search_call" and done["status"] == "completed":
        assert _SEARCH_STEPS[-1] in state.search_steps, f"{where}: completed without web_search_call.completed"
    if done["type"] == "message":
        for index, part in enumerate(done["content"]):
            if part["type"] == "output_text":
                added = state.annotations.get(index, [])
                assert part["annotations"] == added, f"{where}: annotations {part['annotations']}"
    state.done.append(done)
    state.open, state.text, state.annotations, state.search_steps = None, {}, {}, []


def _terminal(state: _State, data: dict[str, Any], where: str) -> None:
    assert state.open is None or data["type"] == "response.failed", f"{where}: item {state.open['id']} open"
    state.terminal = data["type"]
    if data["type"] != "response.failed":
        ids = [i["id"] for i in data["response"]["output"]]
        assert ids == [i["id"] for i in state.done], f"{where}: output {ids}"
