"""Keys with policy on the Chat Completions door: the same admission as on the Messages door
(rate limits, model permissions, budgets), errors in OpenAI's envelope, cost on the ledger row."""

from __future__ import annotations

import openai
import pytest

from tests.policy.test_limits import make_key
from tests.support import fixtures
from tests.support.upstream import Reply

MODEL = "anthropic/claude-sonnet-4"
PROMPT = [{"role": "user", "content": "Hello"}]


def oai(gateway, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=secret, max_retries=0)


def text_sync() -> Reply:
    return Reply.replay(fixtures.exchange("anthropic", "text-sync"))


def test_rate_limit_is_an_openai_429_with_its_headers(gateway, upstream):
    _, secret = make_key(gateway, rpm=1, tpm=1_000_000)
    client = oai(gateway, secret)
    upstream.expect(text_sync())
    first = client.chat.completions.with_raw_response.create(model=MODEL, messages=PROMPT)
    assert first.headers["anthropic-ratelimit-requests-remaining"] == "0"
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model=MODEL, messages=PROMPT)
    assert info.value.body["code"] == "rate_limit_exceeded"
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 60
    assert len(upstream.received) == 1  # the refused request never reached the upstream


def test_model_permissions_and_cost(gateway, upstream):
    _, secret = make_key(gateway, allowed_models=["anthropic/claude-haiku-4.5"])
    client = oai(gateway, secret)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model=MODEL, messages=PROMPT)
    assert "may not use model" in info.value.body["message"] and info.value.body["code"] == "permission_denied"
    assert upstream.received == []
    _, priced = make_key(gateway)
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "prompt-cache-sync", 1)))
    raw = oai(gateway, priced).chat.completions.with_raw_response.create(model=MODEL, messages=PROMPT)
    row = gateway.ledger_row(raw.headers["request-id"])
    # the same answer costs the same through either door (tests/policy/test_limits.py)
    assert row["cost_nanousd"] == 18_710_250 and row["endpoint"] == "chat_completions"


def test_a_spent_budget_is_insufficient_quota(gateway, upstream):
    _, secret = make_key(gateway, budget_usd="0.000001", budget_period="day")
    with pytest.raises(openai.APIStatusError) as info:
        oai(gateway, secret).chat.completions.create(model=MODEL, messages=PROMPT, max_tokens=1000)
    assert info.value.status_code == 402 and info.value.body["type"] == "insufficient_quota"
    assert upstream.received == []
