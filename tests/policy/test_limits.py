"""Keys with policy through the real gateway: limits, budgets, access, expiry; the SDK sees Anthropic's
errors and headers; every request is one ledger row with its cost."""

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

MODEL = "anthropic/claude-sonnet-4"
PROMPT = [{"role": "user", "content": "Hello"}]


def admin(gateway, method: str, path: str, body: dict | None = None, key: str = ADMIN_KEY) -> httpx.Response:
    return httpx.request(method, gateway.url + path, json=body, headers={"x-api-key": key}, timeout=30)


def make_key(gateway, **policy) -> tuple[str, str]:
    resp = admin(gateway, "POST", "/admin/keys", {"name": "limits-test", **policy})
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    ISSUED_KEYS.append(doc["secret"])
    return doc["id"], doc["secret"]


def sdk(gateway, secret: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=secret, max_retries=0)


def text_sync() -> Reply:
    return Reply.replay(fixtures.exchange("anthropic", "text-sync"))


def test_rate_limit_headers_and_429(gateway, upstream):
    _, secret = make_key(gateway, rpm=2, tpm=1_000_000)
    client = sdk(gateway, secret)
    upstream.expect(text_sync(), text_sync())
    first = client.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=PROMPT)
    assert first.headers["anthropic-ratelimit-requests-limit"] == "2"
    assert first.headers["anthropic-ratelimit-requests-remaining"] == "1"
    assert first.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert first.headers["anthropic-ratelimit-tokens-limit"] == "1000000"
    assert int(first.headers["anthropic-ratelimit-tokens-remaining"]) < 1_000_000
    second = client.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=PROMPT)
    assert second.headers["anthropic-ratelimit-requests-remaining"] == "0"
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model=MODEL, max_tokens=64, messages=PROMPT)
    err = info.value
    assert err.body["error"]["type"] == "rate_limit_error"
    assert 1 <= int(err.response.headers["retry-after"]) <= 30  # 2/min: one request back within 30 s
    assert err.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert len(upstream.received) == 2  # the refused request never reached the upstream
    row = gateway.ledger_row(err.response.headers["request-id"])
    assert row["status"] == 429 and row["error_type"] == "rate_limit_error" and row["cost_nanousd"] is None


def test_per_model_limit_leaves_other_models_alone(gateway, upstream):
    _, secret = make_key(gateway, rpm_per_model=1)
    client = sdk(gateway, secret)
    upstream.expect(text_sync(), text_sync())
    client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    with pytest.raises(anthropic.RateLimitError):  # an alias of the same model shares its bucket
        client.messages.create(model="anthropic/claude-sonnet-4-0", max_tokens=16, messages=PROMPT)
    client.messages.create(model="anthropic/claude-sonnet-4.5", max_tokens=16, messages=PROMPT)


def test_streams_carry_the_limit_headers(gateway, upstream):
    _, secret = make_key(gateway, rpm=5)
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-stream")))
    with sdk(gateway, secret).messages.stream(model=MODEL, max_tokens=64, messages=PROMPT) as stream:
        stream.get_final_message()
        headers = stream.response.headers
    assert headers["anthropic-ratelimit-requests-limit"] == "5"
    assert headers["anthropic-ratelimit-requests-remaining"] == "4"
    assert "anthropic-ratelimit-tokens-limit" not in headers  # no token limit on this key
    assert gateway.ledger_row(headers["request-id"])["cost_nanousd"] == 276_000  # 17*3000 + 15*15000


