"""Prompt-cache breakpoints as they reach Anthropic, Bedrock and Vertex, from the official SDKs,
checked in the bodies the fake upstreams receive; and what caching saves, read from the ledger."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
import yaml

from tests.conftest import UPSTREAM_KEY
from tests.support.bedrock import AWS_ENV
from tests.support.config import ONE_CALL, UPSTREAM_KEY_REF
from tests.support.gateway import GatewayProcess
from tests.support.prompt_cache import PromptCache, capture, codex_chat
from tests.support.sdk import call_with_headers
from tests.support.upstream import Reply

E = {"type": "ephemeral"}
SONNET = "anthropic/claude-sonnet-4.5"
BEDROCK_CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
VERTEX_CLAUDE = "claude-sonnet-4-5@20250929"
AUTO = {"providerOptions": {"gateway": {"caching": "auto"}}}
OFF = {"providerOptions": {"gateway": {"caching": "off"}}}


@pytest.fixture(scope="module")
def cached(upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """Anthropic, Bedrock and OpenAI on the fake upstream; `caching: auto` by default for the key
    named `cached-key` and for Haiku."""
    url = upstream.url
    config = {
        "providers": {
            "anthropic": {"base_url": url, "api_key": UPSTREAM_KEY_REF},
            "bedrock": {"base_url": f"{url}/bedrock", "region": "us-east-1"},
            "openai": {"base_url": f"{url}/openai/v1", "api_key": UPSTREAM_KEY_REF},
        },
        "ledger": {"flush_interval": 0.05},
        "routing": {
            **ONE_CALL,
            "keys": {"cached-key": {"caching": "auto"}},
            "models": {"anthropic/claude-haiku-4.5": {"caching": "auto"}},
        },
    }
    gw = GatewayProcess(
        yaml.safe_dump(config), tmp_path_factory.mktemp("cached"), env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY, **AWS_ENV}
    )
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def keys(cached: GatewayProcess) -> dict[str, str]:
    return {name: cached.create_key(name) for name in ("plain-key", "cached-key")}


@pytest.fixture
def claude(cached, keys) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=cached.url, api_key=keys["plain-key"], max_retries=0)


@pytest.fixture
def chat(cached, keys) -> openai.OpenAI:
    return openai.OpenAI(base_url=cached.url + "/v1", api_key=keys["plain-key"], max_retries=0)


def marks(body: dict[str, Any]) -> dict[str, Any]:
    """Where an Anthropic body carries cache_control: tools, system, messages by (turn, block)."""
    system = body.get("system")
    blocks = system if isinstance(system, list) else []
    turns = [m["content"] if isinstance(m["content"], list) else [] for m in body["messages"]]
    return {
        "top": body.get("cache_control"),
        "tools": [i for i, t in enumerate(body.get("tools") or []) if "cache_control" in t],
        "system": [i for i, b in enumerate(blocks) if "cache_control" in b],
        "messages": [(n, j) for n, c in enumerate(turns) for j, b in enumerate(c) if "cache_control" in b],
    }


def claude_code(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = capture(name) | {"max_tokens": 4096}  # the SDK wants a stream above that; the fake answers JSON
    return body, marks(body)


def answer(cache: PromptCache | None = None) -> Reply:
    return Reply(answer=(cache or PromptCache()).anthropic)


@pytest.mark.parametrize("name", ["claude-code-sonnet-first-turn", "claude-code-unknown-model-tool-result-turn"])
@pytest.mark.parametrize(
    ("model", "path"),
    [(SONNET, "/v1/messages"), (f"bedrock/{BEDROCK_CLAUDE}", f"/bedrock/model/{BEDROCK_CLAUDE}/invoke")],
    ids=["anthropic", "bedrock-invoke"],
)
def test_claude_code_gets_one_breakpoint_on_its_tools_and_keeps_its_own(name, model, path, claude, upstream):
    body, client_marks = claude_code(name)
    upstream.expect(answer())
    _, headers = call_with_headers(claude, {**body, **AUTO}, model=model, beta=True)

    got = upstream.received[0]
    assert got.path_qs.split("?")[0] in (path, path.replace(":", "%3A"))
    sent = json.loads(got.body)
    assert marks(sent) == {**client_marks, "tools": [len(body["tools"]) - 1]}  # three were its own
    assert sent["messages"] == body["messages"] and sent["system"] == body["system"]
    assert headers["x-aigateway-cache-breakpoints"] == "1"


def test_claude_code_reaches_vertex_with_its_breakpoints_and_one_more(vertex_gateway, vertex_key, upstream):
    body, client_marks = claude_code("claude-code-unknown-model-tool-result-turn")
    client = anthropic.Anthropic(base_url=vertex_gateway.url, api_key=vertex_key, max_retries=0)
    upstream.expect(answer())
    _, headers = call_with_headers(client, {**body, **AUTO}, model=f"vertex/{VERTEX_CLAUDE}", beta=True)
    sent = json.loads(upstream.received[-1].body)
    assert upstream.received[-1].path_qs.endswith(f"/anthropic/models/{VERTEX_CLAUDE}:rawPredict")
    assert sent["anthropic_version"] == "vertex-2023-10-16" and "model" not in sent
    assert marks(sent) == {**client_marks, "tools": [len(body["tools"]) - 1]}
    assert headers["x-aigateway-cache-breakpoints"] == "1"


def unmarked_claude_code() -> dict[str, Any]:
    """Claude Code's request with its own breakpoints taken out: a client that sets none."""
    body = capture("claude-code-unknown-model-tool-result-turn") | {"max_tokens": 4096}
    for block in [
        *body["system"],
        *(b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]),
    ]:
        block.pop("cache_control", None)
    return body


