"""The Responses `web_search` tool: Claude runs its own web search, and the search comes back as a
`web_search_call` item and `url_citation` annotations, through `responses.create` and
`responses.stream` of the official `openai` SDK; a later turn resending those items gives Claude
its search back; an upstream without a search of its own drops the tool and says so.

The recordings hold no web search: the fake Anthropic upstream answers with a Message and a
stream built from the anthropic SDK's own types (tests/support/anthropic_web_search.py), so the
wire shapes are the SDK's."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.frontends.responses.support import stream
from tests.support import anthropic_web_search as ws
from tests.support import openai_recordings as openai_rec
from tests.support.upstream import Reply

CLAUDE = "anthropic/claude-sonnet-4.5"
CODEX_TOOL = {"type": "web_search", "external_web_access": True}  # what Codex CLI sends every turn
TOOL = {
    "type": "web_search",
    "filters": {"allowed_domains": ["python.org"]},
    "user_location": {"type": "approximate", "country": "US", "city": "Boston"},
    "search_context_size": "high",
}
INCLUDE = ["reasoning.encrypted_content", "web_search_call.action.sources"]
SSE = {"content-type": "text/event-stream"}
JSON = {"content-type": "application/json"}


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


def _reply(answer: ws.Answer, streamed: bool) -> Reply:
    if streamed:
        return Reply(body=answer.stream, headers=SSE, chunk_size=41)
    return Reply(body=json.dumps(answer.message).encode(), headers=JSON)


def _check_output(output: list[dict[str, Any]], answer: ws.Answer, included: bool = True) -> None:
    """A web_search_call (its query, and its sources when included), the search sealed in a
    reasoning item after it (when included), and the text as one message around it, each cited
    block's span annotated with its page."""
    sealed = ["reasoning"] if included else []
    assert [item["type"] for item in output] == ["message", "web_search_call", *sealed, "message"]
    call = output[1]
    assert call["id"].startswith("ws_") and call["status"] == "completed"
    sources = [{"type": "url", "url": url} for url, _ in ws.PAGES]
    assert call["action"] == {"type": "search", "query": ws.QUERY, **({"sources": sources} if included else {})}
    if included:
        assert output[2]["summary"] == [] and output[2]["encrypted_content"].startswith("aigw1.")
    first, last = output[0]["content"][0], output[-1]["content"][0]
    assert first["text"] + last["text"] == answer.text and first["annotations"] == []
    spans = [(last["text"][a["start_index"] : a["end_index"]], a["url"], a["title"]) for a in last["annotations"]]
    assert spans == [(text, ws.PAGES[page][0], ws.PAGES[page][1]) for text, page in ws.CITED if page is not None]
    assert all(a["type"] == "url_citation" for a in last["annotations"])


def _check_upstream(upstream) -> dict[str, Any]:
    sent = json.loads(upstream.received[-1].body)
    assert sent["tools"] == [
        {
            "type": "web_search_20250305",
            "name": "web_search",
            "allowed_domains": ["python.org"],
            "user_location": {"type": "approximate", "city": "Boston", "country": "US"},
        }
    ]
    return sent


@pytest.mark.parametrize("streamed", [False, True], ids=["json-upstream", "sse-upstream"])
def test_create_on_claude_runs_claudes_web_search(streamed, oai, gateway, upstream):
    answer = ws.answer()
    upstream.expect(_reply(answer, streamed))
    raw = oai.responses.with_raw_response.create(
        model=CLAUDE, input="When was Python 3.13 released?", tools=[TOOL], include=INCLUDE, store=False
    )
    response = raw.parse()
    _check_output(response.model_dump(exclude_none=True)["output"], answer)
    assert response.output_text == answer.text
    _check_upstream(upstream)
    assert raw.headers["x-aigateway-dropped"].split(", ") == ["tools[].web_search.search_context_size"]
    row = gateway.ledger_row(raw.headers["request-id"])
    assert row["web_search_requests"] == 1 and row["endpoint"] == "responses"