def test_cost_on_the_ledger_row_and_in_usage(gateway, upstream):
    key_id, secret = make_key(gateway)
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "prompt-cache-sync", 1)))
    raw = sdk(gateway, secret).messages.with_raw_response.create(model=MODEL, max_tokens=1024, messages=PROMPT)
    row = gateway.ledger_row(raw.headers["request-id"])
    # 8*3000 + 4167*3750 + 204*15000 nano-dollars (see tests/policy/test_prices.py)
    assert row["cost_nanousd"] == 18_710_250
    assert (row["input_tokens"], row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (8, 4167, 0)
    own = httpx.get(gateway.url + "/v1/usage?group_by=model", headers={"x-api-key": secret}, timeout=10).json()
    assert own["key_id"] == key_id
    assert own["data"] == [
        {
            "model": MODEL,
            "requests": 1,
            "input_tokens": 8,
            "output_tokens": 204,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 4167,
            "cost_usd": "0.01871025",
            "unpriced_requests": 0,
        }
    ]
    everyone = admin(gateway, "GET", "/v1/usage?group_by=key").json()
    assert key_id in {r["key"] for r in everyone["data"]} and len(everyone["data"]) > 1


def test_budget_reserves_worst_case_then_402(gateway, upstream):
    # Worst case of this request: (body bytes + 1024) * 6000 (1 h write rate) + 1000 * 15000 nano-dollars,
    # about $0.0218; the recorded answer costs 276_000 nano-dollars. A $0.03 budget admits one
    # request at a time, and after it settles, the next.
    _, secret = make_key(gateway, budget_usd="0.03", budget_period="day")
    client = sdk(gateway, secret)
    upstream.expect(text_sync(), text_sync())
    client.messages.create(model=MODEL, max_tokens=1000, messages=PROMPT)
    time.sleep(0.2)  # let the settle land (it is off the response path)
    client.messages.create(model=MODEL, max_tokens=1000, messages=PROMPT)
    time.sleep(0.2)
    balance = httpx.get(gateway.url + "/v1/balance", headers={"x-api-key": secret}, timeout=10).json()
    assert balance["budget_usd"] == "0.030000" and balance["period"] == "day"
    assert balance["spent_usd"] == "0.000552"  # 2 * 276_000 nano-dollars: reservations settled to cost
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model=MODEL, max_tokens=4000, messages=PROMPT)
    assert info.value.status_code == 402 and info.value.body["error"]["type"] == "billing_error"
    assert "has $0.029448 of its budget left" in info.value.body["error"]["message"]  # 0.03 - 0.000552
    assert info.value.response.headers["x-should-retry"] == "false"


def test_allowed_models_and_providers(gateway, upstream):
    _, secret = make_key(gateway, allowed_models=["anthropic/claude-haiku-4.5"])
    client = sdk(gateway, secret)
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)
    assert "may not use model" in info.value.body["error"]["message"]
    upstream.expect(text_sync())
    client.messages.create(model="anthropic/claude-haiku-4-5", max_tokens=16, messages=PROMPT)  # an alias
    _, other = make_key(gateway, allowed_providers=["proxied"])
    with pytest.raises(anthropic.PermissionDeniedError):
        sdk(gateway, other).messages.count_tokens(model=MODEL, messages=PROMPT)
    assert len(upstream.received) == 1


def test_a_budgeted_key_cannot_use_an_unpriced_model(gateway, upstream):
    _, secret = make_key(gateway, budget_usd="5", budget_period="month")
    with pytest.raises(anthropic.PermissionDeniedError) as info:
        sdk(gateway, secret).messages.create(model="anthropic/claude-3-99", max_tokens=16, messages=PROMPT)
    assert "has no price" in info.value.body["error"]["message"]
    assert upstream.received == []


def test_an_expired_key_is_refused(gateway, upstream):
    key_id, secret = make_key(gateway, expires_at=time.time() + 3600)
    assert admin(gateway, "PATCH", f"/admin/keys/{key_id}", {"expires_at": "2020-01-01T00:00:00Z"}).status_code == 200
    deadline = time.monotonic() + 10
    while True:
        resp = httpx.get(gateway.url + "/v1/balance", headers={"x-api-key": secret}, timeout=10)
        if resp.status_code == 401:
            break
        assert time.monotonic() < deadline, "expiry not effective"
        time.sleep(0.2)
    assert "expired" in resp.json()["error"]["message"]


