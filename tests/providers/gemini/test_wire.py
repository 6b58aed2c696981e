"""Gemini's answers decoded into wire.py's Structs: every recording reads back what it holds, and an
answer of the wrong shape is a 502 (or one stream error) naming the provider, never a crash."""

from __future__ import annotations

import json

import msgspec
import pytest

from aigateway.errors import UpstreamError
from aigateway.ir.events import ContentBlockDelta, MessageStart, MessageStop, StreamError
from aigateway.providers.gemini import wire
from aigateway.providers.gemini.embeddings import from_gemini
from aigateway.providers.gemini.errors import google_error, map_error
from aigateway.providers.gemini.response import to_ir
from aigateway.providers.gemini.stream import GeminiStreamDecoder
from aigateway.providers.gemini.usage import total_tokens
from tests.support import gemini_recordings as recs

COUNTS = ("promptTokenCount", "cachedContentTokenCount", "candidatesTokenCount", "thoughtsTokenCount")
COUNTS += ("toolUsePromptTokenCount",)


def data_lines(rec: recs.Recording) -> list[bytes]:
    return [line[5:] for line in rec.body.splitlines() if line.startswith(b"data:")]


def read_back(chunks: list[wire.GenerateContentResponse]) -> recs.Expected:
    """What `recs.expected` reads from the raw JSON, read from the Structs instead."""
    got = recs.Expected("", "", [], [], None, {})
    for chunk in chunks:
        if chunk.usage_metadata is not None:
            raw = msgspec.to_builtins(chunk.usage_metadata)
            got.usage = {k: v for k, v in raw.items() if v is not None}
        for candidate in (chunk.candidates or [])[:1]:
            for part in (candidate.content.parts or []) if candidate.content else []:
                if part.thought_signature is not None:
                    got.signatures.append(part.thought_signature)
                if part.function_call is not None:
                    got.calls.append((part.function_call.name, part.function_call.args or {}))
                elif part.thought:
                    got.thinking += part.text or ""
                else:
                    got.text += part.text or ""
            got.finish_reason = candidate.finish_reason or got.finish_reason
    return got


@pytest.mark.parametrize("rec", [r for r in recs.recordings() if r.status == 200], ids=str)
def test_every_answer_and_chunk_decodes_to_what_it_holds(rec):
    if rec.stream:
        chunks: list[wire.GenerateContentResponse] = [wire.CHUNK.decode(d) for d in data_lines(rec)]
        assert chunks and all(c.error is None for c in chunks if isinstance(c, wire.StreamChunk))
    else:
        chunks = [wire.RESPONSE.decode(rec.body)]
    want = recs.expected(rec)
    want.usage = {k: v for k, v in want.usage.items() if k in COUNTS}
    assert read_back(chunks) == want
    assert want.text or want.calls  # the recording does hold something to compare


@pytest.mark.parametrize("rec", [r for r in recs.recordings() if r.status >= 400], ids=str)
def test_every_recorded_error_decodes(rec):
    raw = json.loads(rec.body)["error"]
    error = google_error(rec.body)
    assert (error.code, error.message, error.status) == (raw["code"], raw["message"], raw["status"])
    reasons = [d.get("reason") for d in raw.get("details", [])]
    assert [d.reason for d in error.details or []] == reasons


def test_retry_info_and_the_list_form_of_the_envelope():
    body = recs.retry_info_body()
    error = google_error(body)
    assert [d.retry_delay for d in error.details or [] if d.type and d.type.endswith("RetryInfo")] == ["34.4s"]
    listed = b"[" + body + b"]"
    assert google_error(listed) == error
    assert map_error("gemini", 429, listed, {}, None, "api_key").headers == {"retry-after": "35"}


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b'{"error": "quota"}', b'{"error": {"details": {"reason": "x"}}}', b"[]"],
)
def test_an_error_body_that_is_not_googles_maps_by_http_status(body):
    error = map_error("gemini", 503, body, {"retry-after": "7"}, None, "api_key")
    assert (error.status, error.error_type, error.upstream_status) == (529, "overloaded_error", 503)
    assert error.message == "gemini: " + body.decode() and error.headers == {"retry-after": "7"}


