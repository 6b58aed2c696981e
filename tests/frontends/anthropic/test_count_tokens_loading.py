"""The gateway's first count for a model family waits for its tokenizer; no other request does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from aigateway.app import App, start_gateway
from aigateway.config import load_settings
from aigateway.policy.keys import create_key
from aigateway.tokens import count_request_tokens
from tests.support.held_tokenizer import HeldBuild
from tests.support.upstream import FakeUpstream, Reply

MESSAGE = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "hi"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}
COUNTED = {"messages": [{"role": "user", "content": "How many tokens is this?"}]}


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldBuild]:
    build = HeldBuild(monkeypatch)
    yield build
    build.release.set()


@pytest.fixture
async def gateway(upstream: FakeUpstream, tmp_path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    (tmp_path / "c.yaml").write_text(
        "providers:\n"
        f"  anthropic: {{base_url: '{upstream.url}', api_key: k}}\n"
        f"  oai: {{type: openai_compatible, base_url: '{upstream.url}/v1'}}\n"
        "listings: {enabled: false}\n"
    )
    app = App(load_settings(tmp_path / "c.yaml", tmp_path / "data"))
    app.gw = await start_gateway(app.settings)
    _, secret = await create_key(app.gw.engine, "loading")
    await app.gw.keys.refresh()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw", timeout=30) as client:
        yield client, secret
    await app.gw.aclose()


async def test_a_slow_tokenizer_load_delays_only_the_count_that_needs_it(gateway, upstream, held):
    client, key = gateway
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    counting = asyncio.create_task(
        client.post("/v1/messages/count_tokens", json={"model": "oai/gpt-4o", **COUNTED}, headers=headers)
    )
    await held.until_started()  # the tokenizer is being built, and is held there

    upstream.expect(Reply(body=json.dumps(MESSAGE).encode(), headers={"content-type": "application/json"}))
    body = {"model": "anthropic/claude-sonnet-4-5", "max_tokens": 5, "messages": COUNTED["messages"]}
    other = await asyncio.wait_for(client.post("/v1/messages", json=body, headers=headers), 10)
    assert other.status_code == 200 and other.json()["content"][0]["text"] == "hi"
    assert not counting.done() and not held.release.is_set()  # served while the build was still held

    held.release.set()
    answer = await asyncio.wait_for(counting, 30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"input_tokens": count_request_tokens(COUNTED, "gpt-4o").input_tokens}
    assert answer.headers["x-aigateway-token-count"] == "counted; tokenizer=o200k_base"
    assert [name for name, _ in held.builds] == ["o200k_base"]
