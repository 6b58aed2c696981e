"""The response cache end to end, from the official SDKs: hits and misses for JSON and streams,
the ledger row of a hit, expiry, one scope per key unless shared, and nothing stored from an
upstream error or a cut stream. The fake upstream's `received` proves which calls went out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
import redis
import yaml

from tests.conftest import UPSTREAM_KEY
from tests.policy.conftest import REDIS, drop_prefix
from tests.support.anthropic_sse import message_stream
from tests.support.config import ONE_CALL, UPSTREAM_KEY_REF
from tests.support.gateway import GatewayProcess
from tests.support.prompt_cache import PromptCache
from tests.support.upstream import Reply

SONNET = "anthropic/claude-sonnet-4.5"
SSE = {"content-type": "text/event-stream"}


def start(tmp_path_factory: pytest.TempPathFactory, name: str, **extra: Any) -> GatewayProcess:
    config = {
        "providers": {"anthropic": {"base_url": extra.pop("url"), "api_key": UPSTREAM_KEY_REF}},
        "ledger": {"flush_interval": 0.05},
        "routing": {**ONE_CALL, "keys": {"cached": {"responseCache": {"ttl": 60}}}},
        **extra,
    }
    gw = GatewayProcess(yaml.safe_dump(config), tmp_path_factory.mktemp(name), env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY})
    return gw.start()


@pytest.fixture(scope="module")
def gw(upstream, tmp_path_factory) -> Iterator[GatewayProcess]:
    """The in-process store; the key named `cached` has a 60 s response cache by config."""
    process = start(tmp_path_factory, "response-cache", url=upstream.url)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def keys(gw) -> dict[str, str]:
    return {name: gw.create_key(name) for name in ("cached", "plain-a", "plain-b")}


def claude(gw: GatewayProcess, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=key, max_retries=0)


def fresh(**extra: Any) -> dict[str, Any]:
    """A request no other test sends (its answer cannot be in the cache yet)."""
    return {"max_tokens": 64, "messages": [{"role": "user", "content": f"hello {uuid.uuid4().hex}"}], **extra}


def ttl(seconds: float) -> dict[str, Any]:
    return {"extra_body": {"providerOptions": {"gateway": {"responseCache": {"ttl": seconds}}}}}


def create(client: anthropic.Anthropic, body: dict[str, Any]) -> Any:
    return client.messages.with_raw_response.create(model=SONNET, **body)


def json_answer() -> Reply:
    return Reply(answer=PromptCache().anthropic)


def stream_answer(text: str = "cached words", *, cut: bool = False) -> Reply:
    body = message_stream([{"type": "text", "text": text}], "end_turn")
    if cut:
        body = body[: body.index(b"event: content_block_stop")]
    return Reply(body=body, headers=SSE, chunk_size=37)


def test_a_json_answer_is_sent_from_the_cache_the_second_time(gw, keys, upstream):
    client, body = claude(gw, keys["cached"]), fresh()
    upstream.expect(json_answer())
    first, second = create(client, body), create(client, body)
    assert (first.headers["x-aigateway-cache"], second.headers["x-aigateway-cache"]) == ("miss", "hit")
    assert second.http_response.content == first.http_response.content  # JSON as stored
    assert second.parse().content[0].text == "ok"
    assert len(upstream.received) == 1


def test_a_hit_leaves_a_ledger_row_marked_as_a_hit_at_no_cost(gw, keys, upstream):
    client, body = claude(gw, keys["cached"]), fresh()
    upstream.expect(json_answer())
    miss = gw.ledger_row(create(client, body).headers["request-id"])
    hit = gw.ledger_row(create(client, body).headers["request-id"])
    assert (miss["cache_hit"], miss["attempts"]) == (0, 1) and miss["cost_nanousd"] > 0
    assert (hit["cache_hit"], hit["attempts"], hit["cost_nanousd"], hit["status"]) == (1, 0, 0, 200)
    assert (hit["model"], hit["input_tokens"], hit["stop_reason"]) == (SONNET, 0, "end_turn")
    assert len(upstream.received) == 1


def raw_stream(gw: GatewayProcess, key: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return httpx.post(f"{gw.url}/v1/messages", json={"model": SONNET, "stream": True, **body}, headers=headers)


def test_a_stream_is_replayed_as_the_same_events(gw, keys, upstream):
    body = fresh()
    upstream.expect(stream_answer())
    first, second = raw_stream(gw, keys["cached"], body), raw_stream(gw, keys["cached"], body)
    assert (first.headers["x-aigateway-cache"], second.headers["x-aigateway-cache"]) == ("miss", "hit")
    assert second.content == first.content and second.headers["content-type"].startswith("text/event-stream")
    with claude(gw, keys["cached"]).messages.stream(model=SONNET, **body) as s:  # the SDK reads the replay
        assert s.get_final_message().content[0].text == "cached words"
    assert len(upstream.received) == 1
    assert gw.ledger_row(second.headers["request-id"])["streamed"] == 1


def test_a_stream_and_a_json_answer_to_the_same_request_are_kept_apart(gw, keys, upstream):
    client, body = claude(gw, keys["cached"]), fresh()
    upstream.expect(json_answer(), stream_answer())
    assert create(client, body).headers["x-aigateway-cache"] == "miss"
    assert raw_stream(gw, keys["cached"], body).headers["x-aigateway-cache"] == "miss"
    assert len(upstream.received) == 2


def test_metadata_does_not_change_the_key_but_max_tokens_does(gw, keys, upstream):
    client, body = claude(gw, keys["cached"]), fresh()
    upstream.expect(json_answer(), json_answer())
    create(client, body)
    again = create(client, {**body, "metadata": {"user_id": "someone-else"}})
    other = create(client, {**body, "max_tokens": 65})
    assert (again.headers["x-aigateway-cache"], other.headers["x-aigateway-cache"]) == ("hit", "miss")
    assert len(upstream.received) == 2


def test_an_answer_expires_after_its_ttl(gw, keys, upstream):
    client, body = claude(gw, keys["plain-a"]), fresh(**ttl(0.5))
    upstream.expect(json_answer(), json_answer())
    assert create(client, body).headers["x-aigateway-cache"] == "miss"
    assert create(client, body).headers["x-aigateway-cache"] == "hit"
    time.sleep(0.7)
    assert create(client, body).headers["x-aigateway-cache"] == "miss"
    assert len(upstream.received) == 2


def test_without_the_option_there_is_no_cache_and_no_header(gw, keys, upstream):
    client, body = claude(gw, keys["plain-a"]), fresh()
    upstream.expect(json_answer(), json_answer())
    assert "x-aigateway-cache" not in create(client, body).headers
    assert "x-aigateway-cache" not in create(client, body).headers
    assert len(upstream.received) == 2


def test_another_key_never_reads_what_a_key_stored(gw, keys, upstream):
    body = fresh(**ttl(60))
    upstream.expect(json_answer(), json_answer())
    assert create(claude(gw, keys["plain-a"]), body).headers["x-aigateway-cache"] == "miss"
    assert create(claude(gw, keys["plain-b"]), body).headers["x-aigateway-cache"] == "miss"
    assert create(claude(gw, keys["plain-b"]), body).headers["x-aigateway-cache"] == "hit"
    assert len(upstream.received) == 2


def test_an_upstream_error_is_never_stored(gw, keys, upstream):
    client, body = claude(gw, keys["cached"]), fresh()
    error = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
    upstream.expect(Reply(status=500, body=json.dumps(error).encode(), headers={"content-type": "application/json"}))
    upstream.expect(json_answer())
    with pytest.raises(anthropic.InternalServerError):
        create(client, body)
    assert create(client, body).headers["x-aigateway-cache"] == "miss"
    assert len(upstream.received) == 2


def test_a_cut_stream_is_never_stored(gw, keys, upstream):
    body = fresh()
    upstream.expect(stream_answer(cut=True), stream_answer())
    cut = raw_stream(gw, keys["cached"], body)
    assert b"event: error" in cut.content
    whole = raw_stream(gw, keys["cached"], body)
    assert whole.headers["x-aigateway-cache"] == "miss" and b"event: error" not in whole.content
    assert len(upstream.received) == 2


def test_the_chat_completions_door_goes_through_the_same_cache(gw, keys, upstream):
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=keys["cached"], max_retries=0)
    messages = [{"role": "user", "content": f"hello {uuid.uuid4().hex}"}]
    upstream.expect(json_answer())
    first = client.chat.completions.with_raw_response.create(model=SONNET, messages=messages, max_tokens=64)
    second = client.chat.completions.with_raw_response.create(model=SONNET, messages=messages, max_tokens=64)
    assert (first.headers["x-aigateway-cache"], second.headers["x-aigateway-cache"]) == ("miss", "hit")
    assert second.parse().choices[0].message.content == "ok"
    assert len(upstream.received) == 1


@pytest.fixture(scope="module")
def shared(upstream, tmp_path_factory) -> Iterator[tuple[GatewayProcess, str]]:
    """Redis as the store (a prefix of its own), entries shared by every key."""
    prefix = f"aigw-test-{uuid.uuid4().hex[:12]}:"
    process = start(
        tmp_path_factory,
        "response-cache-shared",
        url=upstream.url,
        redis_url=REDIS,
        redis_prefix=prefix,
        response_cache={"shared": True},
    )
    yield process, prefix
    process.stop()
    asyncio.run(drop_prefix(prefix))


def test_a_shared_cache_in_redis_answers_every_key(shared, upstream):
    process, prefix = shared
    a, b = process.create_key("a"), process.create_key("b")
    body = fresh(**ttl(60))
    upstream.expect(json_answer())
    first = create(claude(process, a), body)
    second = create(claude(process, b), body)
    assert (first.headers["x-aigateway-cache"], second.headers["x-aigateway-cache"]) == ("miss", "hit")
    assert second.http_response.content == first.http_response.content
    assert len(upstream.received) == 1

    client = redis.Redis.from_url(REDIS)
    try:
        assert len(list(client.scan_iter(match=prefix + "rc:*"))) == 1
    finally:
        client.close()


def test_a_shared_cache_keeps_responses_door_answers_to_their_key(shared, upstream):
    """A Responses answer carries a response id readable only by the key that made it: another
    key gets an answer of its own, with an id it can read."""
    process, _ = shared
    a, b = process.create_key("resp-a"), process.create_key("resp-b")
    body = {
        "model": SONNET,
        "input": f"hello {uuid.uuid4().hex}",
        "max_output_tokens": 64,
        "providerOptions": {"gateway": {"responseCache": {"ttl": 60}}},
    }
    upstream.expect(json_answer(), json_answer())
    first = httpx.post(f"{process.url}/v1/responses", json=body, headers={"authorization": f"Bearer {a}"})
    again = httpx.post(f"{process.url}/v1/responses", json=body, headers={"authorization": f"Bearer {a}"})
    other = httpx.post(f"{process.url}/v1/responses", json=body, headers={"authorization": f"Bearer {b}"})
    assert [r.headers["x-aigateway-cache"] for r in (first, again, other)] == ["miss", "hit", "miss"]
    assert len(upstream.received) == 2
    mine = other.json()["id"]
    assert mine != first.json()["id"]
    read = httpx.get(f"{process.url}/v1/responses/{mine}", headers={"authorization": f"Bearer {b}"})
    assert read.status_code == 200 and read.json()["id"] == mine
