"""Prices, budgets and lifecycle on models beyond Anthropic's, through the real gateway: a budgeted
key works on OpenAI, Gemini and Bedrock models until its budget says 402; deprecated and retired
models still go upstream, their answers say so; a retired model's 404 names its successor; an
operator's redirect and an uncatalogued id's spelling reach the upstream as they should."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.support import fixtures
from tests.support.gateway import ISSUED_KEYS
from tests.support.upstream import Reply

PROMPT = [{"role": "user", "content": "Hello"}]
JSON = {"content-type": "application/json"}


def _key(gateway, **policy) -> str:
    resp = httpx.post(
        gateway.url + "/admin/keys", json={"name": "catalog-test", **policy}, headers={"x-api-key": ADMIN_KEY}
    )
    assert resp.status_code == 201, resp.text
    ISSUED_KEYS.append(resp.json()["secret"])
    return resp.json()["secret"]


def _sdk(gateway, secret: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=secret, max_retries=0)


# model as asked -> a recorded answer its upstream gives (the fake upstream replays it)
ANSWERS = {
    "openai/gpt-5": ("openai-chat", "text-sync", 1),
    "google/gemini-2.5-pro": ("gemini", "text-sync", 1),
    "bedrock/eu.anthropic.claude-haiku-4-5-20251001-v1:0": ("bedrock", "invoke-anthropic-messages-cache", 1),
}


@pytest.mark.parametrize("model", sorted(ANSWERS))
def test_a_budgeted_key_works_on_a_priced_model_until_402(gateway, upstream, model):
    secret = _key(gateway, budget_usd="0.05", budget_period="day")
    client = _sdk(gateway, secret)
    ex = fixtures.exchange(*ANSWERS[model])
    upstream.expect(Reply(body=ex.response_bytes(), headers=JSON))
    raw = client.messages.with_raw_response.create(model=model, max_tokens=64, messages=PROMPT)
    row = gateway.ledger_row(raw.headers["request-id"])
    assert row["cost_nanousd"] is not None and row["cost_nanousd"] > 0
    time.sleep(0.2)  # the settle lands off the response path
    # 20,000 output tokens at $5.50 to $10 per million ($0.11 to $0.20) is more than the $0.05
    # budget: refused before anything is sent upstream.
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model=model, max_tokens=20_000, messages=PROMPT)
    assert info.value.status_code == 402 and info.value.body["error"]["type"] == "billing_error"
    assert len(upstream.received) == 1


def test_a_retired_models_answer_carries_deprecation_and_sunset(gateway, upstream, api_key):
    # gemini-2.5-pro: shut down on the Gemini API on 2026-12-01 (routing/models.yaml [L5]); the
    # upstream still decides, and here it answers.
    upstream.expect(Reply(body=fixtures.exchange("gemini", "text-sync", 1).response_bytes(), headers=JSON))
    raw = _sdk(gateway, api_key).messages.with_raw_response.create(
        model="google/gemini-2.5-pro", max_tokens=64, messages=PROMPT
    )
    assert raw.headers["deprecation"] == "@1796083200"  # 2026-12-01T00:00:00Z
    assert raw.headers["sunset"] == "Tue, 01 Dec 2026 00:00:00 GMT"
    assert '"msg":"model is retired on its provider"' in gateway.log_text()


def test_an_active_models_answer_has_no_lifecycle_headers(gateway, upstream, api_key):
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    raw = _sdk(gateway, api_key).messages.with_raw_response.create(
        model="anthropic/claude-sonnet-4.6", max_tokens=64, messages=PROMPT
    )
    assert "deprecation" not in raw.headers and "sunset" not in raw.headers


def test_an_upstream_404_for_a_retired_model_names_its_successor(gateway, upstream, api_key):
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "error-404-model", 1)))
    with pytest.raises(anthropic.NotFoundError) as info:
        _sdk(gateway, api_key).messages.create(model="anthropic/claude-sonnet-4", max_tokens=16, messages=PROMPT)
    message = info.value.body["error"]["message"]
    assert message.endswith(
        "('anthropic/claude-sonnet-4' was retired on 2026-06-15; use 'anthropic/claude-sonnet-4.6' instead)"
    )


def test_a_redirected_model_is_served_as_its_target_and_says_so(gateway, upstream, api_key):
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    raw = _sdk(gateway, api_key).messages.with_raw_response.create(
        model="anthropic/claude-opus-4.1", max_tokens=64, messages=PROMPT
    )
    assert raw.headers["x-aigateway-redirected-from"] == "anthropic/claude-opus-4.1"
    assert json.loads(upstream.received[0].body)["model"] == "claude-opus-4-8"
    row = gateway.ledger_row(raw.headers["request-id"])
    assert row["model"] == "anthropic/claude-opus-4.8"


def test_an_uncatalogued_anthropic_id_goes_upstream_with_dashes(gateway, upstream, api_key):
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    _sdk(gateway, api_key).messages.create(model="anthropic/claude-sonnet-7.1", max_tokens=16, messages=PROMPT)
    assert json.loads(upstream.received[0].body)["model"] == "claude-sonnet-7-1"


def test_models_show_each_providers_price_with_its_source_and_lifecycle(gateway, api_key):
    h = {"x-api-key": api_key}
    gpt5 = httpx.get(gateway.url + "/v1/models/openai/gpt-5", headers=h).json()
    assert gpt5["pricing"]["openai"]["source"] == "genai-prices 0.2.3"
    assert gpt5["pricing"]["openai"]["input"] == "1.25" and gpt5["pricing"]["openai"]["output"] == "10"
    assert gpt5["lifecycle"]["openai"] == {
        "status": "deprecated",
        "retires": "2026-12-11",
        "successor": "openai/gpt-6.1-sol",
    }
    assert gpt5["max_input_tokens"] == 400_000  # the package's context window: the catalog has none
    sonnet = httpx.get(gateway.url + "/v1/models/anthropic/claude-sonnet-5.5", headers=h).json()
    assert set(sonnet["pricing"]) == {"anthropic", "bedrock"}  # each configured provider that serves it
    assert (sonnet["max_input_tokens"], sonnet["max_tokens"]) == (1_000_000, 128_000)
    assert sonnet["lifecycle"]["anthropic"]["status"] == "active"
    listed = httpx.get(gateway.url + "/v1/models?limit=1000", headers=h).json()["data"]
    assert all(m["pricing"] for m in listed), [m["id"] for m in listed if not m["pricing"]]