PART = {"text": "hi"}
CANDIDATE = {"content": {"role": "model", "parts": [PART]}, "finishReason": "STOP"}
MALFORMED = {
    "a list": ([CANDIDATE], "Expected `object`, got `array`"),
    "candidates not a list": ({"candidates": 5}, "got `int` - at `$.candidates`"),
    "a part not an object": (
        {"candidates": [{"content": {"parts": ["hi"]}}]},
        "got `str` - at `$.candidates[0].content.parts[0]`",
    ),
    "thought not a bool": (
        {"candidates": [{"content": {"parts": [{"text": "a", "thought": "yes"}]}}]},
        "at `$.candidates[0].content.parts[0].thought`",
    ),
    "args not an object": (
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": [1]}}]}}]},
        "at `$.candidates[0].content.parts[0].functionCall.args`",
    ),
    "usage not an object": ({"candidates": [CANDIDATE], "usageMetadata": [1]}, "at `$.usageMetadata`"),
    "count not an int": (
        {"candidates": [CANDIDATE], "usageMetadata": {"promptTokenCount": "5"}},
        "at `$.usageMetadata.promptTokenCount`",
    ),
}


@pytest.mark.parametrize(("value", "where"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_json_answer_of_the_wrong_shape_is_a_502_naming_the_provider(value, where):
    with pytest.raises(UpstreamError) as caught:
        to_ir(json.dumps(value).encode(), model="gemini/m", provider="gemini")
    assert caught.value.status == 502 and caught.value.provider == "gemini"
    assert caught.value.message.startswith("Upstream provider 'gemini' answered with a body that is not a ")
    assert where in caught.value.message


def test_a_json_answer_that_is_not_json_keeps_its_error():
    with pytest.raises(UpstreamError) as caught:
        to_ir(b"{oops", model="gemini/m", provider="gemini")
    assert caught.value.status == 502
    assert caught.value.message == "Upstream provider 'gemini' answered with a body that is not JSON"


def stream(*payloads: bytes, input_tokens: int = 3) -> tuple[list, GeminiStreamDecoder]:
    decoder = GeminiStreamDecoder(provider="gemini", message_id="msg_1", model="gemini/m", input_tokens=input_tokens)
    body = b"".join(b"data: " + p + b"\r\n\r\n" for p in payloads)
    return decoder.feed(body) + decoder.finish(), decoder


FIRST = json.dumps({"candidates": [{"content": {"parts": [{"text": "so far"}]}}]}).encode()


@pytest.mark.parametrize(("value", "where"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_stream_chunk_of_the_wrong_shape_ends_the_stream_with_one_error(value, where):
    events, decoder = stream(FIRST, json.dumps(value).encode(), json.dumps({"candidates": [CANDIDATE]}).encode())
    assert isinstance(events[0], MessageStart) and isinstance(events[2], ContentBlockDelta)  # what came first stays
    assert events[-1] is decoder.error and sum(isinstance(e, StreamError) for e in events) == 1
    assert not any(isinstance(e, MessageStop) for e in events)
    assert decoder.error.message.startswith(
        "Upstream provider 'gemini' sent a stream event that is not a GenerateContentResponse ("
    )
    assert where in decoder.error.message


def test_a_stream_chunk_that_is_not_json_keeps_its_error():
    events, decoder = stream(FIRST, b"{oops")
    assert decoder.error is not None and events[-1] is decoder.error
    assert decoder.error.message == "Upstream provider 'gemini' sent a stream event that is not JSON"


def test_googles_error_envelope_mid_stream_is_one_error_with_its_message():
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    events, decoder = stream(FIRST, json.dumps(error).encode())
    assert decoder.error is not None and events[-1] is decoder.error
    assert decoder.error.message == "Upstream provider 'gemini' reported an error mid-stream: The model is overloaded."


def test_nulls_and_unknown_fields_read_as_absent():
    noisy = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "hi", "thought": None, "thoughtSignature": None}]},
                "finishReason": "STOP",
                "safetyRatings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"}],
                "citationMetadata": {"citationSources": []},
                "someFieldGoogleAddsLater": {"x": [1, 2]},
            },
        ],
        "promptFeedback": None,
        "usageMetadata": {"promptTokenCount": 4, "cachedContentTokenCount": None, "trafficType": "ON_DEMAND"},
        "modelVersion": "gemini-2.5-flash",
    }
    plain = {"candidates": [CANDIDATE], "usageMetadata": {"promptTokenCount": 4}}
    message, usage = to_ir(json.dumps(noisy).encode(), model="gemini/m", provider="gemini")
    same, same_usage = to_ir(json.dumps(plain).encode(), model="gemini/m", provider="gemini")
    assert (message.content, message.stop_reason, usage) == (same.content, same.stop_reason, same_usage)
    empty = {"candidates": [{"content": None, "finishReason": "STOP"}, {"content": {"parts": None}}]}
    message, _ = to_ir(json.dumps(empty).encode(), model="gemini/m", provider="gemini")
    assert message.content == [] and message.stop_reason == "end_turn"