def test_admin_api(gateway):
    assert admin(gateway, "GET", "/admin/keys", key="agw_" + "x" * 43).status_code == 403
    no_key = httpx.get(gateway.url + "/admin/keys", timeout=10)
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    key_id, secret = make_key(gateway, rpm=5, tags=["team-a"], budget_usd="12.5", budget_period="week")
    listed = {k["id"]: k for k in admin(gateway, "GET", "/admin/keys").json()["data"]}
    assert listed[key_id]["tags"] == ["team-a"] and listed[key_id]["budget_usd"] == "12.500000"
    assert "secret" not in listed[key_id] and secret not in admin(gateway, "GET", "/admin/keys").text
    patched = admin(gateway, "PATCH", f"/admin/keys/{key_id}", {"rpm": None, "tpm": 1000}).json()
    assert (patched["rpm"], patched["tpm"], patched["budget_period"]) == (None, 1000, "week")
    bad = admin(gateway, "PATCH", f"/admin/keys/{key_id}", {"rpm": -1})
    assert bad.status_code == 400 and "rpm" in bad.json()["error"]["message"]
    assert admin(gateway, "POST", "/admin/keys", {"name": "x", "budget_usd": "3"}).status_code == 400  # no period
    assert admin(gateway, "DELETE", f"/admin/keys/{key_id}").json()["revoked_at"] is not None
    assert admin(gateway, "GET", "/admin/keys/key_nope").status_code == 404


def test_models_show_prices(gateway, api_key):
    doc = httpx.get(gateway.url + "/v1/models/anthropic/claude-sonnet-4", headers={"x-api-key": api_key}).json()
    pricing = doc["pricing"]["anthropic"]
    assert pricing["input"] == "3" and pricing["cache_write_1h"] == "6" and pricing["cache_read"] == "0.3"
    assert pricing["currency"] == "USD" and pricing["source"] == "aigateway 2026-12-04"  # the shipped row
    assert pricing["long_context"]["above_input_tokens"] == 200000 and pricing["long_context"]["output"] == "22.5"


def test_translated_requests_are_limited_and_priced(gateway, upstream):
    """An OpenAI model behind /v1/messages: same admission, same headers, cost from the config's price."""
    from tests.support import openai_recordings

    rec = openai_recordings.recording("openai-chat/prompt-cache-sync#2")
    _, secret = make_key(gateway, rpm=3)
    upstream.expect(Reply(body=rec.body, headers={"content-type": "application/json"}))
    raw = sdk(gateway, secret).messages.with_raw_response.create(model="openai/gpt-4o", max_tokens=50, messages=PROMPT)
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "2"
    row = gateway.ledger_row(raw.headers["request-id"])
    # usage: prompt 3663 of which 3584 cached, completion 117; test prices 2.5 / 1.25 / 10 per million:
    # 79*2500 + 3584*1250 + 117*10000 = 197_500 + 4_480_000 + 1_170_000
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (79, 3584, 117)
    assert row["cost_nanousd"] == 5_847_500


def test_a_fallback_the_key_may_use_is_taken_and_priced(gateway, upstream):
    """The plan asks for Sonnet with Haiku as fallback; the key may only use Haiku: Haiku answers."""
    _, secret = make_key(gateway, allowed_models=["anthropic/claude-haiku-4.5"], budget_usd="1", budget_period="day")
    upstream.expect(text_sync())
    raw = sdk(gateway, secret).messages.with_raw_response.create(
        model=MODEL,
        max_tokens=16,
        messages=PROMPT,
        extra_body={"providerOptions": {"gateway": {"models": ["anthropic/claude-haiku-4.5"]}}},
    )
    assert json.loads(upstream.received[0].body)["model"] == "claude-haiku-4-5"
    row = gateway.ledger_row(raw.headers["request-id"])
    assert (row["model"], row["cost_nanousd"]) == ("anthropic/claude-haiku-4.5", 92_000)  # 17*1000 + 15*5000
