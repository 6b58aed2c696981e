"""Vertex AI: Claude passed through (rawPredict / streamRawPredict), Gemini translated, and the
OAuth tokens: real google-auth code signing a JWT with a real service-account key, exchanged at
the fake upstream's token endpoint, cached, and refreshed once it goes stale.
"""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import msgspec
import pytest

from aigateway.providers.registry import DESCRIPTORS
from aigateway.providers.vertex.client import VertexProvider
from aigateway.providers.vertex.config import VertexConfig
from tests.conftest import VERTEX_SHORT_LIFETIME
from tests.support import fixtures
from tests.support import gemini_recordings as recs
from tests.support.gemini_recordings import anthropic_stop_reason, anthropic_usage, expected
from tests.support.stream_grammar import validate_stream
from tests.support.upstream import Reply

CLAUDE = [
    ex
    for ex in fixtures.exchanges("anthropic")
    if ex.status == 200 and ex.path_and_query.startswith("/v1/messages") and "count_tokens" not in ex.url
]
MODEL = "claude-sonnet-4-5@20250929"
PREFIX = "/vertex/v1/projects/test-project/locations/us-east5/publishers"
PROMPT = [{"role": "user", "content": "Hello"}]


def members(body: bytes) -> dict[str, bytes]:
    """Each top-level member's value, as the exact bytes it has in `body`."""
    return {k: bytes(v) for k, v in msgspec.json.decode(body, type=dict[str, msgspec.Raw]).items()}


def bearer(upstream, received) -> str:
    token = received.headers["Authorization"].removeprefix("Bearer ")
    assert token in [t.token for t in upstream.tokens.issued if t.email.startswith("vertex@")]
    return token


