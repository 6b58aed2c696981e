"""providerOptions.gateway: order, only, models, byok, timeouts; credentials; breakers; disconnects."""

from __future__ import annotations

import json
import socket
import time

import anthropic
import httpx
import pytest

from tests.routing.conftest import BYOK_KEY, OAI_KEYS
from tests.support import fixtures
from tests.support.upstream import Reply


def text_sync() -> fixtures.Exchange:
    return fixtures.exchange("anthropic", "text-sync")


def text_stream() -> fixtures.Exchange:
    return fixtures.exchange("anthropic", "text-stream")


def oai_sync() -> fixtures.Exchange:
    return fixtures.exchange("openai-chat", "text-sync")


PROMPT = [{"role": "user", "content": "What is 4200 + 42?"}]


def create(client: anthropic.Anthropic, model: str, gateway: dict | None = None):
    extra = {"extra_body": {"providerOptions": {"gateway": gateway}}} if gateway is not None else {}
    return client.messages.with_raw_response.create(model=model, max_tokens=50, messages=PROMPT, **extra)


def paths(upstream) -> list[str]:
    return [r.path_qs.split("/v1/")[0].strip("/") for r in upstream.received]


def test_order_changes_which_provider_is_called_first(rclient, upstream):
    upstream.expect(Reply.replay(text_sync()))
    raw = create(rclient, "test/sonnet", {"order": ["secondary", "primary"]})
    assert paths(upstream) == ["secondary"] and raw.headers["x-aigateway-provider"] == "secondary"


def test_only_restricts_the_providers(rclient, upstream):
    busy = Reply(529, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
                 {"content-type": "application/json"})  # fmt: skip
    upstream.expect(busy, busy, busy)
    with pytest.raises(anthropic.APIStatusError):
        create(rclient, "test/sonnet", {"only": ["primary"]})
    assert paths(upstream) == ["primary"] * 3  # secondary was not allowed


def test_only_without_a_match_is_a_404(rclient, upstream):
    with pytest.raises(anthropic.NotFoundError):
        create(rclient, "test/sonnet", {"only": ["oai"]})
    assert upstream.received == []


def test_models_falls_back_to_the_next_model(rclient, upstream):
    busy = Reply(529, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
                 {"content-type": "application/json"})  # fmt: skip
    upstream.expect(busy, busy, busy, Reply.replay(oai_sync()))
    raw = create(rclient, "primary/claude-sonnet-4-0", {"models": ["test/gpt"]})
    message = raw.parse()
    assert message.content[0].text == json.loads(oai_sync().response_bytes())["choices"][0]["message"]["content"]
    assert paths(upstream) == ["primary"] * 3 + ["oai"]
    assert raw.headers["x-aigateway-provider"] == "oai" and raw.headers["x-aigateway-attempts"] == "4"


def test_provider_options_never_reach_the_upstream(rclient, upstream):
    upstream.expect(Reply.replay(text_sync()))
    create(rclient, "test/sonnet", {"order": ["primary"], "user": "u-1", "tags": ["t"]})
    assert b"providerOptions" not in upstream.received[0].body
    assert json.loads(upstream.received[0].body)["model"] == "claude-sonnet-4-0"


@pytest.mark.parametrize(
    ("options", "field"),
    [({"orderr": ["x"]}, "unknown field `orderr`"), ({"sort": "speed"}, "sort"), ({"models": "x"}, "models")],
)
def test_bad_options_are_400s_naming_the_field(options, field, rclient, upstream):
    with pytest.raises(anthropic.BadRequestError) as info:
        create(rclient, "test/sonnet", options)
    assert info.value.body["error"]["message"].startswith("providerOptions.gateway")
    assert field in info.value.body["error"]["message"]
    assert upstream.received == []


def test_byok_credentials_are_used_first_and_never_logged(rclient, router, upstream):
    upstream.expect(Reply.replay(oai_sync()))
    raw = create(rclient, "test/gpt", {"byok": {"oai": [{"apiKey": BYOK_KEY}]}})
    assert upstream.received[0].headers["Authorization"] == "Bearer " + BYOK_KEY
    assert raw.headers["x-aigateway-provider"] == "oai"
    assert BYOK_KEY not in router.log_text()


def test_byok_for_a_provider_that_is_not_configured_is_a_400(rclient, upstream):
    with pytest.raises(anthropic.BadRequestError) as info:
        create(rclient, "test/gpt", {"byok": {"mistral": [{"apiKey": BYOK_KEY}]}})
    assert "byok.mistral" in info.value.body["error"]["message"]
    assert BYOK_KEY not in json.dumps(info.value.body)


