"""Routing on the Chat Completions door: the same attempt plans as on the Messages door, across
protocols (a Chat Completions model failing over to Claude, read by the openai SDK)."""

from __future__ import annotations

import json

import openai
import pytest

from tests.routing.conftest import OAI_KEYS
from tests.support import fixtures
from tests.support.upstream import Reply

PROMPT = [{"role": "user", "content": "What is 4200 + 42?"}]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_openai_model_rate_limited_falls_over_to_claude(stream, router, router_key, upstream):
    limited = fixtures.exchange("openrouter", "error-429", 1)
    claude = fixtures.exchange("anthropic", "text-stream" if stream else "text-sync")
    # test/gpt has two credentials (two attempts), then the fallback model test/sonnet
    upstream.expect(Reply.replay(limited), Reply.replay(limited), Reply.replay(claude))
    oai = openai.OpenAI(base_url=router.url + "/v1", api_key=router_key, max_retries=0)
    params = {
        "model": "test/gpt",
        "messages": PROMPT,
        "extra_body": {"providerOptions": {"gateway": {"models": ["test/sonnet"]}}},
    }
    if stream:
        with oai.chat.completions.stream(**params) as s:
            completion, headers = s.get_final_completion(), s._response.headers  # the helper keeps it there
    else:
        raw = oai.chat.completions.with_raw_response.create(**params)
        completion, headers = raw.parse(), raw.headers
    want = fixtures.exchange("anthropic", "text-sync").response_bytes()
    assert completion.choices[0].message.content in (json.loads(want)["content"][0]["text"], "4200 + 42 = 4242")
    assert completion.model == "test/sonnet"
    assert headers["x-aigateway-provider"] == "primary" and headers["x-aigateway-attempts"] == "3"
    paths = [r.path_qs for r in upstream.received]
    assert paths == ["/oai/v1/chat/completions"] * 2 + ["/primary/v1/messages"]
    auth = {r.headers["Authorization"] for r in upstream.received[:2]}
    assert auth == {"Bearer " + k for k in OAI_KEYS}  # each credential tried once
    assert all("providerOptions" not in json.loads(r.body) for r in upstream.received)
    row = router.ledger_row(headers["request-id"])
    assert (row["provider"], row["status"], row["endpoint"], row["attempts"]) == ("primary", 200, "chat_completions", 3)


def test_signed_reasoning_in_the_history_keeps_the_request_on_its_model(router, router_key, upstream):
    """known-gateway-bugs row 13: a signature only the signing model accepts; no fallback model."""
    limited = fixtures.exchange("openrouter", "error-429", 1)
    upstream.expect(*[Reply.replay(limited) for _ in range(6)])  # enough for every retry of the plan
    history = [
        *PROMPT,
        {
            "role": "assistant",
            "content": "4242",
            "reasoning_details": [{"type": "reasoning.text", "text": "add", "signature": "EqQBCkgIBxAB"}],
        },
        {"role": "user", "content": "And doubled?"},
    ]
    oai = openai.OpenAI(base_url=router.url + "/v1", api_key=router_key, max_retries=0)
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(
            model="test/gpt",
            messages=history,
            extra_body={"providerOptions": {"gateway": {"models": ["test/sonnet"]}}},
        )
    paths = [r.path_qs for r in upstream.received]
    assert len(paths) >= 2 and set(paths) == {"/oai/v1/chat/completions"}  # never the fallback model
