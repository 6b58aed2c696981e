"""Background mode on the Responses door, from the `openai` SDK: created at once as `queued`, run
in the gateway whatever its client does, polled to completion, resumed from a sequence number,
cancelled; errors before it exists are the create's answer, failures after it its `error`."""

from __future__ import annotations

import json
import math
import time

import httpx
import openai
import pytest

from tests.frontends.responses.support import read
from tests.policy.test_limits import make_key
from tests.support import anthropic_recordings as anthropic_rec
from tests.support.fixtures import exchange
from tests.support.responses_grammar import validate_responses_stream
from tests.support.upstream import Reply, Served

CLAUDE = "anthropic/claude-sonnet-4.5"
CHUNK = 37  # the fake upstream's chunk size for recorded streams


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


def held_stream(upstream) -> Served:
    """The recorded text stream, held by the upstream after its first text delta until released."""
    ex = exchange("anthropic", "text-stream")
    body = ex.response_bytes()
    first = body.index(b"\n\n", body.index(b"event: content_block_delta")) + 2
    reply = Reply.replay(ex)
    reply.hold_after = math.ceil(first / CHUNK) + 1
    return upstream.expect(reply)[0]


def until(client: openai.OpenAI, response_id: str, *statuses: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        response = client.responses.retrieve(response_id)
        if response.status in statuses:
            return response
        assert time.monotonic() < deadline, f"still {response.status}"
        time.sleep(0.05)


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.mark.recordings
def test_a_background_response_is_queued_at_once_and_polled_to_completion(oai, gateway, upstream):
    served = held_stream(upstream)
    raw = oai.responses.with_raw_response.create(model=CLAUDE, input="What is 4200 + 42?", background=True)
    created = raw.parse()
    assert created.status == "queued" and created.background is True and created.store is True
    assert created.output == [] and created.id.startswith("resp_")
    assert until(oai, created.id, "in_progress").output == []
    served.reply.release.set()
    done = until(oai, created.id, "completed")
    assert read(done).text == anthropic_rec.read(exchange("anthropic", "text-stream")).text
    assert done.background is True and done.usage is not None and done.usage.output_tokens > 0
    assert json.loads(upstream.received[0].body)["stream"] is True  # the run always streams
    row = gateway.ledger_row(raw.headers["request-id"])  # under the create's own id
    assert row["status"] == 200 and row["endpoint"] == "responses" and row["streamed"] == 1
    assert len(gateway.ledger_rows("request_id = ?", (raw.headers["request-id"],))) == 1
    items = list(oai.responses.input_items.list(created.id))
    assert [item.type for item in items] == ["message"]


@pytest.mark.recordings
def test_a_background_stream_outlives_its_client_and_resumes_after_a_sequence_number(gateway, api_key, upstream):
    served = held_stream(upstream)
    body = {"model": CLAUDE, "input": "What is 4200 + 42?", "background": True, "stream": True}
    head = b""
    with httpx.stream("POST", gateway.url + "/v1/responses", json=body, headers=_auth(api_key), timeout=30) as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_raw():
            head += chunk
            if head.count(b"\n\n") >= 3:
                break  # the client leaves after three events
    head = head[: head.index(b"\n\n", head.index(b"\n\n", head.index(b"\n\n") + 2) + 2) + 2]
    seen = [json.loads(line[6:]) for line in head.split(b"\n") if line.startswith(b"data: ")]
    response_id, last = seen[0]["response"]["id"], seen[-1]["sequence_number"]
    assert seen[0]["type"] == "response.created" and seen[0]["response"]["status"] == "queued"
    served.reply.release.set()  # the run goes on without its client
    query = f"?stream=true&starting_after={last}"
    rest = httpx.get(gateway.url + f"/v1/responses/{response_id}{query}", headers=_auth(api_key), timeout=30)
    events = validate_responses_stream(head + rest.content)  # one whole stream, in order, nothing twice
    assert events[-1]["type"] == "response.completed" and events[-1]["response"]["id"] == response_id
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    oai = openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)
    replayed = list(oai.responses.retrieve(response_id, stream=True, starting_after=2))  # from the SDK, once over
    assert [e.sequence_number for e in replayed] == list(range(3, len(events)))
    assert replayed[-1].type == "response.completed"


