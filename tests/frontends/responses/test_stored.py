"""Stored responses on the Responses door, from the `openai` SDK: `previous_response_id` continues a
conversation on any model (the upstream gets the whole history, thinking signatures intact), the
kept responses are retrieved, listed and deleted by the key that made them only, and OpenAI's
own stored responses are continued at OpenAI."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import openai
import pytest

from tests.frontends.responses.support import final, read, stream
from tests.policy.test_limits import make_key
from tests.support import anthropic_recordings as anthropic_rec
from tests.support.fixtures import exchange
from tests.support.upstream import Reply

CLAUDE = "anthropic/claude-sonnet-4.5"
TOOLS = [{"type": "function", "name": "get_user_country", "parameters": {"type": "object"}, "strict": False}]


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


@pytest.fixture(scope="module")
def other_key(gateway) -> str:
    return gateway.create_key("another-team")


def _sent(upstream, n: int) -> dict:
    return json.loads(upstream.received[n].body)


def _openai(case: str, number: int = 1) -> Reply:
    """A recorded OpenAI answer under an id of its own: OpenAI never gives one id twice."""
    reply = Reply.replay(exchange("openai-responses", case, number))
    recorded = re.search(rb'"(resp_[0-9a-f]+)"', reply.body)
    assert recorded is not None
    reply.body = reply.body.replace(recorded.group(1), f"resp_{uuid.uuid4().hex}".encode())
    return reply


def _three_turns(oai, gateway, api_key, upstream):
    """Claude with thinking and a tool: a call, its output, then a follow-up question, each turn
    sending only what is new."""
    first, second = (exchange("anthropic", "thinking-tool-use-sync", n) for n in (1, 2))
    third = exchange("anthropic", "thinking-stream", 1)
    upstream.expect(Reply.replay(first), Reply.replay(second), Reply.replay(third))
    common = {"model": CLAUDE, "tools": TOOLS, "reasoning": {"effort": "low"}}
    r1 = oai.responses.create(input="What is the largest city in the user country?", **common)
    call = next(item for item in r1.output if item.type == "function_call")
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "Mexico"}
    r2 = oai.responses.create(previous_response_id=r1.id, input=[output], **common)
    body = {"previous_response_id": r2.id, "input": "And the second largest?", **common}
    r3 = final(stream(gateway.url, api_key, body)[0])
    return r1, r2, r3


@pytest.mark.recordings
def test_three_turns_on_claude_send_the_whole_history_with_signatures_intact(oai, gateway, api_key, upstream):
    r1, r2, r3 = _three_turns(oai, gateway, api_key, upstream)
    recorded = json.loads(exchange("anthropic", "thinking-tool-use-sync", 1).response_bytes())["content"]
    thinking, text, tool_use = recorded
    assert [r.store for r in (r1, r2, r3)] == [True, True, True]
    assert r3.previous_response_id == r2.id and r2.previous_response_id == r1.id
    assert read(r3).text == anthropic_rec.read(exchange("anthropic", "thinking-stream", 1)).text
    turn2, turn3 = _sent(upstream, 1)["messages"], _sent(upstream, 2)["messages"]
    question = {"role": "user", "content": [{"type": "text", "text": "What is the largest city in the user country?"}]}
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": thinking["thinking"], "signature": thinking["signature"]},
            {"type": "text", "text": text["text"]},
            {"type": "tool_use", "id": tool_use["id"], "name": "get_user_country", "input": {}},
        ],
    }
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "Mexico"}]}
    assert turn2 == [question, assistant, result]
    answer = read(r2).text
    follow_up = {"role": "user", "content": [{"type": "text", "text": "And the second largest?"}]}
    assert turn3 == [
        question,
        assistant,
        result,
        {"role": "assistant", "content": [{"type": "text", "text": answer}]},
        follow_up,
    ]
    assert all(_sent(upstream, n)["thinking"]["type"] == "enabled" for n in range(3))


@pytest.mark.recordings
def test_a_kept_response_is_retrieved_listed_and_deleted(oai, gateway, api_key, upstream):
    r1, r2, r3 = _three_turns(oai, gateway, api_key, upstream)
    assert oai.responses.retrieve(r2.id).model_dump() == r2.model_dump()
    assert oai.responses.retrieve(r3.id).output == r3.output
    shown = oai.responses.retrieve(r1.id, include=["reasoning.encrypted_content"])
    reasoning = next(item for item in shown.output if item.type == "reasoning")
    assert reasoning.encrypted_content and reasoning.encrypted_content.startswith("aigw1.")
    assert next(item for item in r1.output if item.type == "reasoning").encrypted_content is None
    items = list(oai.responses.input_items.list(r3.id, order="asc", limit=2))  # pages of two
    kinds = [item.type for item in items]
    assert kinds == ["message", "reasoning", "message", "function_call", "function_call_output", "message", "message"]
    assert [i.id for i in items] == [i.id for i in oai.responses.input_items.list(r3.id, limit=100)][::-1]
    assert all(i.id for i in items) and len({i.id for i in items}) == len(items)
    assert items[0].content[0].text == "What is the largest city in the user country?"  # type: ignore[union-attr]
    assert items[-1].content[0].text == "And the second largest?"  # type: ignore[union-attr]
    assert items[1].encrypted_content is None  # type: ignore[union-attr]
    page = oai.responses.input_items.with_raw_response.list(r3.id, limit=3).parse()
    assert page.has_more and len(page.data) == 3
    oai.responses.delete(r1.id)
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(r1.id)
    with pytest.raises(openai.NotFoundError):
        oai.responses.delete(r1.id)
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=CLAUDE, previous_response_id=r1.id, input="Hi")
    assert caught.value.code == "previous_response_not_found"
    assert oai.responses.retrieve(r3.id).id == r3.id  # the conversation after it keeps its history


@pytest.mark.recordings
def test_another_key_gets_404_as_for_an_id_that_never_was(oai, gateway, other_key, upstream):
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    mine = oai.responses.create(model=CLAUDE, input="Hi")
    theirs = openai.OpenAI(base_url=gateway.url + "/v1", api_key=other_key, max_retries=0)
    for response_id in (mine.id, "resp_" + "0" * 32):
        with pytest.raises(openai.NotFoundError) as caught:
            theirs.responses.retrieve(response_id)
        assert caught.value.body == {  # type: ignore[comparison-overlap]
            "message": f"Response with id '{response_id}' not found.",
            "type": "invalid_request_error",
            "param": None,
            "code": "not_found",
        }
        with pytest.raises(openai.NotFoundError):
            theirs.responses.input_items.list(response_id)
        with pytest.raises(openai.NotFoundError):
            theirs.responses.delete(response_id)
        with pytest.raises(openai.BadRequestError) as chained:
            theirs.responses.create(model=CLAUDE, previous_response_id=response_id, input="Hi")
        assert chained.value.code == "previous_response_not_found" and chained.value.param == "previous_response_id"
    assert len(upstream.received) == 1
    assert oai.responses.retrieve(mine.id).id == mine.id  # still there for its own key


@pytest.mark.recordings
def test_store_false_keeps_nothing(oai, upstream):
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    raw = oai.responses.with_raw_response.create(model=CLAUDE, input="Hi", store=False)
    assert raw.parse().store is False and "store" not in raw.headers.get("x-aigateway-dropped", "")
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(raw.parse().id)


def test_bad_input_items_queries_are_400s_naming_the_parameter(oai, upstream):
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    response = oai.responses.create(model=CLAUDE, input="Hi")
    for query, param in (({"limit": 0}, "limit"), ({"order": "up"}, "order"), ({"after": "msg_nope"}, "after")):
        with pytest.raises(openai.BadRequestError) as caught:
            oai.responses.input_items.list(response.id, **query)  # type: ignore[arg-type]
        assert caught.value.param == param


@pytest.mark.recordings
def test_openais_own_stored_response_is_continued_at_openai(oai, upstream):
    """OpenAI answered with store: true: its id goes back to OpenAI as it is, with only the new input."""
    first = _openai("reasoning-summary-sync")
    upstream.expect(first, _openai("text-sync"))
    r1 = oai.responses.create(model="openai/gpt-5", input="How many primes below 400 contain 79?")
    assert r1.id == json.loads(first.body)["id"]
    oai.responses.create(model="openai/gpt-5", previous_response_id=r1.id, input="And below 500?")
    sent = _sent(upstream, 1)
    assert sent == {"model": "gpt-5", "previous_response_id": r1.id, "input": "And below 500?"}
    assert oai.responses.retrieve(r1.id).output_text == r1.output_text  # kept by the gateway too


@pytest.mark.recordings
def test_a_streamed_openai_answer_is_kept_from_its_terminal_event(oai, upstream):
    upstream.expect(_openai("text-stream"))
    with oai.responses.stream(model="openai/gpt-4o", input="Hello") as s:
        response = s.get_final_response()
    kept = oai.responses.retrieve(response.id)
    assert kept.status == "completed" and kept.output_text == response.output_text != ""
    assert [i.type for i in oai.responses.input_items.list(response.id)] == ["message"]


@pytest.mark.recordings
def test_a_claude_conversation_continues_on_openai_with_its_history(oai, upstream):
    upstream.expect(Reply.replay(exchange("anthropic", "thinking-sync-multiturn", 1)))
    upstream.expect(_openai("text-sync"))
    r1 = oai.responses.create(model=CLAUDE, input="How do I cross the street?", reasoning={"effort": "low"})
    oai.responses.create(model="openai/gpt-4o", previous_response_id=r1.id, input="Thanks!")
    sent = _sent(upstream, 1)
    assert "previous_response_id" not in sent
    assert [(i.get("type"), i.get("role")) for i in sent["input"]] == [
        ("message", "user"),
        ("message", "assistant"),  # the reasoning item, sealed by the gateway, is not OpenAI's to read
        ("message", "user"),
    ]
    assert not any("id" in item for item in sent["input"][:2])
    assert sent["input"][1]["content"][0]["text"] == read(r1).text
    assert sent["input"][2]["content"][0]["text"] == "Thanks!"


@pytest.mark.recordings
def test_an_openai_conversation_continues_on_claude_with_its_history(oai, upstream):
    upstream.expect(_openai("text-sync"))
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    r1 = oai.responses.create(model="openai/gpt-4o", input="What is 4200 + 42?")
    raw = oai.responses.with_raw_response.create(model=CLAUDE, previous_response_id=r1.id, input="Sure?")
    assert raw.status_code == 200
    assert _sent(upstream, 1)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is 4200 + 42?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "4200 + 42 equals 4242."}]},
        {"role": "user", "content": [{"type": "text", "text": "Sure?"}]},
    ]


def test_a_continued_conversation_is_admitted_on_its_whole_history(gateway, upstream):
    """The budget reservation counts the history `previous_response_id` brings: a key whose budget
    holds a short request refuses the same request continuing a long conversation, before any
    upstream call, with one ledger row saying so."""
    _, secret = make_key(gateway, budget_usd="0.05", budget_period="day")
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=secret, max_retries=0)
    story = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "word " * 40000}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }  # fmt: skip
    upstream.expect(Reply(body=json.dumps(story).encode(), headers={"content-type": "application/json"}))
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    r1 = client.responses.create(model=CLAUDE, input="A long story, please.", max_output_tokens=16)
    with pytest.raises(openai.APIStatusError) as caught:
        client.responses.with_raw_response.create(
            model=CLAUDE, previous_response_id=r1.id, input="Hi", max_output_tokens=16
        )
    assert caught.value.status_code == 402 and caught.value.body["type"] == "insufficient_quota"  # type: ignore[index]
    row = gateway.ledger_row(caught.value.response.headers["request-id"])
    assert row["status"] == 402 and row["endpoint"] == "responses"
    assert client.responses.create(model=CLAUDE, input="Hi", max_output_tokens=16).status == "completed"
    assert len(upstream.received) == 2  # the first turn and the short request; never the refused one


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/responses/resp_%00", 404),
        ("GET", "/v1/responses/" + "r" * 500, 404),
        ("GET", "/v1/responses/resp_%C3%A9/input_items?limit=abc", 404),
        ("DELETE", "/v1/responses/resp_%00", 404),
        ("POST", "/v1/responses/resp_%00/cancel", 404),
        ("GET", "/v1/responses/resp_x?stream=true&starting_after=abc", 400),
        ("POST", "/v1/responses/resp_x", 404),
        ("PUT", "/v1/responses/resp_x/input_items", 404),
        ("GET", "/v1/responses//input_items", 404),
    ],
)
def test_odd_paths_and_queries_on_kept_responses_are_clear_4xx(method, path, status, gateway, api_key):
    resp = httpx.request(method, gateway.url + path, headers={"authorization": f"Bearer {api_key}"}, timeout=10)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["message"] and resp.json()["error"]["type"] == "invalid_request_error"


def test_a_kept_response_needs_a_key(gateway):
    resp = httpx.get(gateway.url + "/v1/responses/resp_x")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_api_key"