@pytest.mark.parametrize(
    ("model", "top", "last_turn"),
    [(SONNET, E, []), (f"bedrock/{BEDROCK_CLAUDE}", None, [(3, 0)])],
    ids=["anthropic: top-level automatic", "bedrock: a block"],
)
def test_a_client_without_breakpoints_gets_four(model, top, last_turn, claude, upstream):
    body = unmarked_claude_code()
    upstream.expect(answer())
    _, headers = call_with_headers(claude, {**body, **AUTO}, model=model, beta=True)
    sent = json.loads(upstream.received[0].body)
    users = [n for n, m in enumerate(body["messages"]) if m["role"] == "user"]
    previous = (users[-2], len(body["messages"][users[-2]]["content"]) - 1)
    assert marks(sent) == {
        "top": top,
        "tools": [len(body["tools"]) - 1],
        "system": [len(body["system"]) - 1],
        "messages": sorted([previous, *last_turn]),
    }
    assert headers["x-aigateway-cache-breakpoints"] == "4"


def test_without_caching_the_body_passes_unchanged(claude, upstream):
    body = unmarked_claude_code()
    upstream.expect(answer(), answer())
    for extra in ({}, OFF):
        _, headers = call_with_headers(claude, {**body, **extra}, model=SONNET, beta=True)
        assert "x-aigateway-cache-breakpoints" not in headers
    assert all(marks(json.loads(r.body)) == marks(body) for r in upstream.received)


def test_config_defaults_turn_caching_on_per_key_and_per_model(cached, keys, upstream):
    body = unmarked_claude_code()
    upstream.expect(answer(), answer(), answer())
    by_key = anthropic.Anthropic(base_url=cached.url, api_key=keys["cached-key"], max_retries=0)
    plain = anthropic.Anthropic(base_url=cached.url, api_key=keys["plain-key"], max_retries=0)
    assert call_with_headers(by_key, body, model=SONNET, beta=True)[1]["x-aigateway-cache-breakpoints"] == "4"
    haiku = call_with_headers(plain, body, model="anthropic/claude-haiku-4.5", beta=True)[1]
    assert haiku["x-aigateway-cache-breakpoints"] == "4"
    overridden = call_with_headers(by_key, {**body, **OFF}, model=SONNET, beta=True)[1]
    assert "x-aigateway-cache-breakpoints" not in overridden


# --- translated: Codex's history through the Chat Completions door --------------------------------


def codex(turn: str = "codex-tool-output-turn") -> dict[str, Any]:
    return codex_chat(capture(turn))


def test_codex_history_with_prompt_cache_key_is_cached_on_claude_by_default(chat, upstream):
    body = codex()
    upstream.expect(answer())
    raw = chat.chat.completions.with_raw_response.create(**{**body, "model": SONNET})
    sent = json.loads(upstream.received[0].body)
    assert raw.headers["x-aigateway-cache-breakpoints"] == "4"
    assert "x-aigateway-dropped" not in raw.headers  # prompt_cache_key was understood, not dropped
    assert "prompt_cache_key" not in sent
    last_user = max(n for n, m in enumerate(sent["messages"]) if m["role"] == "user")
    previous_user = max(n for n, m in enumerate(sent["messages"][:last_user]) if m["role"] == "user")
    assert marks(sent) == {
        "top": E,  # Anthropic's automatic breakpoint stands for the last turn
        "tools": [len(sent["tools"]) - 1],
        "system": [len(sent["system"]) - 1],
        "messages": [(previous_user, len(sent["messages"][previous_user]["content"]) - 1)],
    }


def test_codex_history_without_prompt_cache_key_or_with_caching_off_is_not_marked(chat, upstream):
    body = codex()
    upstream.expect(answer(), answer())
    without_key = {k: v for k, v in body.items() if k != "prompt_cache_key"}
    for request in (without_key, {**body, "extra_body": OFF}):
        raw = chat.chat.completions.with_raw_response.create(**{**request, "model": SONNET})
        assert "x-aigateway-cache-breakpoints" not in raw.headers
    assert [marks(json.loads(r.body))["top"] for r in upstream.received] == [None, None]
    assert all(marks(json.loads(r.body))["messages"] == [] for r in upstream.received)


