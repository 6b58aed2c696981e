"""Two gateway replicas on one PostgreSQL database share stored responses: a conversation begun on
one continues on the other, which reads, lists and deletes what the first kept."""

from __future__ import annotations

import json

import openai
import pytest

from tests.policy.test_scaleout import replicas  # noqa: F401 -- the fixture: two replicas on PostgreSQL
from tests.support.fixtures import exchange
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