def test_the_stream_shows_the_search_as_it_runs_and_validates(gateway, api_key, upstream):
    answer = ws.answer(thinking="I should search.")
    upstream.expect(_reply(answer, True))
    body = {"model": CLAUDE, "input": "When was Python 3.13 released?", "tools": [TOOL], "include": INCLUDE}
    events, resp = stream(gateway.url, api_key, {**body, "reasoning": {"summary": "auto"}})
    kinds = [e["type"] for e in events]
    search = [k for k in kinds if k.startswith("response.web_search_call.")]
    assert search == [f"response.web_search_call.{s}" for s in ("in_progress", "searching", "completed")]
    assert kinds.count("response.output_text.annotation.added") == 2
    output = events[-1]["response"]["output"]
    assert output[0]["type"] == "reasoning" and output[0]["summary"][0]["text"] == "I should search."
    _check_output(output[1:], answer)
    assert gateway.ledger_row(resp.headers["request-id"])["web_search_requests"] == 1


def test_responses_stream_of_the_sdk_reads_the_search_and_its_citations(oai, upstream):
    answer = ws.answer()
    upstream.expect(_reply(answer, True))
    with oai.responses.stream(model=CLAUDE, input="When was Python 3.13 released?", tools=[TOOL], include=INCLUDE) as s:
        kinds = [event.type for event in s]
        response = s.get_final_response()
    assert "response.web_search_call.completed" in kinds and "response.output_text.annotation.added" in kinds
    _check_output(response.model_dump(exclude_none=True)["output"], answer)
    assert response.output_text == answer.text


def test_a_failed_search_is_a_failed_web_search_call(gateway, api_key, upstream):
    upstream.expect(_reply(ws.answer(error="max_uses_exceeded"), True))
    body = {"model": CLAUDE, "input": "When was Python 3.13 released?", "tools": [CODEX_TOOL]}
    events, _ = stream(gateway.url, api_key, body)
    kinds = [e["type"] for e in events]
    assert "response.web_search_call.completed" not in kinds
    call = next(i for i in events[-1]["response"]["output"] if i["type"] == "web_search_call")
    assert call["status"] == "failed" and call["action"] == {"type": "search", "query": ws.QUERY}
    assert not any(
        p["annotations"] for i in events[-1]["response"]["output"] if i["type"] == "message" for p in i["content"]
    )


@pytest.mark.parametrize("streamed", [False, True], ids=["create", "stream"])
def test_a_search_whose_results_never_came_is_incomplete(streamed, oai, gateway, api_key, upstream):
    """Anthropic paused the turn (pause_turn) after the call, before its results."""
    answer = ws.answer()
    cut = answer.stream[: answer.stream.index(b'"type": "web_search_tool_result"')]
    cut = cut[: cut.rindex(b"event: content_block_start")]
    cut += b'event: message_delta\ndata: {"type": "message_delta", "delta": {"stop_reason": "pause_turn"}, '
    cut += b'"usage": {"output_tokens": 30}}\n\nevent: message_stop\ndata: {"type": "message_stop"}\n\n'
    whole = {**answer.message, "content": answer.message["content"][:2], "stop_reason": "pause_turn"}
    upstream.expect(Reply(body=cut, headers=SSE) if streamed else Reply(body=json.dumps(whole).encode(), headers=JSON))
    body = {"model": CLAUDE, "input": "When was Python 3.13 released?", "tools": [CODEX_TOOL], "include": INCLUDE}
    if streamed:
        events, _ = stream(gateway.url, api_key, body)
        assert "response.web_search_call.completed" not in [e["type"] for e in events]
        response = events[-1]["response"]
    else:
        response = oai.responses.create(**body).model_dump(exclude_none=True)
    assert [i["type"] for i in response["output"]] == ["message", "web_search_call"]
    assert response["output"][1]["status"] == "incomplete" and response["status"] == "completed"


