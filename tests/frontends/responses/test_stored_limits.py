"""The settings of stored responses, each on a gateway of its own: a response is gone once its time
to live has passed, a key's oldest responses go once its total passes the cap, and with the store
off nothing is kept and `previous_response_id` is a 400 on translated routes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import openai
import pytest

from tests.conftest import ADMIN_KEY, UPSTREAM_KEY
from tests.support.bedrock import AWS_ENV, BEDROCK_TOKEN
from tests.support.config import gateway_config
from tests.support.fixtures import exchange
from tests.support.gateway import GatewayProcess
from tests.support.upstream import FakeUpstream, Reply

CLAUDE = "anthropic/claude-sonnet-4.5"


def _gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory, stored: str) -> Iterator[GatewayProcess]:
    config = gateway_config(upstream.url) + f"stored_responses: {stored}\n"
    env = {
        "TEST_UPSTREAM_KEY": UPSTREAM_KEY,
        "TEST_ADMIN_KEY": ADMIN_KEY,
        "TEST_BEDROCK_TOKEN": BEDROCK_TOKEN,
        **AWS_ENV,
    }
    gw = GatewayProcess(config, tmp_path_factory.mktemp("stored"), env=env).start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def short_lived(upstream, tmp_path_factory) -> Iterator[GatewayProcess]:
    yield from _gateway(upstream, tmp_path_factory, "{ttl: 1.5}")


@pytest.fixture(scope="module")
def capped(upstream, tmp_path_factory) -> Iterator[GatewayProcess]:
    yield from _gateway(upstream, tmp_path_factory, "{max_bytes_per_key: 6000}")


@pytest.fixture(scope="module")
def keeps_nothing(upstream, tmp_path_factory) -> Iterator[GatewayProcess]:
    yield from _gateway(upstream, tmp_path_factory, "{enabled: false}")


def _client(gw: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.url + "/v1", api_key=gw.create_key("limits"), max_retries=0)


def _until_missing(client: openai.OpenAI, response_id: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.responses.retrieve(response_id)
        except openai.NotFoundError:
            return
        assert time.monotonic() < deadline, f"{response_id} is still kept"
        time.sleep(0.05)


@pytest.mark.recordings
def test_a_response_past_its_time_to_live_is_a_404(short_lived, upstream):
    client = _client(short_lived)
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    response = client.responses.create(model=CLAUDE, input="Hi")
    assert client.responses.retrieve(response.id).id == response.id
    time.sleep(1.6)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(response.id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=CLAUDE, previous_response_id=response.id, input="Hi")
    assert caught.value.code == "previous_response_not_found"
    assert len(upstream.received) == 1


@pytest.mark.recordings
def test_a_keys_oldest_responses_go_once_its_total_passes_the_cap(capped, upstream):
    client = _client(capped)
    ids = []
    for _ in range(4):  # each keeps about 2 KB: hex of random bytes compresses to half
        upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
        ids.append(client.responses.create(model=CLAUDE, input=os.urandom(1000).hex()).id)
    _until_missing(client, ids[0])
    assert client.responses.retrieve(ids[-1]).id == ids[-1]
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    alone = client.responses.create(model=CLAUDE, input=os.urandom(8000).hex())  # over the cap alone
    assert alone.status == "completed"  # answered all the same
    _until_missing(client, alone.id)
    assert client.responses.retrieve(ids[-1]).id == ids[-1]
    assert "larger than a key may keep" in capped.log_text()


@pytest.mark.recordings
def test_with_the_store_off_nothing_is_kept(keeps_nothing, upstream):
    client = _client(keeps_nothing)
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    raw = client.responses.with_raw_response.create(model=CLAUDE, input="Hi")
    assert raw.parse().store is False and "store" in raw.headers["x-aigateway-dropped"].split(", ")
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(raw.parse().id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=CLAUDE, previous_response_id=raw.parse().id, input="Hi")
    assert caught.value.param == "previous_response_id" and "does not keep responses" in caught.value.message
    assert len(upstream.received) == 1
