"""Request credentials (BYOK) have a breaker each: one tenant's failing key never moves another
tenant's requests onto the gateway's own credential; breakers are labelled by a digest, never
the key, and their number is bounded."""

from __future__ import annotations

import json

import anthropic
import httpx

from aigateway.routing.health import Health, byok_label
from tests.routing.conftest import OAI_KEYS
from tests.support import fixtures
from tests.support.upstream import Reply

OAI = fixtures.Later("openai-chat", "text-sync")
TENANT_A = "sk-tenant-a-failing-key-444"
TENANT_B = "sk-tenant-b-working-key-555"
LIMITED = Reply(
    429, b'{"error":{"message":"Rate limit reached","type":"requests"}}', {"content-type": "application/json"}
)


def create(client: anthropic.Anthropic, byok: str) -> None:
    options = {"providerOptions": {"gateway": {"byok": {"oai": [{"apiKey": byok}]}}}}
    client.messages.create(
        model="test/gpt", max_tokens=16, messages=[{"role": "user", "content": "hi"}], extra_body=options
    )


def test_one_tenants_failing_byok_key_leaves_another_tenants_key_in_use(breaker_gateway, upstream):
    client = anthropic.Anthropic(base_url=breaker_gateway.url, api_key=breaker_gateway.create_key(), max_retries=0)
    for _ in range(2):  # the breaker threshold: tenant A's key is refused twice, served by the gateway's key
        upstream.expect(LIMITED, Reply.replay(OAI))
        create(client, TENANT_A)
    health = httpx.get(breaker_gateway.url + "/health").json()["providers"]["oai"]
    assert {"credential": byok_label(TENANT_A), "state": "open", "failures": 2} in health
    assert TENANT_A not in json.dumps(health)
    upstream.reset()
    upstream.expect(Reply.replay(OAI))
    create(client, TENANT_B)
    assert [r.headers["Authorization"] for r in upstream.received] == [f"Bearer {TENANT_B}"]
    assert not any(f"Bearer {k}" == upstream.received[0].headers["Authorization"] for k in OAI_KEYS)


def test_byok_breakers_are_bounded_least_recently_used_first():
    health = Health(threshold=1, max_byok=3)
    labels = [byok_label(f"sk-key-{i}") for i in range(5)]
    for label in labels:
        health.breaker("oai", label).failure()
    kept = {c["credential"] for c in health.snapshot()["oai"]}
    assert kept == set(labels[2:])  # the two oldest forgotten
    health.breaker("oai", labels[2])  # used again: now the newest
    health.breaker("oai", byok_label("sk-key-new"))
    assert {c["credential"] for c in health.snapshot()["oai"]} == {labels[2], labels[4], byok_label("sk-key-new")}
    assert health.breaker("oai", "#1") is health.breaker("oai", "#1")  # the gateway's own are never forgotten