@pytest.mark.parametrize("client", ["sdk", "codex"])
def test_the_next_turn_gives_claude_its_search_back(client, oai, upstream):
    """The SDK's output items sent back as they are, or as Codex resends them (a web_search_call
    without its id, only its action): Claude gets its call and encrypted results where they were."""
    answer = ws.answer()
    upstream.expect(_reply(answer, False), _reply(ws.answer(), False))
    first = oai.responses.create(
        model=CLAUDE, input="When was Python 3.13 released?", tools=[CODEX_TOOL], include=INCLUDE
    )
    history: list[Any] = [{"role": "user", "content": "When was Python 3.13 released?"}]
    history += [item.model_dump(exclude_none=True) for item in first.output]
    if client == "codex":
        history[2] = {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": ws.QUERY}}
    history.append({"role": "user", "content": "And 3.14?"})
    raw = oai.responses.with_raw_response.create(model=CLAUDE, input=history, tools=[CODEX_TOOL], include=INCLUDE)
    assert raw.parse().output_text == answer.text
    assert "input[].web_search_call" not in raw.headers.get("x-aigateway-dropped", "")
    turns = json.loads(upstream.received[-1].body)["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    blocks = turns[1]["content"]
    assert blocks[1:3] == answer.message["content"][1:3]  # the call and its results, byte for byte
    assert [b["type"] for b in blocks] == ["text", "server_tool_use", "web_search_tool_result", "text"]
    assert blocks[0]["text"] + blocks[3]["text"] == answer.text


def test_without_encrypted_content_a_resent_search_is_named_dropped(oai, upstream):
    answer = ws.answer()
    upstream.expect(_reply(answer, False), _reply(answer, False))
    first = oai.responses.create(model=CLAUDE, input="When was Python 3.13 released?", tools=[TOOL])
    _check_output(first.model_dump(exclude_none=True)["output"], answer, included=False)
    history = [item.model_dump(exclude_none=True) for item in first.output] + [{"role": "user", "content": "And 3.14?"}]
    raw = oai.responses.with_raw_response.create(model=CLAUDE, input=history, tools=[TOOL])
    assert "input[].web_search_call" in raw.headers["x-aigateway-dropped"].split(", ")
    turns = json.loads(upstream.received[-1].body)["messages"]
    assert [b["type"] for b in turns[0]["content"]] == ["text", "text"]


def test_a_forced_search_and_an_offline_search(oai, upstream):
    """tool_choice web_search_preview forces Claude's search; external_web_access false asks for
    cached results only, which a live search cannot honour: the tool is dropped and named."""
    upstream.expect(_reply(ws.answer(), False), _reply(ws.answer(), False))
    oai.responses.create(
        model=CLAUDE,
        input="Search.",
        tools=[{"type": "web_search_preview"}],
        tool_choice={"type": "web_search_preview"},
    )
    sent = json.loads(upstream.received[-1].body)
    assert sent["tool_choice"] == {"type": "tool", "name": "web_search"}
    assert sent["tools"] == [{"type": "web_search_20250305", "name": "web_search"}]
    offline = {"type": "web_search", "external_web_access": False}
    raw = oai.responses.with_raw_response.create(model=CLAUDE, input="Search.", tools=[offline])  # type: ignore[list-item]
    assert "tools[].web_search" in raw.headers["x-aigateway-dropped"].split(", ")
    assert "tools" not in json.loads(upstream.received[-1].body)


def test_a_chat_completions_upstream_drops_the_search_and_names_it(oai, upstream):
    """No search of its own: the tool, a forced choice of it and a resent web_search_call are
    left out and named, and the rest of the request goes on."""
    rec = openai_rec.recording("openai-chat/text-stream#1")
    upstream.expect(Reply(body=rec.body, headers=SSE, chunk_size=31))
    codex_call = {"type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "q"}}
    history = [{"role": "user", "content": "Hi"}, codex_call, {"role": "user", "content": "Hello"}]
    function = {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False}
    raw = oai.responses.with_raw_response.create(
        model="ollama/qwen3",
        input=history,  # type: ignore[arg-type]
        tools=[CODEX_TOOL, function],  # type: ignore[list-item]
        tool_choice={"type": "web_search_preview"},
    )
    assert raw.parse().output_text == openai_rec.expected(rec).text
    dropped = raw.headers["x-aigateway-dropped"].split(", ")
    assert {"tools[].web_search", "tool_choice", "input[].web_search_call"} <= set(dropped)
    sent = json.loads(upstream.received[-1].body)
    assert [t["function"]["name"] for t in sent["tools"]] == ["f"] and "web_search" not in json.dumps(sent)


def test_a_malformed_search_tool_is_a_400_naming_the_field(gateway, api_key, upstream):
    body = {"model": CLAUDE, "input": "Hi", "tools": [{"type": "web_search", "filters": {"allowed_domains": "x"}}]}
    resp = httpx.post(gateway.url + "/v1/responses", json=body, headers={"authorization": f"Bearer {api_key}"})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "tools[0].filters.allowed_domains"
    assert not upstream.received