def test_an_empty_usage_metadata_does_not_wipe_the_counts_so_far():
    counted = {"candidates": [{"content": {"parts": [PART]}}], "usageMetadata": {"promptTokenCount": 9}}
    last = {"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}], "usageMetadata": {}}
    _, decoder = stream(json.dumps(counted).encode(), json.dumps(last).encode())
    assert decoder.usage is not None and decoder.usage.input_tokens == 9
    _, decoder = stream(json.dumps(last).encode(), input_tokens=5)
    assert decoder.usage is not None and decoder.usage.input_tokens == 5  # none at all: the gateway's count


@pytest.mark.parametrize(
    "answer", [b"{oops", b"[31]", b"{}", b'{"totalTokens": null}', b'{"totalTokens": "31"}', b'{"totalTokens": 3.5}']
)
def test_count_tokens_without_a_total_is_a_502(answer):
    with pytest.raises(UpstreamError) as caught:
        total_tokens(answer, "gemini")
    assert caught.value.status == 502
    assert caught.value.message == "Upstream provider 'gemini' answered countTokens without totalTokens"


def test_count_tokens_reads_the_total():
    assert total_tokens(b'{"totalTokens": 31, "promptTokensDetails": [{"modality": "TEXT"}]}', "gemini") == 31


EMBEDDED = {"embeddings": [{"values": [0.5, -1, 2.25]}, {"values": [0]}]}


def embed(body, encoding: str = "float") -> dict:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return from_gemini(raw, model="gemini/e", provider="gemini", encoding=encoding, prompt_tokens=2)


def test_embeddings_read_as_floats_or_base64():
    from_bytes = embed(json.dumps(EMBEDDED).encode())
    assert [d["embedding"] for d in from_bytes["data"]] == [[0.5, -1.0, 2.25], [0.0]]
    assert embed(EMBEDDED, "base64")["data"][1]["embedding"] == "AAAAAA=="  # one little-endian float32 zero


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "answered without embeddings"),
        (b"{oops", "answered without embeddings"),
        ({"embeddings": None}, "answered without embeddings"),
        ({"embeddings": [{"values": [1.0]}, {}]}, "sent an embedding without values"),
        ({"embeddings": [{"values": ["a"]}]}, "is not a BatchEmbedContentsResponse (Expected `float`, got `str`"),
        ([1], "is not a BatchEmbedContentsResponse (Expected `object`, got `array`)"),
    ],
)
def test_embeddings_of_the_wrong_shape_are_a_502(body, message):
    with pytest.raises(UpstreamError) as caught:
        embed(body, "base64")
    assert caught.value.status == 502 and caught.value.message.startswith("Upstream provider 'gemini' ")
    assert message in caught.value.message