@pytest.mark.recordings
def test_cancel_drops_the_upstream_call_and_keeps_the_output_so_far(oai, gateway, upstream):
    served = held_stream(upstream)
    raw = oai.responses.with_raw_response.create(model=CLAUDE, input="What is 4200 + 42?", background=True)
    response_id = raw.parse().id
    until(oai, response_id, "in_progress")
    cancelled = oai.responses.cancel(response_id)
    assert cancelled.status == "cancelled" and cancelled.id == response_id
    assert [item.type for item in cancelled.output] == []  # its text item had not finished
    assert served.finished.wait(5) and served.peer_closed_at is not None  # the upstream call was dropped
    assert oai.responses.retrieve(response_id).status == "cancelled"
    assert oai.responses.cancel(response_id).status == "cancelled"  # twice is the same
    row = gateway.ledger_row(raw.headers["request-id"])
    assert row["status"] == 499 and row["error_type"] == "client_closed"


@pytest.mark.recordings
def test_only_a_background_response_of_ones_own_key_is_cancelled(oai, gateway, upstream):
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    plain = oai.responses.create(model=CLAUDE, input="Hi")
    with pytest.raises(openai.BadRequestError):
        oai.responses.cancel(plain.id)
    upstream.expect(Reply.replay(exchange("anthropic", "text-stream")))
    mine = oai.responses.create(model=CLAUDE, input="Hi", background=True)
    stranger = openai.OpenAI(base_url=gateway.url + "/v1", api_key=gateway.create_key("stranger"), max_retries=0)
    with pytest.raises(openai.NotFoundError):
        stranger.responses.cancel(mine.id)
    with pytest.raises(openai.NotFoundError):
        list(stranger.responses.retrieve(mine.id, stream=True))
    assert until(oai, mine.id, "completed").status == "completed"
    assert oai.responses.cancel(mine.id).status == "completed"  # finished: answered as it is


def test_background_without_store_is_openais_400(oai, upstream):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=CLAUDE, input="Hi", background=True, store=False)
    assert caught.value.param == "store" and "requires store=true" in caught.value.message
    assert not upstream.received


@pytest.mark.recordings
def test_an_error_before_the_response_exists_is_the_creates_own_answer(oai, gateway, upstream):
    bad = [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}]
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=CLAUDE, input=bad, background=True)  # type: ignore[arg-type]
    assert caught.value.param == "input[0].arguments"
    _, spent = make_key(gateway, budget_usd="0.000001", budget_period="day")
    broke = openai.OpenAI(base_url=gateway.url + "/v1", api_key=spent, max_retries=0)
    with pytest.raises(openai.APIStatusError) as refused:
        broke.responses.with_raw_response.create(model=CLAUDE, input="Hi", background=True)
    assert refused.value.status_code == 402
    request_id = refused.value.response.headers["request-id"]
    assert gateway.ledger_row(request_id)["status"] == 402
    assert len(gateway.ledger_rows("request_id = ?", (request_id,))) == 1
    assert not upstream.received


@pytest.mark.recordings
def test_an_upstream_failure_after_creation_fails_the_response_with_its_reason(oai, gateway, api_key, upstream):
    upstream.expect(Reply.replay(exchange("anthropic", "error-400-invalid-request")))
    created = oai.responses.create(model=CLAUDE, input="Hi", background=True)
    assert created.status == "queued"
    failed = until(oai, created.id, "failed")
    assert failed.error is not None and failed.error.message
    resumed = httpx.get(gateway.url + f"/v1/responses/{created.id}?stream=true", headers=_auth(api_key), timeout=30)
    events = [json.loads(line[6:]) for line in resumed.content.split(b"\n") if line.startswith(b"data: ")]
    assert [e["type"] for e in events] == ["response.failed"]
    assert events[0]["response"]["error"]["message"] == failed.error.message


@pytest.mark.recordings
def test_a_background_response_on_openai_runs_here_under_the_gateways_own_id(oai, upstream):
    """OpenAI is asked for a plain stream it need not keep; the events and the kept response
    carry the gateway's id, and a conversation continues from it as from any kept response."""
    upstream.expect(Reply.replay(exchange("openai-responses", "text-stream")))
    created = oai.responses.create(model="openai/gpt-4o", input="Hello", background=True)
    done = until(oai, created.id, "completed")
    sent = json.loads(upstream.received[0].body)
    assert "background" not in sent and sent["stream"] is True and sent["store"] is False
    assert done.id == created.id and done.output_text and done.background is True
    replayed = list(oai.responses.retrieve(created.id, stream=True))
    assert {e.response.id for e in replayed if hasattr(e, "response")} == {created.id}
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    oai.responses.create(model=CLAUDE, previous_response_id=created.id, input="Thanks")
    messages = json.loads(upstream.received[1].body)["messages"]
    assert messages[1] == {"role": "assistant", "content": [{"type": "text", "text": done.output_text}]}
