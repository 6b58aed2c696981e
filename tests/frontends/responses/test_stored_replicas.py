"""Two gateway replicas on one PostgreSQL database share stored responses: a conversation begun on
one continues on the other, which reads, lists and deletes what the first kept; a background
response one runs, the other follows and cancels."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.frontends.responses.test_background import held_stream, until
from tests.policy.test_scaleout import replicas  # noqa: F401 -- the fixture: two replicas on PostgreSQL
from tests.support.fixtures import exchange
from tests.support.responses_grammar import validate_responses_stream
from tests.support.upstream import Reply

MODEL = "anthropic/claude-sonnet-4"


@pytest.mark.recordings
def test_a_response_kept_by_one_replica_is_continued_read_and_deleted_on_the_other(replicas, upstream):  # noqa: F811
    _, secret = replicas.make_key()
    a, b = (openai.OpenAI(base_url=gw.url + "/v1", api_key=secret, max_retries=0) for gw in replicas.both())
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")), Reply.replay(exchange("anthropic", "text-sync")))
    first = a.responses.create(model=MODEL, input="Hello")
    second = b.responses.create(model=MODEL, previous_response_id=first.id, input="And again")  # at once
    assert [m["role"] for m in json.loads(upstream.received[1].body)["messages"]] == ["user", "assistant", "user"]
    assert b.responses.retrieve(first.id).output_text == first.output_text
    items = list(a.responses.input_items.list(second.id, order="asc"))
    assert [item.type for item in items] == ["message", "message", "message"]
    b.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        a.responses.retrieve(first.id)
    _, stranger = replicas.make_key()
    with pytest.raises(openai.NotFoundError):
        openai.OpenAI(base_url=replicas.a.url + "/v1", api_key=stranger, max_retries=0).responses.retrieve(second.id)


@pytest.mark.recordings
def test_a_background_response_run_by_one_replica_is_followed_and_cancelled_on_the_other(replicas, upstream):  # noqa: F811
    _, secret = replicas.make_key()
    a, b = (openai.OpenAI(base_url=gw.url + "/v1", api_key=secret, max_retries=0) for gw in replicas.both())
    served = held_stream(upstream)
    followed = a.responses.create(model=MODEL, input="What is 4200 + 42?", background=True)
    until(b, followed.id, "in_progress")
    url, auth = replicas.b.url + f"/v1/responses/{followed.id}?stream=true", {"authorization": f"Bearer {secret}"}
    with httpx.stream("GET", url, headers=auth, timeout=30) as resp:
        served.reply.release.set()  # b follows a's run as it goes on
        events = validate_responses_stream(resp.read())
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["id"] == followed.id
    served = held_stream(upstream)
    doomed = a.responses.create(model=MODEL, input="What is 4200 + 42?", background=True)
    until(b, doomed.id, "in_progress")
    assert b.responses.cancel(doomed.id).status == "cancelled"
    assert served.finished.wait(5) and served.peer_closed_at is not None  # a dropped its upstream call
    assert a.responses.retrieve(doomed.id).status == "cancelled"
