"""Every request Codex CLI was seen sending (../shared/fixtures/requests/codex-*.json) reaches each
kind of upstream translated, checked field by field: Claude on Anthropic, on Bedrock and on Vertex,
Gemini on the Gemini API and on Vertex, Bedrock Converse and a Chat Completions server. The
upstream answers 500 (one attempt): what is checked is the request it received, and that the
gateway raised nothing before sending it. Vertex is served by a gateway of its own (conftest's
`vertex_gateway`), which seals reasoning with the same admin key."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from aigateway.frontends.responses.sealing import Sealer
from aigateway.ir.messages import ThinkingBlock
from tests.conftest import ADMIN_KEY
from tests.providers.vertex.test_client import PREFIX as VERTEX
from tests.support.fixtures import claude_code_request, exchange
from tests.support.responses_grammar import validate_responses_stream
from tests.support.upstream import Reply

CAPTURED = ["codex-first-turn", "codex-tool-output-turn", "codex-catalog-first-turn", "codex-custom-tool-output-turn"]
# gateway model -> (upstream model the reasoning is sealed for, where the upstream receives it)
KINDS = {
    "anthropic/claude-sonnet-4.5": ("claude-sonnet-4-5", "/v1/messages"),
    "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0": (
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "/bedrock/",
    ),
    "gemini/gemini-2.5-pro": ("gemini-2.5-pro", "/gemini/v1beta/models/gemini-2.5-pro:"),
    "bedrock/amazon.nova-pro-v1:0": ("amazon.nova-pro-v1:0", "/bedrock/"),
    "ollama/qwen3-coder": ("qwen3-coder", "/ollama/v1/chat/completions"),
    "vertex/claude-sonnet-4-5@20250929": (
        "claude-sonnet-4-5@20250929",
        f"{VERTEX}/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
    ),
    "vertex/gemini-2.5-pro": ("gemini-2.5-pro", f"{VERTEX}/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
}
CLAUDE = ["anthropic/claude-sonnet-4.5", "vertex/claude-sonnet-4-5@20250929"]
SIGNATURE = "sig-from-an-earlier-turn"


def _codex(name: str, model: str) -> dict[str, Any]:
    body = claude_code_request(name)["body"]
    sealer = Sealer(ADMIN_KEY.encode())  # the session gateway's admin key seals its reasoning
    for item in body["input"]:
        if item.get("type") == "reasoning":  # recorded against a fake server: sealed as this gateway would
            text = "".join(s["text"] for s in item["summary"])
            item["encrypted_content"] = sealer.seal(
                KINDS[model][0], [ThinkingBlock(thinking=text, signature=SIGNATURE)]
            )
    return {**body, "model": model}


@pytest.fixture
def door(request: pytest.FixtureRequest) -> tuple[Any, str]:
    """(gateway, key) serving the model the test is parametrized with: Vertex has a gateway of its own."""
    model = request.node.callspec.params["model"]
    if model.startswith("vertex/"):
        return request.getfixturevalue("vertex_gateway"), request.getfixturevalue("vertex_key")
    return request.getfixturevalue("gateway"), request.getfixturevalue("api_key")


def _send(
    gateway, api_key: str, upstream, body: dict[str, Any], reply: Reply | None = None
) -> tuple[httpx.Response, dict[str, Any]]:
    upstream.expect(
        reply
        or Reply(status=500, body=b'{"error": {"message": "scripted"}}', headers={"content-type": "application/json"})
    )
    resp = httpx.post(
        gateway.url + "/v1/responses", json=body, headers={"authorization": f"Bearer {api_key}"}, timeout=30
    )
    assert len(upstream.received) == 1, resp.text  # translated and sent: nothing refused it on the way
    assert upstream.received[0].path_qs.startswith(KINDS[body["model"]][1]), upstream.received[0].path_qs
    return resp, json.loads(upstream.received[0].body)


def _expected_tools(body: dict[str, Any]) -> list[str]:
    names = []
    for tool in body["tools"]:
        if tool["type"] in ("function", "custom"):
            names.append(tool["name"])
        elif tool["type"] == "namespace":
            names += [f"{tool['name']}__{t['name']}" for t in tool["tools"]]
    return names


def _calls(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["call_id"], i["name"]) for i in body["input"] if i.get("type") in ("function_call", "custom_tool_call")]


def _outputs(body: dict[str, Any]) -> list[tuple[str, str]]:
    kinds = ("function_call_output", "custom_tool_call_output")
    return [(i["call_id"], i["output"]) for i in body["input"] if i.get("type") in kinds]


def _check_breakpoints(resp: httpx.Response, sent: dict[str, Any], *, automatic: bool) -> None:
    """Codex's `prompt_cache_key` asks for prompt caching, so Claude gets the gateway's
    breakpoints (pipeline/caching.py): the end of the tools, of the system prompt, the last user
    turn (Anthropic's API: the top-level automatic one) and the user turn before it. Each is
    taken off `sent` as it is checked, so what is left is the body as it would be without them."""
    users = [n for n, m in enumerate(sent["messages"]) if m["role"] == "user"]
    want = [("tools", len(sent["tools"]) - 1), ("system", len(sent["system"]) - 1)]
    want += [("messages", n) for n in users[-2:-1] if n is not None]
    if automatic:
        assert sent.pop("cache_control") == {"type": "ephemeral"}
    else:
        want.append(("messages", users[-1]))
    for where, n in want:
        block = sent[where][n]["content"][-1] if where == "messages" else sent[where][n]
        assert block.pop("cache_control") == {"type": "ephemeral"}, (where, n)
    assert "cache_control" not in json.dumps(sent)  # nowhere else
    if resp.status_code == 200:  # an answer says how many the gateway added
        assert resp.headers["x-aigateway-cache-breakpoints"] == str(len(want) + automatic)


@pytest.mark.parametrize("model", CLAUDE)
@pytest.mark.parametrize("name", CAPTURED)
def test_claude_gets_every_field(name, model, door, upstream):
    body = _codex(name, model)
    resp, sent = _send(*door, upstream, body, Reply.replay(exchange("anthropic", "text-stream")))
    assert resp.status_code == 200
    validate_responses_stream(resp.content)
    if model.startswith("vertex/"):  # Vertex's own edits of Anthropic's body, nothing else
        assert "model" not in sent and sent.pop("anthropic_version") == "vertex-2023-10-16"
    else:
        assert sent.pop("model") == KINDS[model][0]
    assert sent.pop("stream") is True and sent.pop("max_tokens") == 16384
    _check_breakpoints(resp, sent, automatic=model.startswith("anthropic/"))
    assert sent.keys() <= {"system", "tools", "thinking", "messages", "metadata"}
    developer = [p["text"] for i in body["input"] if i.get("role") == "developer" for p in i["content"]]
    assert [b["text"] for b in sent["system"]] == developer
    searches = model.startswith("anthropic/")  # Claude's own search on Anthropic's API; not wired on Vertex
    assert [t["name"] for t in sent["tools"]] == [*_expected_tools(body), *(["web_search"] if searches else [])]
    if searches:
        assert sent["tools"][-1] == {"type": "web_search_20250305", "name": "web_search"}
    assert "tool_choice" not in sent  # auto, parallel calls allowed: Anthropic's default
    effort = body["reasoning"].get("effort")
    assert sent.get("thinking") == ({"type": "enabled", "budget_tokens": 8192} if effort == "medium" else None)
    turns = sent["messages"]
    assert [m["role"] for m in turns] == ["user", "assistant", "user"][: len(turns)]
    users = [p["text"] for i in body["input"] if i.get("role") == "user" for p in i["content"]]
    assert [b["text"] for b in turns[0]["content"]] == users
    if len(turns) > 1:
        thinking, call = turns[1]["content"]
        assert thinking["type"] == "thinking" and thinking["signature"] == SIGNATURE
        assert [(call["id"], call["name"])] == _calls(body)
        results = turns[2]["content"]
        assert [(r["tool_use_id"], r["content"]) for r in results] == _outputs(body)
    dropped = resp.headers.get("x-aigateway-dropped", "").split(", ")
    assert "client_metadata" in dropped and "prompt_cache_key" not in dropped
    assert "store" not in dropped  # Codex sends store: false
    assert ("tools[].web_search" in dropped) is not searches


def test_apply_patch_goes_up_as_one_string_and_comes_back_as_raw_text(gateway, api_key, upstream):
    body = _codex("codex-custom-tool-output-turn", "anthropic/claude-sonnet-4.5")
    _, sent = _send(gateway, api_key, upstream, body)
    patch = next(t for t in sent["tools"] if t["name"] == "apply_patch")
    assert patch["input_schema"]["required"] == ["input"]
    grammar = next(t for t in body["tools"] if t["name"] == "apply_patch")["format"]["definition"]
    assert grammar in patch["input_schema"]["properties"]["input"]["description"]
    call = next(i for i in body["input"] if i.get("type") == "custom_tool_call")
    use = next(b for b in sent["messages"][1]["content"] if b["type"] == "tool_use")
    assert use == {"type": "tool_use", "id": call["call_id"], "name": "apply_patch", "input": {"input": call["input"]}}


@pytest.mark.parametrize("model", [m for m in KINDS if m not in CLAUDE])
@pytest.mark.parametrize("name", CAPTURED)
def test_every_other_upstream_gets_the_conversation_and_tools(name, model, door, upstream):
    body = _codex(name, model)
    _, sent = _send(*door, upstream, body)
    text = json.dumps(sent)
    for tool in _expected_tools(body):
        assert f'"{tool}"' in text, tool
    for call_id, output in _outputs(body):
        assert json.dumps(output)[1:-1] in text
        if "gemini" not in model:  # Gemini matches results by name, not id
            assert call_id in text
    users = [p["text"] for i in body["input"] if i.get("role") == "user" for p in i["content"]]
    assert all(json.dumps(u)[1:-1] in text for u in users)
    assert "web_search" not in text and "encrypted_content" not in text


@pytest.mark.parametrize(
    ("direct", "vertex"),
    [
        ("anthropic/claude-sonnet-4.5", "vertex/claude-sonnet-4-5@20250929"),
        ("gemini/gemini-2.5-pro", "vertex/gemini-2.5-pro"),
    ],
)
@pytest.mark.parametrize("name", CAPTURED)
def test_vertex_gets_what_the_models_own_api_gets(
    name, direct, vertex, gateway, api_key, vertex_gateway, vertex_key, upstream
):
    """Field by field, the body Vertex receives is the one Anthropic's API (apart from Vertex's
    two edits and where it takes the last turn's breakpoint) or the Gemini API receives for the
    same Codex request."""
    answer, own = _send(gateway, api_key, upstream, _codex(name, direct))
    upstream.reset()
    vertex_answer, on_vertex = _send(vertex_gateway, vertex_key, upstream, _codex(name, vertex))
    if direct.startswith("anthropic/"):
        _check_breakpoints(answer, own, automatic=True)
        _check_breakpoints(vertex_answer, on_vertex, automatic=False)
        assert own.pop("model") == KINDS[direct][0]
        assert on_vertex.pop("anthropic_version") == "vertex-2023-10-16"
        # Codex's web_search is Claude's own search on Anthropic's API only (not wired on Vertex)
        own["tools"] = [t for t in own["tools"] if t.get("type") != "web_search_20250305"]
    assert on_vertex == own


def test_a_reasoning_item_not_sealed_by_this_gateway_is_a_400(gateway, api_key, upstream):
    body = {**claude_code_request("codex-tool-output-turn")["body"], "model": "anthropic/claude-sonnet-4.5"}
    resp = httpx.post(gateway.url + "/v1/responses", json=body, headers={"authorization": f"Bearer {api_key}"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "input[4].encrypted_content"
    assert not upstream.received


def test_a_changed_sealed_value_is_a_400(gateway, api_key, upstream):
    body = _codex("codex-tool-output-turn", "anthropic/claude-sonnet-4.5")
    item = body["input"][4]
    item["encrypted_content"] = item["encrypted_content"][:-3] + (
        "AAA" if not item["encrypted_content"].endswith("AAA") else "BBB"
    )
    resp = httpx.post(gateway.url + "/v1/responses", json=body, headers={"authorization": f"Bearer {api_key}"})
    assert resp.status_code == 400 and "does not open" in resp.json()["error"]["message"]
    assert not upstream.received


def test_reasoning_sealed_for_another_model_is_left_out(gateway, api_key, upstream):
    body = _codex("codex-tool-output-turn", "ollama/qwen3-coder")
    body["model"] = "anthropic/claude-sonnet-4.5"  # sealed for qwen3-coder, sent to Claude
    _, sent = _send(gateway, api_key, upstream, body)
    assert [b["type"] for b in sent["messages"][1]["content"]] == ["tool_use"]