def test_a_429_on_one_credential_moves_to_the_next(rclient, upstream):
    limited = Reply(429, json.dumps({"error": {"message": "Rate limit reached", "type": "requests"}}).encode(),
                    {"content-type": "application/json"})  # fmt: skip
    upstream.expect(limited, Reply.replay(oai_sync()))
    create(rclient, "test/gpt")
    used = [r.headers["Authorization"].removeprefix("Bearer ") for r in upstream.received]
    assert sorted(used) == sorted(OAI_KEYS)  # the second try used the other credential


def test_weighted_credentials_share_the_load(rclient, upstream):
    upstream.expect(*[Reply.replay(oai_sync()) for _ in range(30)])
    for _ in range(30):
        create(rclient, "test/gpt")
    used = [r.headers["Authorization"].removeprefix("Bearer ") for r in upstream.received]
    assert set(used) == set(OAI_KEYS)  # equal weights: both carry traffic


def test_provider_timeout_in_the_request_fails_over(rclient, upstream):
    slow = Reply(stall=3.0, body=text_sync().response_bytes(), headers={"content-type": "application/json"})
    upstream.expect(slow, Reply.replay(text_sync()))
    started = time.monotonic()
    raw = create(
        rclient, "test/sonnet", {"order": ["secondary", "primary"], "providerTimeouts": {"gateway": {"secondary": 300}}}
    )
    assert raw.headers["x-aigateway-provider"] == "primary"
    assert time.monotonic() - started < 2.0


def test_breaker_opens_after_repeated_failures_and_shows_on_health(breaker_gateway, upstream):
    key = breaker_gateway.create_key("breaker")
    client = anthropic.Anthropic(base_url=breaker_gateway.url, api_key=key, max_retries=0)
    reset = Reply(reset=True)
    upstream.expect(reset, reset, reset, Reply.replay(text_sync()))  # primary fails 3 times: breaker opens at 2
    create(client, "test/sonnet")
    health = httpx.get(breaker_gateway.url + "/health").json()
    assert {"credential": "default", "state": "open", "failures": 2} in health["providers"]["primary"]
    upstream.reset()
    upstream.expect(Reply.replay(text_sync()))
    raw = create(client, "test/sonnet")
    assert paths(upstream) == ["secondary"]  # primary is not even tried while open
    assert raw.headers["x-aigateway-attempts"] == "1"
    time.sleep(1.1)  # cooldown: the next request probes primary, which recovers
    upstream.reset()
    upstream.expect(Reply.replay(text_sync()))
    create(client, "test/sonnet")
    assert paths(upstream) == ["primary"]
    assert httpx.get(breaker_gateway.url + "/health").json()["providers"]["primary"][0]["state"] == "closed"


def _raw_request(router, key: str, body: dict) -> tuple[socket.socket, bytes]:
    data = json.dumps(body).encode()
    head = (
        f"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {key}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", router.port))
    sock.sendall(head + data)
    return sock, b""


def test_disconnect_mid_stream_ends_the_upstream_request_within_100_ms(router, router_key, upstream):
    sse = text_stream().response_bytes()
    first = sse.index(b"\n\n", sse.index(b"content_block_delta")) + 2
    reply = Reply.replay(text_stream(), chunk_size=first)
    reply.hold_after = 1
    (served,) = upstream.expect(reply)
    sock, got = _raw_request(
        router, router_key, {"model": "test/sonnet", "max_tokens": 50, "messages": PROMPT, "stream": True}
    )
    with sock:
        while b"content_block_delta" not in got:
            got += sock.recv(65536)
    left_at = time.monotonic()
    assert served.finished.wait(5)
    assert served.peer_closed_at is not None and served.peer_closed_at - left_at < 0.1


def test_disconnect_before_the_answer_cancels_the_upstream_call(router, router_key, upstream):
    held = Reply(
        body=text_sync().response_bytes(), headers={"content-type": "application/json"}, chunk_size=64, hold_after=1
    )
    (served,) = upstream.expect(held)
    sock, _ = _raw_request(router, router_key, {"model": "test/sonnet", "max_tokens": 50, "messages": PROMPT})
    with sock:
        deadline = time.monotonic() + 5
        while not upstream.received and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
    left_at = time.monotonic()
    assert served.finished.wait(5)
    assert served.peer_closed_at is not None and served.peer_closed_at - left_at < 0.1
    deadline = time.monotonic() + 5
    while not router.ledger_rows("status = 499 AND streamed = 0") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert router.ledger_rows("status = 499 AND streamed = 0")  # the request still has its row


