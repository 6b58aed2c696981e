"""The Chat Completions door in front of OpenAI-family upstreams: passthrough.

Every recorded OpenAI exchange is sent through the gateway with `openai/` before its model: the
upstream must get the recorded bytes, and the client the recorded answer, byte for byte; the
official `openai` SDK must read the same thing through the gateway as straight from the upstream.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support import fixtures
from tests.support import openai_recordings as rec_mod
from tests.support.upstream import Reply

CHAT = [ex for ex in fixtures.exchanges("openai-chat") if ex.path_and_query.endswith("/chat/completions")]
SUCCESSES = [ex for ex in CHAT if ex.status == 200]
ERRORS = [ex for ex in CHAT if ex.status >= 400]
COMPATIBLE = [r for r in rec_mod.recordings() if r.status == 200 and r.directory != "openai-chat"]


@pytest.fixture
def oai(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=api_key, max_retries=0)


def _direct(upstream, kind: str = "openai") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{upstream.url}/{kind}/v1", api_key=UPSTREAM_KEY, max_retries=0)


def final_completion(client: openai.OpenAI, **kwargs):
    """The stream helper's accumulated completion (it raises on `length`, carrying it)."""
    with client.chat.completions.stream(**kwargs) as s:
        try:
            return s.get_final_completion()
        except openai.LengthFinishReasonError as exc:
            return exc.completion


def _with_model(body: bytes, model: str, new: str) -> bytes:
    sent = body.replace(b'"' + model.encode() + b'"', b'"' + new.encode() + b'"', 1)
    assert sent != body
    return sent


@pytest.mark.parametrize("ex", SUCCESSES, ids=lambda ex: ex.name)
def test_bytes_pass_both_ways_unchanged(ex, gateway, api_key, upstream):
    recorded = ex.request_bytes()
    model = ex.request_json()["model"]
    upstream.expect(Reply.replay(ex))
    resp = httpx.post(
        gateway.url + "/v1/chat/completions",
        content=_with_model(recorded, model, "openai/" + model),
        headers={"authorization": "Bearer " + api_key, "content-type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 200
    sent = upstream.received[0]
    assert sent.path_qs == "/openai/v1/chat/completions"
    assert sent.headers["Authorization"] == "Bearer " + UPSTREAM_KEY
    if not ex.stream or "stream_options" in ex.request_json():
        assert sent.body == recorded
        assert resp.content == ex.response_bytes()
    else:  # the gateway asked for usage itself: only that member was added
        assert json.loads(sent.body) == {**ex.request_json(), "stream_options": {"include_usage": True}}
    assert resp.headers["x-aigateway-provider"] == "openai"


@pytest.mark.parametrize("ex", SUCCESSES, ids=lambda ex: ex.name)
def test_sdk_reads_the_same_through_the_gateway(ex, oai, upstream):
    body = ex.request_json()
    upstream.expect(Reply.replay(ex), Reply.replay(ex))
    kwargs = {k: v for k, v in body.items() if k not in ("model", "stream")}
    if ex.stream:
        via = final_completion(oai, model="openai/" + body["model"], **kwargs)
        straight = final_completion(_direct(upstream), model=body["model"], **kwargs)
    else:
        via = oai.chat.completions.create(model="openai/" + body["model"], **kwargs)
        straight = _direct(upstream).chat.completions.create(model=body["model"], **kwargs)
    assert via.model_dump() == straight.model_dump()
    assert upstream.received[0].body == upstream.received[1].body


@pytest.mark.parametrize("rec", COMPATIBLE, ids=str)
def test_compatible_servers_pass_through(rec, oai, gateway, upstream):
    content_type = "text/event-stream" if rec.stream else "application/json"
    reply = Reply(body=rec.body, headers={"content-type": content_type}, chunk_size=41 if rec.stream else None)
    upstream.expect(reply)
    messages = [{"role": "user", "content": "Hello"}]
    raw = oai.chat.completions.with_raw_response.create(
        model=f"{rec.kind}/{rec.model}", messages=messages, stream=rec.stream
    )
    if rec.stream:
        got = b"".join(raw.http_response.iter_bytes())
        # Asked for usage by the gateway (the client did not): that chunk and "usage":null go.
        assert b'"usage":null' not in got
        kept = [c for c in rec.body.split(b"\n\n") if c.startswith(b"data:") and b'"choices":[]' not in c]
        assert got.count(b"data: ") == len(kept)
    else:
        assert raw.http_response.content == rec.body
    assert json.loads(upstream.received[0].body)["model"] == rec.model
    want = rec_mod.expected(rec)
    row = gateway.ledger_row(raw.headers["request-id"])
    if want.usage and not want.error:  # the usage the recording reports, tapped for the ledger
        usage = rec_mod.anthropic_usage(want.usage)
        assert (row["input_tokens"], row["output_tokens"]) == (usage["input_tokens"], usage["output_tokens"])


def test_usage_asked_for_by_the_gateway_is_not_relayed_but_recorded(oai, gateway, upstream):
    ex = fixtures.exchange("openai-chat", "text-stream")
    upstream.expect(Reply.replay(ex))
    raw = oai.chat.completions.with_raw_response.create(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "What is 4200 + 42?"}], stream=True
    )
    chunks = list(raw.parse())
    assert all(c.usage is None and c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == _recorded_text(ex.response_bytes())
    sent = json.loads(upstream.received[0].body)
    assert sent["stream_options"] == {"include_usage": True}
    row = gateway.ledger_row(raw.headers["request-id"])
    assert (row["input_tokens"], row["output_tokens"]) == (16, 10)  # the recording's usage chunk
    assert row["endpoint"] == "chat_completions" and row["streamed"] == 1
    assert row["stop_reason"] == "end_turn" and row["provider"] == "openai"


def test_stream_options_without_include_usage_still_get_usage_tapped(oai, gateway, upstream):
    ex = fixtures.exchange("openai-chat", "text-stream")
    upstream.expect(Reply.replay(ex))
    raw = oai.chat.completions.with_raw_response.create(
        model="openai/gpt-4o",
        messages=[{"role": "user", "content": "What is 4200 + 42?"}],
        stream=True,
        stream_options={"include_usage": False, "include_obfuscation": True},
    )
    assert all(c.usage is None and c.choices for c in raw.parse())
    sent = json.loads(upstream.received[0].body)
    assert sent["stream_options"] == {"include_usage": True, "include_obfuscation": True}
    row = gateway.ledger_row(raw.headers["request-id"])
    assert (row["input_tokens"], row["output_tokens"]) == (16, 10)


def _recorded_text(sse: bytes) -> str:
    out = []
    for line in sse.decode().splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:])["choices"]:
                out.append(choice["delta"].get("content") or "")
    return "".join(out)