def test_codex_history_on_bedrock_converse_gets_cache_points(chat, upstream):
    cache = PromptCache()
    upstream.expect(Reply(answer=cache.converse))
    raw = chat.chat.completions.with_raw_response.create(**{**codex(), "model": f"bedrock/converse/{BEDROCK_CLAUDE}"})
    sent = json.loads(upstream.received[0].body)
    assert raw.headers["x-aigateway-cache-breakpoints"] == "4"
    assert sent["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    assert sent["system"][-1] == {"cachePoint": {"type": "default"}}
    points = [n for n, m in enumerate(sent["messages"]) for c in m["content"] if "cachePoint" in c]
    assert len(points) == 2 and points[-1] == len(sent["messages"]) - 1  # the last two user turns


def test_prompt_cache_key_passes_on_to_openai(chat, upstream):
    body = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}], "prompt_cache_key": "s-1"}
    reply = {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o"}
    reply["choices"] = [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]
    reply["usage"] = {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}
    upstream.expect(Reply(body=json.dumps(reply).encode(), headers={"content-type": "application/json"}))
    raw = chat.chat.completions.with_raw_response.create(**body)
    assert json.loads(upstream.received[0].body)["prompt_cache_key"] == "s-1"
    assert "x-aigateway-cache-breakpoints" not in raw.headers


# --- a session: turn N+1 reads what turn N wrote; the ledger's cost ------------------------------


def session(chat, upstream, cached, caching: str) -> list[dict[str, Any]]:
    """Codex's history replayed as a session growing one tool round trip a turn."""
    cache = PromptCache()
    first = codex("codex-first-turn")
    later = codex("codex-tool-output-turn")
    call = later["messages"][len(first["messages"]) :]
    turns = [first["messages"]]
    for n in range(1, 4):
        grown = [dict(m) for m in call]
        grown[0]["tool_calls"] = [{**grown[0]["tool_calls"][0], "id": f"call_{n}"}]
        grown[1]["tool_call_id"] = f"call_{n}"
        turns.append(turns[-1] + grown)
    options = {"providerOptions": {"gateway": {"caching": caching}}}
    rows = []
    for messages in turns:
        upstream.expect(Reply(answer=cache.anthropic))
        request = {**first, "model": SONNET, "messages": messages, "extra_body": options}
        raw = chat.chat.completions.with_raw_response.create(**request)
        rows.append(cached.ledger_row(raw.headers["request-id"]))
    return rows


def test_each_turn_reads_what_the_turn_before_wrote(chat, upstream, cached):
    rows = session(chat, upstream, cached, "auto")
    assert rows[0]["cache_write_tokens"] > 0 and rows[0]["cache_read_tokens"] == 0
    for before, row in itertools.pairwise(rows):
        written_so_far = before["cache_read_tokens"] + before["cache_write_tokens"]
        assert row["cache_read_tokens"] == written_so_far  # the whole previous prefix, read back
        assert 0 < row["cache_write_tokens"] < row["cache_read_tokens"]  # only the new turn is written


def test_caching_costs_less_over_a_session_as_the_ledger_shows(chat, upstream, cached):
    with_caching = session(chat, upstream, cached, "auto")
    without = session(chat, upstream, cached, "off")
    assert all(r["cache_read_tokens"] == r["cache_write_tokens"] == 0 for r in without)
    total = lambda rows: sum(r["input_tokens"] + r["cache_read_tokens"] + r["cache_write_tokens"] for r in rows)  # noqa: E731
    assert total(with_caching) == total(without)  # the same prompts...
    cost_on, cost_off = (sum(r["cost_nanousd"] for r in rows) for rows in (with_caching, without))
    assert cost_on < 0.75 * cost_off  # ...for much less, from the second turn on


# --- Codex on the Responses door ---------------------------------------------------------------


def codex_turns(chat, upstream, cached, extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Two turns of one Codex session as Codex sends them to the Responses door (unstreamed: the
    fake answers JSON; reasoning items left out: another gateway sealed them); their ledger rows."""
    cache, rows = PromptCache(), []
    for turn in ("codex-first-turn", "codex-tool-output-turn"):
        body = capture(turn)
        body |= {"input": [i for i in body["input"] if i.get("type") != "reasoning"], "stream": False}
        upstream.expect(Reply(answer=cache.anthropic))
        resp = httpx.post(
            f"{cached.url}/v1/responses",
            json={**body, "model": SONNET, **extra},
            headers={"authorization": f"Bearer {chat.api_key}"},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        assert ("x-aigateway-cache-breakpoints" in resp.headers) is (extra != OFF)
        rows.append(cached.ledger_row(resp.headers["request-id"]))
    return rows


def test_codex_on_the_responses_door_is_cached_by_default_and_reads_back_its_last_turn(chat, upstream, cached):
    """Codex sends `prompt_cache_key` once per session: through the Responses door to Claude its
    history is cached unless `caching: "off"`, and the second turn reads back all the first wrote."""
    first, second = codex_turns(chat, upstream, cached, {})
    assert first["cache_write_tokens"] > 0 and first["cache_read_tokens"] == 0
    assert second["cache_read_tokens"] == first["cache_write_tokens"]
    assert 0 < second["cache_write_tokens"] < second["cache_read_tokens"]
    off = codex_turns(chat, upstream, cached, OFF)
    assert all(r["cache_read_tokens"] == r["cache_write_tokens"] == 0 for r in off)
    assert second["cost_nanousd"] < 0.5 * off[1]["cost_nanousd"]
