"""The Responses door in front of OpenAI and Azure OpenAI: the client's bytes go up with only the
model id changed, the answer comes back byte for byte, and the ledger has its usage."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support.fixtures import exchanges
from tests.support.responses_grammar import validate_responses_stream
from tests.support.upstream import Reply

RESPONSES = [ex for ex in exchanges("openai-responses") if ex.request_file and ex.response_file]
OK = [ex for ex in RESPONSES if ex.status == 200]


def _post(gateway, api_key: str, content: bytes) -> httpx.Response:
    headers = {"authorization": "Bearer " + api_key, "content-type": "application/json"}
    return httpx.post(gateway.url + "/v1/responses", content=content, headers=headers, timeout=30)


def _as_gateway_model(body: bytes, model: str) -> bytes:
    sent = body.replace(b'"' + model.encode() + b'"', b'"openai/' + model.encode() + b'"', 1)
    assert sent != body
    return sent


@pytest.mark.parametrize("ex", RESPONSES, ids=lambda ex: ex.name)
def test_bytes_pass_both_ways_unchanged(ex, gateway, api_key, upstream):
    recorded, model = ex.request_bytes(), ex.request_json()["model"]
    upstream.expect(Reply.replay(ex))
    resp = _post(gateway, api_key, _as_gateway_model(recorded, model))
    sent = upstream.received[0]
    assert sent.path_qs == "/openai/v1/responses"
    assert sent.headers["Authorization"] == "Bearer " + UPSTREAM_KEY
    assert sent.body == recorded
    if ex.status in (401, 403):  # the gateway's own upstream key was refused: a 502 naming the provider
        assert resp.status_code == 502 and resp.json()["error"]["type"] == "server_error"
        assert "openai" in resp.json()["error"]["message"]
        return
    assert resp.status_code == ex.status
    assert resp.content == ex.response_bytes()
    if ex.stream and ex.status == 200:
        validate_responses_stream(resp.content, sdk_shapes=False)  # recorded before the SDK's newest members


@pytest.mark.parametrize("ex", OK, ids=lambda ex: ex.name)
def test_the_ledger_has_the_usage_of_response_completed(ex, gateway, api_key, upstream):
    recorded, model = ex.request_bytes(), ex.request_json()["model"]
    upstream.expect(Reply.replay(ex))
    resp = _post(gateway, api_key, _as_gateway_model(recorded, model))
    row = gateway.ledger_row(resp.headers["request-id"])
    terminal = _terminal(ex.response_bytes(), ex.stream)
    usage = terminal["usage"]
    cached = usage["input_tokens_details"]["cached_tokens"]
    assert row["endpoint"] == "responses" and row["provider"] == "openai"
    assert row["input_tokens"] == usage["input_tokens"] - cached
    assert row["output_tokens"] == usage["output_tokens"]
    assert row["stop_reason"] == ("max_tokens" if terminal["status"] == "incomplete" else row["stop_reason"])
    assert row["stop_reason"] in ("end_turn", "tool_use", "max_tokens")


def _terminal(body: bytes, stream: bool) -> dict:
    if not stream:
        return json.loads(body)
    events = validate_responses_stream(body, sdk_shapes=False)
    return events[-1]["response"]


@pytest.mark.recordings
def test_azure_serves_the_responses_api_at_its_v1_path(gateway, api_key, upstream):
    ex = next(ex for ex in OK if ex.case == "text-sync")
    upstream.expect(Reply.replay(ex))
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)
    response = client.responses.create(model="azure/my-gpt4o-deployment", input="Hello")
    sent = upstream.received[0]
    assert sent.path_qs == "/azure/openai/v1/responses"
    assert json.loads(sent.body)["model"] == "my-gpt4o-deployment"
    assert sent.headers["api-key"] == UPSTREAM_KEY
    assert response.id == json.loads(ex.response_bytes())["id"]


@pytest.mark.recordings
def test_gateway_options_leave_the_body_before_it_goes_up(gateway, api_key, upstream):
    ex = next(ex for ex in OK if ex.case == "text-sync")
    upstream.expect(Reply.replay(ex))
    body = {**ex.request_json(), "model": "openai/gpt-4o", "providerOptions": {"gateway": {"tags": ["t1"]}}}
    resp = _post(gateway, api_key, json.dumps(body).encode())
    assert resp.status_code == 200
    sent = json.loads(upstream.received[0].body)
    assert "providerOptions" not in sent and sent["model"] == "gpt-4o"


@pytest.mark.recordings
def test_a_stream_cut_midway_ends_with_response_failed(gateway, api_key, upstream):
    """The upstream's stream stops after its first finished item: the client gets the events it
    sent, then the gateway's `error` and `response.failed`, numbered on from the upstream's, with
    the upstream's response id and the items already done, so the SDK sees a terminal event."""
    ex = next(ex for ex in OK if ex.name == "openai-responses/tools-stream#1")
    recorded, model = ex.response_bytes(), ex.request_json()["model"]
    cut = recorded.index(b"\n\n", recorded.index(b"response.output_item.done")) + 2
    for _ in range(2):
        upstream.expect(Reply(body=recorded[:cut], headers={"content-type": "text/event-stream"}, chunk_size=97))
    oai = openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)
    events = list(oai.responses.create(model="openai/" + model, input="Weather?", stream=True))
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    failed = events[-1].response
    assert failed.status == "failed" and failed.error is not None and failed.error.code == "server_error"
    assert failed.id == events[0].response.id
    assert [item.id for item in failed.output] == [e.item.id for e in events if e.type == "response.output_item.done"]
    resp = _post(gateway, api_key, _as_gateway_model(ex.request_bytes(), model))
    assert validate_responses_stream(resp.content, sdk_shapes=False)[-1]["type"] == "response.failed"
