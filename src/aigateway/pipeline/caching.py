"""Automatic prompt-cache breakpoints for Claude (`providerOptions.gateway.caching`).

Rules (Anthropic's prompt caching: `cache_control` on tools, system blocks and message blocks,
and the request's top-level `cache_control`; anthropic `types/cache_control_ephemeral_param.py`,
spec §3.5):
- the prefix is read in the order tools → system → messages; a breakpoint caches everything up to
  and including its block. A prefix shorter than the model's minimum is simply not cached (no
  error, no charge), so no length is checked here;
- at most `LIMIT` (4) breakpoints per request, the client's own counted: the gateway only adds,
  never moves or removes one, and never adds one where one already is;
- wanted, most valuable first: the last user turn (the whole history, which the next turn reads
  back), the end of the system prompt, the end of the tools, and the previous user turn (where
  the previous request wrote, so it is read back however many blocks the new turn added);
- an upstream that takes the top-level automatic `cache_control` ("automatic": Anthropic's API)
  gets that for the last user turn; the others ("blocks": Bedrock, Vertex) get a block marked;
- a one-hour breakpoint may not follow a five-minute one: the gateway's (five-minute) breakpoints
  go only after the client's last one-hour one;
- thinking blocks and empty text blocks carry no breakpoint: the turn's last block that can does.
The request is never changed in place (each attempt may reach another upstream): marked copies
of the core request, or of the body's bytes with every other byte kept (wire/spans.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from aigateway.ir.messages import InputMessage, MessagesRequest, RawBlock
from aigateway.wire import spans

LIMIT = 4
HEADER = b"x-aigateway-cache-breakpoints"
EPHEMERAL: dict[str, Any] = {"type": "ephemeral"}
Position = tuple[int, int, int]  # (0 tools | 1 system | 2 messages, index, block index)
AUTOMATIC: Position = (3, 0, 0)  # the top-level cache_control: after everything
_CACHEABLE = frozenset({"text", "image", "document", "search_result", "tool_use", "tool_result"})
_MARK = b'"cache_control":{"type":"ephemeral"}'


def wanted(setting: str | None, request: MessagesRequest | None) -> bool:
    """Whether to add breakpoints: as `caching` says, else when the client asked for prompt
    caching the OpenAI way (`prompt_cache_key`, which Codex sends once per session)."""
    if setting is not None:
        return setting == "auto"
    return request is not None and request.prompt_cache_key is not None


def header(added: int) -> list[tuple[bytes, bytes]]:
    return [(HEADER, str(added).encode())] if added else []


@dataclass(slots=True)
class Survey:
    """The client's breakpoints and the spots the gateway would mark, most valuable first
    (None: absent, or already marked by the client)."""

    marks: int = 0
    top_level: bool = False
    last_1h: Position = (-1, 0, 0)
    spots: list[Position | None] = field(default_factory=list)


def choose(survey: Survey, automatic: bool) -> list[Position]:
    """Where the gateway adds breakpoints, within the limit and after any one-hour breakpoint."""
    spots = list(survey.spots)
    if survey.top_level:
        spots[0] = None  # the client's own automatic breakpoint already marks the last turn
    elif automatic and spots[0] is not None:
        spots[0] = AUTOMATIC
    free = LIMIT - survey.marks - survey.top_level
    chosen = [p for p in spots if p is not None and p > survey.last_1h]
    return chosen[: max(free, 0)]


def survey(tools: Sequence[Any], system: Sequence[Any], messages: Sequence[tuple[str, Sequence[Any]]]) -> Survey:
    """Reads blocks as the core's structs or as decoded JSON objects alike."""
    s = Survey()
    marked: set[Position] = set()
    parts: list[tuple[int, Sequence[Sequence[Any]]]] = [(0, [tools]), (1, [system]), (2, [b for _, b in messages])]
    for part, lists in parts:
        for i, blocks in enumerate(lists):
            for j, block in enumerate(blocks):
                control = _control(block)
                if control is None:
                    continue
                at = (part, j, 0) if part < 2 else (part, i, j)
                marked.add(at)
                s.marks += 1
                if isinstance(control, dict) and control.get("ttl") == "1h":
                    s.last_1h = max(s.last_1h, at)
    users = [i for i, (role, _) in enumerate(messages) if role == "user"][-2:]
    turns = [_last_cacheable(messages[i][1], (2, i)) for i in reversed(users)] + [None, None]
    system_end = _last_cacheable(system, (1,), part_of=True)
    tools_end = (0, len(tools) - 1, 0) if tools else None
    s.spots = [None if p in marked else p for p in (turns[0], system_end, tools_end, turns[1])]
    return s


def _last_cacheable(blocks: Sequence[Any], prefix: tuple[int, ...], part_of: bool = False) -> Position | None:
    for j in range(len(blocks) - 1, -1, -1):
        if _can_mark(blocks[j]):
            return (prefix[0], j, 0) if part_of else (prefix[0], prefix[1], j)
    return None


