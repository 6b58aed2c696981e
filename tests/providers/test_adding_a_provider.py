"""Adding a provider is a folder (a descriptor and its converters) and one registry line.

The "parrot" kind (tests/support/parrot/) is known to nothing in the gateway; registering its
descriptor, as the one line in providers/registry.py would, is enough for the config loader,
env-only mode, telemetry names and both doors to serve it, through the same pipeline as every
other provider, with its usage in the ledger.
"""

from __future__ import annotations

import json

import anthropic
import httpx2
import openai
import pytest

from aigateway.app import App, start_gateway
from aigateway.config import load_settings
from aigateway.policy.keys import create_key
from aigateway.providers import registry
from tests.support.parrot.descriptor import DESCRIPTOR
from tests.support.upstream import Reply


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(registry.DESCRIPTORS, "parrot", DESCRIPTOR)  # the one registry line


@pytest.fixture
async def parrot_gateway(registered, upstream, tmp_path):
    (tmp_path / "c.yaml").write_text(f"providers:\n  parrot:\n    base_url: {upstream.url}\n    api_key: pk-1\n")
    app = App(load_settings(tmp_path / "c.yaml", tmp_path / "data"))
    app.gw = await start_gateway(app.settings)
    _, secret = await create_key(app.gw.engine, "parrot-test")
    await app.gw.keys.refresh()
    yield app, secret
    await app.gw.aclose()


def _http(app: App) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://gw")


def _answer(text: str) -> Reply:
    body = {"text": text, "input": 4, "output": 2, "done": "stop"}
    return Reply(body=json.dumps(body).encode(), headers={"content-type": "application/json"})


def _stream(*deltas: str) -> Reply:
    events = [{"delta": d} for d in deltas] + [{"done": "length", "input": 4, "output": len(deltas)}]
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return Reply(body=body, headers={"content-type": "text/event-stream"}, chunk_size=7)


def test_the_kind_is_known_to_config_and_env_only_mode(registered, tmp_path):
    settings = load_settings(None, tmp_path, env={"PARROT_API_KEY": "pk-env"})
    assert settings.providers["parrot"].base_url == DESCRIPTOR.base_url
    assert settings.providers["parrot"].api_key == "pk-env"


async def test_the_messages_door_serves_it_whole_and_streamed(parrot_gateway, upstream):
    app, secret = parrot_gateway
    client = anthropic.AsyncAnthropic(api_key=secret, base_url="http://gw", http_client=_http(app))
    upstream.expect(_answer("polly wants a cracker"))
    message = await client.messages.create(
        model="parrot/polly-1", max_tokens=50, messages=[{"role": "user", "content": "say it"}]
    )
    assert message.content[0].text == "polly wants a cracker"  # type: ignore[union-attr]
    assert (message.usage.input_tokens, message.usage.output_tokens, message.stop_reason) == (4, 2, "end_turn")
    sent = json.loads(upstream.received[-1].body)
    assert sent == {"model": "polly-1", "prompt": "say it", "max": 50, "stream": False}
    assert {k.lower(): v for k, v in upstream.received[-1].headers.items()}["authorization"] == "Bearer pk-1"

    upstream.expect(_stream("pol", "ly"))
    async with client.messages.stream(
        model="parrot/polly-1", max_tokens=2, messages=[{"role": "user", "content": "again"}]
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "polly"  # type: ignore[union-attr]
    assert (final.stop_reason, final.usage.output_tokens) == ("max_tokens", 2)


async def test_the_chat_completions_door_serves_it_and_the_ledger_counts_it(parrot_gateway, upstream):
    app, secret = parrot_gateway
    client = openai.AsyncOpenAI(api_key=secret, base_url="http://gw/v1", http_client=_http(app))
    upstream.expect(_answer("squawk"))
    completion = await client.chat.completions.create(
        model="parrot/polly-1", messages=[{"role": "user", "content": "hello"}]
    )
    assert completion.choices[0].message.content == "squawk"
    assert completion.usage is not None and completion.usage.prompt_tokens == 4
    await app.gw.ledger.flush()
    async with app.gw.engine.connect() as conn:
        rows = (await conn.exec_driver_sql("SELECT provider, input_tokens, output_tokens, status FROM ledger")).all()
    assert ("parrot", 4, 2, 200) in [tuple(r) for r in rows]
