"""The breakpoint rules (pipeline/caching.py), spot by spot, on the core request and on bodies."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from aigateway.ir.messages import MessagesRequest, parse_request
from aigateway.pipeline import caching
from tests.support.prompt_cache import capture

E = {"type": "ephemeral"}
H = {"type": "ephemeral", "ttl": "1h"}
TOOL = {"name": "t", "input_schema": {"type": "object"}}


def text(t: str, mark: dict | None = None) -> dict[str, Any]:
    return {"type": "text", "text": t} | ({"cache_control": mark} if mark else {})


def body(*, tools=1, system=1, turns=2, marks: dict[str, dict] | None = None, **top: Any) -> dict[str, Any]:
    """A request with `tools` tools, `system` system blocks and `turns` user turns (an assistant
    turn between each); `marks` puts the client's own cache_control at named spots."""
    marks = marks or {}
    messages: list[dict[str, Any]] = []
    for n in range(turns):
        if n:
            messages.append({"role": "assistant", "content": [text(f"a{n}")]})
        messages.append({"role": "user", "content": [text(f"u{n}", marks.get(f"user{n}"))]})
    raw = {"model": "m", "max_tokens": 5, "messages": messages, **top}
    raw["tools"] = [TOOL | ({"cache_control": marks["tool"]} if "tool" in marks and i == tools - 1 else {})
                    for i in range(tools)]  # fmt: skip
    raw["system"] = [text(f"s{i}", marks.get("system") if i == system - 1 else None) for i in range(system)]
    return raw


# (request, automatic upstream, where the gateway's breakpoints go)
CASES = [
    ("nothing marked, blocks", body(), False, [(2, 2, 0), (1, 0, 0), (0, 0, 0), (2, 0, 0)]),
    ("nothing marked, automatic", body(), True, [caching.AUTOMATIC, (1, 0, 0), (0, 0, 0), (2, 0, 0)]),
    ("one turn: no previous turn", body(turns=1), False, [(2, 0, 0), (1, 0, 0), (0, 0, 0)]),
    ("no tools, no system", body(tools=0, system=0, turns=1), False, [(2, 0, 0)]),
    ("client marked system: three left", body(marks={"system": E}), False, [(2, 2, 0), (0, 0, 0), (2, 0, 0)]),
    (
        "client marked three: one left, the last turn",
        body(marks={"system": E, "tool": E, "user0": E}),
        False,
        [(2, 2, 0)],
    ),
    ("client marked four: none", body(marks={"system": E, "tool": E, "user0": E, "user1": E}), False, []),
    ("client's top-level counts, covers the last turn", body(cache_control=E), True, [(1, 0, 0), (0, 0, 0), (2, 0, 0)]),
    ("only after the client's one-hour mark", body(marks={"user0": H}), False, [(2, 2, 0)]),
    ("a one-hour system mark leaves the turns", body(marks={"system": H}), True, [caching.AUTOMATIC, (2, 0, 0)]),
]


@pytest.mark.parametrize(("raw", "automatic", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_breakpoints_go_where_the_rules_say(raw, automatic, want):
    request = parse_request(raw)
    tools = [*(request.tools or []), *(request.server_tools or [])]
    found = caching.survey(tools, request.system or [], [(m.role, m.content) for m in request.messages])
    found.top_level = "cache_control" in raw
    assert caching.choose(found, automatic) == want


def test_last_turn_mark_skips_thinking_and_empty_text():
    raw = body(turns=1)
    raw["messages"].append({"role": "assistant", "content": [text("a")]})
    raw["messages"].append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x"}, text("")]})
    marked, _ = caching.mark_request(parse_request(raw), automatic=False)
    assert marked.messages[-1].content[0].cache_control == E and marked.messages[-1].content[1].cache_control is None


def test_core_request_is_marked_on_a_copy():
    request = parse_request(body())
    before = msgspec.json.encode(request)
    marked, added = caching.mark_request(request, automatic=True)
    assert added == 4 and msgspec.json.encode(request) == before
    assert marked.extra["cache_control"] == E
    assert marked.tools[0].cache_control == E and marked.system[0].cache_control == E
    assert marked.messages[0].content[0].cache_control == E  # the previous user turn
    assert marked.messages[2].content[0].cache_control is None  # the last: the top-level mark's


def unmarked(sent: bytes) -> bytes:
    mark = b'"cache_control":{"type":"ephemeral"}'
    return sent.replace(b"," + mark, b"").replace(mark + b",", b"")


@pytest.mark.recordings
@pytest.mark.parametrize("name", ["claude-code-sonnet-first-turn", "claude-code-unknown-model-tool-result-turn"])
def test_claude_code_body_gets_one_mark_on_its_tools_and_keeps_every_other_byte(name):
    raw = capture(name)
    sent = json.dumps(raw, indent=1).encode()  # whitespace of its own, which must survive
    marked, added = caching.mark_body(sent, raw, automatic=True)
    assert added == 1  # it marks system twice and its last turn itself: one left, for the tools
    got = json.loads(marked)
    assert got["tools"][-1]["cache_control"] == E and "cache_control" not in got
    assert [b.get("cache_control") for b in got["system"]] == [b.get("cache_control") for b in raw["system"]]
    assert got["messages"] == raw["messages"]
    assert unmarked(marked) == sent


@pytest.mark.parametrize("automatic", [False, True])
def test_string_system_and_content_become_one_marked_text_block(automatic):
    raw = {"model": "m", "max_tokens": 5, "system": "be brief", "messages": [{"role": "user", "content": "hi"}]}
    sent = json.dumps(raw).encode()
    marked, added = caching.mark_body(sent, raw, automatic)
    got = json.loads(marked)
    assert got["system"] == [text("be brief", E)]
    if automatic:
        assert added == 2 and got["cache_control"] == E and got["messages"][0]["content"] == "hi"
    else:
        assert added == 2 and got["messages"][0]["content"] == [text("hi", E)]


def test_default_is_on_only_for_requests_with_a_prompt_cache_key():
    plain = MessagesRequest(model="m", max_tokens=1, messages=[])
    keyed = msgspec.structs.replace(plain, prompt_cache_key="session-1")
    assert not caching.wanted(None, plain) and caching.wanted(None, keyed)
    assert not caching.wanted("off", keyed) and caching.wanted("auto", plain)
    assert not caching.wanted(None, None)  # passthrough bodies: the client's own marks decide
