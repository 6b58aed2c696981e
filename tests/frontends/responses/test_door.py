"""The Responses door's own behaviour: errors in OpenAI's envelope, what the core cannot carry,
input token counts, the ledger, and Codex's model catalog (the WebSocket mode: test_websocket.py)."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.anthropic_sse import message_stream
from tests.support.fixtures import exchange
from tests.support.responses_grammar import validate_responses_stream
from tests.support.upstream import Reply

CLAUDE = "anthropic/claude-sonnet-4.5"


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


def test_an_unknown_previous_response_id_is_openais_400_before_any_upstream_call(oai, upstream):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=CLAUDE, input="Hi", previous_response_id="resp_123")
    assert caught.value.body == {  # type: ignore[comparison-overlap]
        "message": "previous_response_id: Previous response with id 'resp_123' not found.",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": "previous_response_not_found",
    }
    assert not upstream.received


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"input": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "input[0].content[0]"),
        ({"input": "Hi", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"input": "Hi", "reasoning": {"effort": "huge"}}, "reasoning.effort"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}]}, "input[0].arguments"),
    ],
)
def test_input_the_core_cannot_carry_is_a_400_naming_the_field(body, param, gateway, api_key, upstream):
    resp = httpx.post(gateway.url + "/v1/responses", json={"model": CLAUDE, **body}, headers=_auth(api_key))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["param"] == param
    assert not upstream.received


def test_an_unknown_key_gets_openais_401_envelope(gateway):
    resp = httpx.post(gateway.url + "/v1/responses", json={"model": CLAUDE, "input": "Hi"}, headers=_auth("nope"))
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_api_key"


def test_metadata_is_named_as_dropped_and_the_ledger_says_responses(oai, gateway, upstream):
    upstream.expect(Reply.replay(exchange("anthropic", "text-sync")))
    raw = oai.responses.with_raw_response.create(model=CLAUDE, input="Hi", metadata={"k": "v"})
    assert raw.parse().store is True  # kept (test_stored.py)
    dropped = raw.headers["x-aigateway-dropped"].split(", ")
    assert "store" not in dropped and "metadata" in dropped
    row = gateway.ledger_row(raw.headers["request-id"])
    assert row["endpoint"] == "responses" and row["provider"] == "anthropic" and row["status"] == 200


def test_input_tokens_are_counted_by_the_gateway_for_claude(oai, gateway, api_key, upstream):
    counted = oai.responses.input_tokens.count(model=CLAUDE, input="Hello there", instructions="Be brief.")
    assert counted.object == "response.input_tokens" and counted.input_tokens > 0


def test_a_stream_cut_after_its_first_event_ends_with_error_then_response_failed(gateway, api_key, upstream):
    full = message_stream([{"type": "text", "text": "Hello there, this is long enough"}], "end_turn")
    cut = full[: full.index(b"event: content_block_stop")]
    upstream.expect(Reply(body=cut, headers={"content-type": "text/event-stream"}, chunk_size=64))
    resp = httpx.post(
        gateway.url + "/v1/responses", json={"model": CLAUDE, "input": "Hi", "stream": True}, headers=_auth(api_key)
    )
    events = validate_responses_stream(resp.content)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]


def test_codex_gets_its_catalog_and_openai_clients_their_list(gateway, api_key):
    body = httpx.get(gateway.url + "/v1/models?client_version=0.171.0", headers=_auth(api_key)).json()
    assert body["object"] == "list" and body["data"]
    slugs = [m["slug"] for m in body["models"]]
    assert slugs == [m["id"] for m in body["data"]] and CLAUDE in slugs
    info = body["models"][slugs.index(CLAUDE)]
    assert info["apply_patch_tool_type"] == "freeform" and info["shell_type"] == "shell_command"
    assert [lvl["effort"] for lvl in info["supported_reasoning_levels"]] == ["low", "medium", "high"]
    assert "models" not in httpx.get(gateway.url + "/v1/models", headers=_auth(api_key)).json()


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}