def _stream(client: anthropic.Anthropic, model: str, gateway: dict) -> str:
    with client.messages.stream(
        model=model, max_tokens=50, messages=PROMPT, extra_body={"providerOptions": {"gateway": gateway}}
    ) as s:
        s.get_final_message()
        return s.response.headers["x-aigateway-provider"]


def test_sort_by_ttft_uses_live_measurements(rclient, upstream):
    slow = Reply.replay(text_stream())
    slow.stall = 0.4
    upstream.expect(slow, Reply.replay(text_stream()))
    assert _stream(rclient, "test/sonnet", {"order": ["primary"], "only": ["primary"]}) == "primary"
    assert _stream(rclient, "test/sonnet", {"only": ["secondary"]}) == "secondary"
    upstream.expect(Reply.replay(text_stream()))
    # both measured now: the faster first token wins, whatever the catalog's order
    assert _stream(rclient, "test/sonnet", {"sort": "ttft"}) == "secondary"


def test_config_defaults_per_model_and_per_key(router, rclient, upstream):
    upstream.expect(Reply.replay(text_sync()))
    assert create(rclient, "test/sonnet-secondary-first").headers["x-aigateway-provider"] == "secondary"
    key = router.create_key("prefers-secondary")
    client = anthropic.Anthropic(base_url=router.url, api_key=key, max_retries=0)
    upstream.expect(Reply.replay(text_sync()))
    assert create(client, "test/sonnet").headers["x-aigateway-provider"] == "secondary"
    upstream.expect(Reply.replay(text_sync()))  # the request's own options win over the key's
    assert create(client, "test/sonnet", {"order": ["primary"]}).headers["x-aigateway-provider"] == "primary"


def test_sort_by_cost_uses_the_price_table(rclient, upstream):
    upstream.expect(Reply.replay(text_sync()))
    assert create(rclient, "test/sonnet", {"sort": "cost"}).headers["x-aigateway-provider"] == "secondary"


def test_generation_returns_the_ledger_row_with_attempts(router, router_key, rclient, upstream):
    busy = Reply(529, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
                 {"content-type": "application/json"})  # fmt: skip
    upstream.expect(busy, Reply.replay(text_sync()))
    raw = create(rclient, "test/sonnet", {"user": "u-42", "tags": ["nightly", "eval"]})
    request_id = raw.headers["request-id"]
    got = httpx.get(router.url + "/v1/generation", params={"id": request_id}, headers={"x-api-key": router_key})
    assert got.status_code == 200
    row = got.json()
    usage = json.loads(text_sync().response_bytes())["usage"]
    assert (row["id"], row["model"], row["provider"], row["attempts"]) == (request_id, "test/sonnet", "primary", 2)
    assert (row["input_tokens"], row["output_tokens"]) == (usage["input_tokens"], usage["output_tokens"])
    assert (row["end_user"], row["tags"], row["status"]) == ("u-42", ["nightly", "eval"], 200)
    assert row["cost_usd"] is not None and float(row["cost_usd"]) > 0
    other = router.create_key("someone-else")
    hidden = httpx.get(router.url + "/v1/generation", params={"id": request_id}, headers={"x-api-key": other})
    assert hidden.status_code == 404 and hidden.json()["error"]["type"] == "not_found_error"
    stored = router.ledger_row(request_id)  # and the same numbers once written to the store
    assert (stored["attempts"], stored["end_user"], stored["tags"]) == (2, "u-42", "nightly,eval")


def test_signed_reasoning_never_falls_back_to_another_model(rclient, upstream):
    """known-gateway-bugs row 13: a signature only the signing model accepts stays with that model."""
    busy = Reply(529, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
                 {"content-type": "application/json"})  # fmt: skip
    upstream.expect(busy, busy, busy)
    history = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "EqQBCkYI"}]},
        {"role": "user", "content": "Again"},
    ]
    with pytest.raises(anthropic.APIStatusError) as info:
        rclient.messages.create(
            model="primary/claude-sonnet-4-0",
            max_tokens=50,
            messages=history,
            extra_body={"providerOptions": {"gateway": {"models": ["test/gpt"]}}},
        )
    assert info.value.status_code == 529
    assert paths(upstream) == ["primary"] * 3  # test/gpt (another model) was not tried