@pytest.mark.parametrize("ex", [e for e in SUCCESSES if not e.stream], ids=lambda ex: ex.name)
def test_ledger_row_has_the_upstream_usage(ex, oai, gateway, upstream):
    body = ex.request_json()
    upstream.expect(Reply.replay(ex))
    kwargs = {k: v for k, v in body.items() if k not in ("model", "stream")}
    raw = oai.chat.completions.with_raw_response.create(model="openai/" + body["model"], **kwargs)
    usage = json.loads(ex.response_bytes())["usage"]
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    row = gateway.ledger_row(raw.headers["request-id"])
    assert row["input_tokens"] == usage["prompt_tokens"] - cached
    assert row["cache_read_tokens"] == cached
    assert row["output_tokens"] == usage["completion_tokens"]
    assert row["model"] == "openai/" + body["model"] and row["upstream_model"] == body["model"]


@pytest.mark.parametrize("ex", ERRORS, ids=lambda ex: ex.name)
def test_upstream_errors_pass_through_unchanged(ex, gateway, api_key, upstream):
    body = ex.request_json()
    upstream.expect(Reply.replay(ex))
    resp = httpx.post(
        gateway.url + "/v1/chat/completions",
        json={**body, "model": "openai/" + body["model"]},
        headers={"authorization": "Bearer " + api_key},
        timeout=30,
    )
    row = gateway.ledger_row(resp.headers["request-id"])
    if ex.status == 401:  # the gateway's own key was refused: never the client's fault or business
        assert resp.status_code == row["status"] == 502
        error = resp.json()["error"]
        assert error["type"] == "server_error" and "provider 'openai'" in error["message"]
        assert b"invalid-*****" not in resp.content and resp.headers["x-should-retry"] == "false"
        return
    assert resp.status_code == ex.status
    assert resp.content == ex.response_bytes()
    assert row["status"] == ex.status


@pytest.mark.parametrize("options", [{"gateway": {"order": ["openai"]}}, {}])
def test_provider_options_never_reach_the_upstream(options, oai, upstream):
    ex = fixtures.exchange("openai-chat", "text-sync")
    upstream.expect(Reply.replay(ex))
    oai.chat.completions.create(
        model="openai/gpt-4o", messages=[{"role": "user", "content": "Hi"}], extra_body={"providerOptions": options}
    )
    sent = json.loads(upstream.received[0].body)
    assert "providerOptions" not in sent and sent["model"] == "gpt-4o"


def test_azure_gets_its_deployment_path(oai, upstream):
    ex = fixtures.exchange("openai-chat", "text-sync")
    upstream.expect(Reply.replay(ex))
    oai.chat.completions.create(model="azure/prod-gpt4o", messages=[{"role": "user", "content": "Hi"}])
    sent = upstream.received[0]
    assert sent.path_qs == "/azure/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21"
    assert sent.headers["api-key"] == UPSTREAM_KEY