@pytest.mark.parametrize("ex", CLAUDE, ids=lambda ex: ex.name)
def test_claude_body_reaches_vertex_with_only_model_and_version_changed(ex, vertex_gateway, vertex_key, upstream):
    recorded = ex.request_bytes()
    model = ex.request_json()["model"].encode()
    sent = recorded.replace(b'"' + model + b'"', b'"vertex/' + MODEL.encode() + b'"', 1)
    upstream.expect(Reply.replay(ex))
    headers = {"x-api-key": vertex_key, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    headers["anthropic-beta"] = "interleaved-thinking-2025-05-14"
    resp = httpx.post(vertex_gateway.url + ex.path_and_query, content=sent, timeout=30, headers=headers)
    assert resp.status_code == 200, resp.text

    got = upstream.received[0]
    method = "streamRawPredict" if ex.stream else "rawPredict"
    assert got.path_qs == f"{PREFIX}/anthropic/models/{MODEL}:{method}"
    bearer(upstream, got)
    assert got.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert "anthropic-version" not in got.headers and "x-api-key" not in got.headers
    ours, theirs = members(got.body), members(recorded)
    assert ours.pop("anthropic_version") == b'"vertex-2023-10-16"'
    theirs.pop("model")
    assert ours == theirs  # every other member byte for byte: thinking signatures included
    assert len(got.body) < len(recorded) + 40  # and nothing re-serialized around them
    assert resp.content == ex.response_bytes()  # the answer relayed as is
    if ex.stream:
        validate_stream(resp.content)


def test_catalog_claude_model_is_served_by_vertex_with_vertex_id(vertex_client, upstream):
    """With only Vertex configured, `anthropic/claude-sonnet-4.5` goes to Vertex as its own id."""
    ex = fixtures.exchange("anthropic", "text-sync")
    upstream.expect(Reply.replay(ex))
    raw = vertex_client.messages.with_raw_response.create(
        model="anthropic/claude-sonnet-4.5", max_tokens=10, messages=PROMPT
    )
    assert raw.parse().content[0].text == json.loads(ex.response_bytes())["content"][0]["text"]
    assert raw.headers["x-aigateway-provider"] == "vertex"
    assert upstream.received[0].path_qs == f"{PREFIX}/anthropic/models/{MODEL}:rawPredict"


def test_claude_thinking_signatures_reach_vertex_byte_identical(vertex_gateway, vertex_key, upstream):
    ex = fixtures.exchange("anthropic", "thinking-sync-multiturn", 2)
    recorded = ex.request_bytes()
    sent = recorded.replace(b'"' + ex.request_json()["model"].encode() + b'"', b'"vertex/' + MODEL.encode() + b'"', 1)
    upstream.expect(Reply.replay(ex))
    httpx.post(vertex_gateway.url + "/v1/messages", content=sent, timeout=30, headers={"x-api-key": vertex_key})
    signatures = [b["signature"] for m in ex.request_json()["messages"] for b in m["content"] if "signature" in b]
    assert signatures
    for signature in signatures:
        assert json.dumps(signature).encode() in upstream.received[0].body


def test_claude_count_tokens_goes_to_vertex_counter(vertex_client, upstream):
    ex = fixtures.exchange("anthropic", "count-tokens", 1)
    body = ex.request_json()
    upstream.expect(Reply.replay(ex))
    counted = vertex_client.messages.count_tokens(model=f"vertex/{MODEL}", messages=body["messages"])
    assert counted.input_tokens == json.loads(ex.response_bytes())["input_tokens"]
    got = upstream.received[0]
    assert got.path_qs == f"{PREFIX}/anthropic/models/count-tokens:rawPredict"
    sent = json.loads(got.body)
    assert sent["model"] == MODEL and sent["anthropic_version"] == "vertex-2023-10-16"


def test_claude_anthropic_error_is_relayed_and_google_error_is_mapped(vertex_client, upstream):
    ex = fixtures.exchange("anthropic", "error-400-invalid-request")
    upstream.expect(Reply.replay(ex))
    with pytest.raises(anthropic.BadRequestError) as caught:
        vertex_client.messages.create(model=f"vertex/{MODEL}", max_tokens=10, messages=PROMPT)
    assert caught.value.body == json.loads(ex.response_bytes())
    denied = {"error": {"code": 403, "message": "Permission denied on resource project", "status": "PERMISSION_DENIED"}}
    upstream.expect(Reply(status=403, body=json.dumps(denied).encode(), headers={"content-type": "application/json"}))
    with pytest.raises(anthropic.APIStatusError) as caught:
        vertex_client.messages.create(model=f"vertex/{MODEL}", max_tokens=10, messages=PROMPT)
    assert caught.value.status_code == 502
    assert "provider 'vertex'" in caught.value.message and "providers.vertex.credentials_file" in caught.value.message


@pytest.mark.parametrize("mode", ["create", "stream"])
@pytest.mark.parametrize("rec", [r for r in recs.recordings() if r.status == 200], ids=str)
def test_gemini_on_vertex(rec, mode, vertex_client, upstream):
    want = expected(rec)
    content_type = rec.exchange.content_type
    upstream.expect(Reply(body=rec.body, headers={"content-type": content_type}, chunk_size=31 if rec.stream else None))
    params = {"model": f"vertex/{rec.model}", "max_tokens": 1000, "messages": PROMPT}
    if mode == "stream":
        with vertex_client.messages.stream(**params) as s:
            message = s.get_final_message()
    else:
        message = vertex_client.messages.create(**params)
    assert "".join(b.thinking for b in message.content if b.type == "thinking") == want.thinking
    assert "".join(b.text for b in message.content if b.type == "text") == want.text
    assert [(b.name, b.input) for b in message.content if b.type == "tool_use"] == want.calls
    assert message.stop_reason == anthropic_stop_reason(want)
    assert message.usage.output_tokens == anthropic_usage(want.usage)["output_tokens"]
    got = upstream.received[0]
    method = "streamGenerateContent?alt=sse" if mode == "stream" else "generateContent"
    assert got.path_qs == f"{PREFIX}/google/models/{rec.model}:{method}"
    bearer(upstream, got)
    assert "x-goog-api-key" not in got.headers


def test_token_is_reused_until_stale_then_refreshed(vertex_client, upstream):
    rec = recs.recording("text-sync#1")
    reply = Reply(body=rec.body, headers={"content-type": "application/json"})

    def ask() -> str:
        upstream.expect(reply)
        vertex_client.messages.create(model="vertex_short/gemini-2.5-flash", max_tokens=10, messages=PROMPT)
        return upstream.received[-1].headers["Authorization"].removeprefix("Bearer ")

    def issued() -> list[str]:
        return [t.token for t in upstream.tokens.issued if t.email.startswith("vertex_short@")]

    first = ask()
    assert first == issued()[-1]
    assert ask() == first  # still fresh: the same token, no new grant
    count = len(issued())
    time.sleep(VERTEX_SHORT_LIFETIME - 225 + 0.5)  # past google-auth's refresh threshold
    second = ask()
    assert second != first and second == issued()[-1] and len(issued()) == count + 1


@pytest.mark.parametrize(
    ("location", "host"),
    [("us-east5", "https://us-east5-aiplatform.googleapis.com/v1"), ("global", "https://aiplatform.googleapis.com/v1")],
)
def test_location_picks_the_regional_or_global_endpoint(location, host):
    config = VertexConfig(type="vertex", base_url=DESCRIPTORS["vertex"].base_url, project="p", location=location)
    provider = VertexProvider("vertex", config)
    assert provider.config.base_url == host
    assert provider.wire_for("claude-opus-4-1@20250805") == "anthropic"
    assert provider.wire_for("gemini-2.5-pro") == "gemini"