def _field(block: Any, name: str) -> Any:
    if isinstance(block, RawBlock):
        return block.data.get(name)
    if isinstance(block, dict):
        return block.get(name)
    if isinstance(block, msgspec.Struct):
        return block.__struct_config__.tag if name == "type" else getattr(block, name, None)
    return None


def _control(block: Any) -> Any:
    return _field(block, "cache_control")


def _can_mark(block: Any) -> bool:
    kind = block.type if isinstance(block, RawBlock) else _field(block, "type")
    if kind == "text":
        return bool(_field(block, "text"))
    return kind in _CACHEABLE


# --- the core request (translated routes) --------------------------------------------------------


def mark_request(request: MessagesRequest, automatic: bool) -> tuple[MessagesRequest, int]:
    """A copy of `request` with the gateway's breakpoints, and how many it added."""
    tools = [*(request.tools or []), *(request.server_tools or [])]
    found = survey(tools, request.system or [], [(m.role, m.content) for m in request.messages])
    found.top_level = "cache_control" in request.extra
    chosen = choose(found, automatic)
    if not chosen:
        return request, 0
    out = msgspec.structs.replace(request)
    for part, i, j in chosen:
        if part == 0:
            _mark_tool(out, i)
        elif part == 1:
            out.system = _marked_at(out.system or [], i)
        elif part == 2:
            out.messages = list(out.messages)
            out.messages[i] = InputMessage(out.messages[i].role, _marked_at(out.messages[i].content, j))
        else:
            out.extra = {**out.extra, "cache_control": dict(EPHEMERAL)}
    return out, len(chosen)


def _mark_tool(out: MessagesRequest, i: int) -> None:
    custom = out.tools or []
    if i < len(custom):
        out.tools = _marked_at(custom, i)
    else:
        server = list(out.server_tools or [])
        server[i - len(custom)] = {**server[i - len(custom)], "cache_control": dict(EPHEMERAL)}
        out.server_tools = server


def _marked_at(blocks: Sequence[Any], j: int) -> list[Any]:
    out = list(blocks)
    block = out[j]
    if isinstance(block, RawBlock):
        out[j] = RawBlock(block.type, {**block.data, "cache_control": dict(EPHEMERAL)})
    else:
        out[j] = msgspec.structs.replace(block, cache_control=dict(EPHEMERAL))
    return out


# --- the client's body (passthrough) ---------------------------------------------------------------


def mark_body(body: bytes, raw: dict[str, Any], automatic: bool) -> tuple[bytes, int]:
    """`body` (decoded: `raw`) with the gateway's breakpoints added in place, and how many."""
    system = raw.get("system")
    messages = raw.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return body, 0  # not for the gateway to judge: the upstream answers it
    found = survey(
        _listed(raw.get("tools")),
        [{"type": "text", "text": system}] if isinstance(system, str) else _listed(system),
        [(m.get("role", ""), _content(m.get("content"))) for m in messages],
    )
    found.top_level = raw.get("cache_control") is not None
    where = _Finder(body)
    edits = [e for p in choose(found, automatic) if (e := _edit(where, p)) is not None]
    return (spans.apply(body, edits), len(edits)) if edits else (body, 0)


class _Finder:
    """wire/spans.py over one body, each span looked up once (a body is 50 to 100 KB)."""

    def __init__(self, body: bytes) -> None:
        self.body, self.top = body, spans.whole(body)
        self._members: dict[tuple[spans.Span, str], spans.Span | None] = {}
        self._elements: dict[spans.Span, list[spans.Span]] = {}

    def member(self, within: spans.Span, key: str) -> spans.Span | None:
        if (within, key) not in self._members:
            self._members[within, key] = spans.member(self.body, within, key)
        return self._members[within, key]

    def elements(self, within: spans.Span) -> list[spans.Span]:
        if within not in self._elements:
            self._elements[within] = spans.elements(self.body, within)
        return self._elements[within]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _content(value: Any) -> list[Any]:
    return [{"type": "text", "text": value}] if isinstance(value, str) else _listed(value)


def _edit(find: _Finder, at: Position) -> tuple[spans.Span, bytes] | None:
    body, top = find.body, find.top
    part, i, j = at
    if at == AUTOMATIC:
        if body[top[0]] != 123:
            return None
        return (top[0] + 1, top[0] + 1), _MARK + b","
    where = find.member(top, ("tools", "system", "messages")[part])
    if where is None:
        return None
    if part == 2:
        where = find.member(find.elements(where)[i], "content")
        if where is None:
            return None
        i = j
    if body[where[0]] == 34:  # '"': a string becomes one text block carrying the mark
        return where, b'[{"type":"text","text":' + body[where[0] : where[1]] + b"," + _MARK + b"}]"
    start, end = find.elements(where)[i]
    if body[start] != 123:  # '{': not an object, so not a block the mark can go on
        return None
    return (end - 1, end - 1), (b"," if body[start + 1 : end - 1].strip() else b"") + _MARK
