"""The typed Chat Completions wire: every recording of every compatible server decodes into it,
and an answer or chunk of the wrong shape gives the error it always gave, or is read around."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigateway.errors import UpstreamError
from aigateway.ir.events import MessageStop, StreamError
from aigateway.providers.openai import lenient, wire
from aigateway.providers.openai.errors import map_error
from aigateway.providers.openai.profiles import PROFILES
from aigateway.providers.openai.response import read, to_ir
from aigateway.providers.openai.usage import usage_to_ir
from tests.providers.openai.test_stream import assert_grammar, data_lines, decode, fold
from tests.support import fixtures, openai_recordings
from tests.support.openai_recordings import Recording

RECORDINGS = openai_recordings.recordings()
STREAMS = [r for r in RECORDINGS if r.stream and r.status == 200]
ANSWERS = [r for r in RECORDINGS if not r.stream and r.status == 200]
ERRORS = [r for r in RECORDINGS if r.status >= 400]
TEXT = next((r for r in STREAMS if str(r) == "openai-chat/text-stream#1"), None)  # None: no recordings


def text():  # type: ignore[no-untyped-def]
    """The recorded text stream (the test skips where the recordings are absent)."""
    if TEXT is None:
        fixtures.need_recordings()
    return TEXT


PLAIN = b'{"choices":[{"index":0,"message":{"content":"Hello"},"finish_reason":"stop"}]}'

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def completion(body: bytes, kind: str = "openai") -> Any:
    return to_ir(read(body, kind), model="m", provider=kind, profile=PROFILES[kind], stop_sequences=["END"])


def stream(*chunks: str) -> list[Any]:
    body = "".join(f"data: {c}\n\n" for c in chunks).encode()
    return decode(text(), body)


def counts(usage: wire.ChatUsage | None) -> dict[str, int]:
    ir = usage_to_ir(usage)
    assert ir is not None
    return {k: getattr(ir, k) for k in ("input_tokens", "cache_read_input_tokens", "output_tokens")}


def texts(events: list[Any]) -> str:
    message = fold(events)
    return "".join(getattr(b, "text", "") for b in message.content)


@pytest.mark.recordings
def test_the_recordings_cover_every_compatible_server_folder():
    assert {r.directory for r in RECORDINGS} == set(openai_recordings.KINDS)
    assert STREAMS and ANSWERS and ERRORS


@pytest.mark.parametrize("rec", STREAMS, ids=str)
def test_every_recorded_chunk_decodes_strictly(rec: Recording):
    """The typed decoder alone (no lenient retry) takes every chunk, and reads what the dict did."""
    chunks = [msgspec.json.decode(line, type=wire.ChatChunk) for line in data_lines(rec.body) if line != "[DONE]"]
    want = openai_recordings.expected(rec)
    said = [c.delta for chunk in chunks for c in chunk.choices or () if c.delta]
    assert any(d.content or d.reasoning_content or d.reasoning or d.tool_calls for d in said)
    assert [c.finish_reason for chunk in chunks for c in chunk.choices or () if c.finish_reason] == [want.finish_reason]
    usage = next((u for chunk in chunks if (u := chunk.usage or (chunk.x_groq and chunk.x_groq.usage))), None)
    assert (usage is None) == (want.usage is None)
    if usage:
        assert counts(usage) == openai_recordings.anthropic_usage(want.usage)


@pytest.mark.parametrize("rec", ANSWERS, ids=str)
def test_every_recorded_answer_decodes_strictly(rec: Recording):
    answer = msgspec.json.decode(rec.body, type=wire.ChatCompletion)
    want = openai_recordings.expected(rec)
    assert answer.choices and answer.choices[0].finish_reason == want.finish_reason
    assert [(c.id, c.function and c.function.name) for c in answer.choices[0].message.tool_calls or ()] == [
        (i, n) for i, n, _ in want.tool_calls
    ]
    if want.usage:
        assert counts(answer.usage) == openai_recordings.anthropic_usage(want.usage)


@pytest.mark.parametrize("rec", ERRORS, ids=str)
def test_every_recorded_error_decodes_strictly_and_keeps_its_words(rec: Recording):
    body = msgspec.json.decode(rec.body, type=wire.ErrorBody)
    assert isinstance(body.error, wire.ErrorObject) and body.error.message
    error = map_error(rec.kind, rec.status, rec.body, {}, None)
    if rec.status in (401, 403):
        assert error.credential_refused and body.error.message not in str(error)
        return
    raw = json.loads(rec.body)["error"].get("metadata", {}).get("raw")
    assert str(error) == f"{rec.kind}: {body.error.message}" + (f": {raw}" if raw else "")


@pytest.mark.parametrize("rec", [*STREAMS, *ANSWERS], ids=str)
def test_the_lenient_reading_of_a_well_formed_answer_is_the_typed_one(rec: Recording):
    """The fallback path, given what the fast path takes, gives the same Structs."""
    if rec.stream:
        for line in data_lines(rec.body):
            if line != "[DONE]":
                assert lenient.fit(json.loads(line), wire.ChatChunk) == wire.decode_chunk(line)
    else:
        assert lenient.fit(json.loads(rec.body), wire.ChatCompletion) == wire.decode_completion(rec.body)


@pytest.mark.parametrize(
    "body",
    [b"{oops", b"[1]", b"5", b"null", b'"text"', b'{"choices":[]} trailing', b"\xff", PLAIN.replace(b"Hello", b"\xff")],
)
def test_an_answer_that_is_not_a_json_object_is_a_502_naming_the_provider(body: bytes):
    with pytest.raises(UpstreamError, match="'groq' answered with a body that is not JSON") as caught:
        completion(body, "groq")
    assert caught.value.status == 502


@pytest.mark.parametrize(
    "body",
    [b"{}", b'{"choices":null}', b'{"choices":[]}', b'{"choices":[1]}', b'{"choices":[null]}', b'{"choices":"a"}'],
)
def test_an_answer_without_a_choice_is_a_502(body: bytes):
    with pytest.raises(UpstreamError, match="'openai' answered without a choice"):
        completion(body)


def answer(message: Any, **choice: Any) -> bytes:
    return json.dumps({"choices": [{"message": message, **choice}], "usage": "x"}).encode()


@pytest.mark.parametrize("arguments", ["[1]", "{x", [1], 5, True])
def test_tool_arguments_that_are_not_an_object_are_a_502(arguments: Any):
    body = answer({"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": arguments}}]})
    with pytest.raises(UpstreamError, match="tool call arguments that are not a JSON object"):
        completion(body)


def test_tool_arguments_may_come_as_an_object_or_nothing():
    calls = [
        {"id": "a", "function": {"name": "f", "arguments": {"x": 1}}},
        {"id": "b", "function": {"name": "g", "arguments": ""}},
    ]
    message, _ = completion(answer({"tool_calls": calls}))
    assert [(b.id, b.name, b.input) for b in message.content] == [("a", "f", {"x": 1}), ("b", "g", {})]
    assert message.stop_reason == "tool_use"


@pytest.mark.parametrize(
    ("odd", "text"),
    [
        ({"content": 5}, []),
        ({"content": "Hello", "reasoning_content": 7, "refusal": 8}, ["Hello"]),
        ({"content": "Hello", "tool_calls": "ab"}, ["Hello"]),
        ({"content": "Hello", "tool_calls": [1]}, ["Hello"]),
        ({"content": ["Hel", {"type": "text", "text": "Hello"}, {"type": "text", "text": 3}]}, ["Hello"]),
        ({"content": "Hello", "reasoning_details": "ab"}, ["Hello"]),
    ],
)
def test_a_field_of_the_wrong_type_reads_as_absent(odd: dict[str, Any], text: list[str]):
    message, _ = completion(answer(odd, finish_reason="stop"))  # and usage is "x"
    assert [b.text for b in message.content] == text
    assert message.stop_reason == "end_turn" and message.usage.input_tokens == 0


@pytest.mark.parametrize(
    ("said", "stop"),
    [
        ({"stop_reason": "END"}, ("stop_sequence", "END")),  # vLLM
        ({"matched_stop": "END"}, ("stop_sequence", "END")),  # SGLang
        ({"stop_reason": 128001}, ("end_turn", None)),  # a stop token id
        ({"stop_reason": None, "matched_stop": "END"}, ("end_turn", None)),  # vLLM's member decides
    ],
)
def test_vllm_and_sglang_say_which_stop_sequence_matched(said: dict[str, Any], stop: tuple[str, str | None]):
    message, _ = completion(answer({"content": "a"}, finish_reason="stop", **said))
    assert (message.stop_reason, message.stop_sequence) == stop


def test_a_chunk_that_is_not_json_ends_the_stream_in_one_error():
    events = stream(data_lines(text().body)[0], "{oops", *data_lines(text().body)[1:])
    assert isinstance(events[-1], StreamError) and sum(isinstance(e, StreamError) for e in events) == 1
    assert events[-1].message == "Upstream provider 'openai' sent a stream event that is not JSON"


@pytest.mark.parametrize(
    ("error", "said"),
    [('{"message":"boom","code":500}', "boom"), ('"boom"', "boom"), ("5", "5"), ("[1]", "[1]"), ("{}", "None")],
)
def test_an_error_chunk_of_any_shape_ends_the_stream_in_one_error(error: str, said: str):
    lines = data_lines(text().body)
    events = stream(*lines[:2], f'{{"error":{error}}}', *lines[2:])
    assert isinstance(events[-1], StreamError) and sum(isinstance(e, StreamError) for e in events) == 1
    assert events[-1].message == f"Upstream provider 'openai' reported an error mid-stream: {said}"


@pytest.mark.parametrize(
    "odd",
    [
        "[1]",
        "5",
        "null",
        '{"error":null}',
        '{"error":""}',
        '{"choices":"abc"}',
        '{"choices":[1,null]}',
        '{"choices":[{"index":0,"delta":"x"}]}',
        '{"choices":[{"index":0,"delta":{"content":5,"reasoning":7,"refusal":8}}]}',
        '{"choices":[{"index":0,"delta":{"tool_calls":"ab"}}]}',
        '{"choices":[{"index":0,"delta":{"tool_calls":[1]}}]}',
        '{"choices":[{"index":0,"delta":{"reasoning_details":[1,"x"]}}]}',
        '{"choices":[{"index":1,"delta":{"content":"other choice"}}]}',
        '{"choices":[],"x_groq":"x"}',
    ],
)
def test_a_chunk_of_the_wrong_shape_is_read_around(odd: str):
    lines = data_lines(text().body)
    events = stream(*lines[:2], odd, *lines[2:])
    assert_grammar(events)
    assert isinstance(events[-1], MessageStop)
    assert texts(events) == openai_recordings.expected(text()).text


def test_a_choice_without_an_index_is_the_first():
    events = stream(
        '{"choices":[{"delta":{"content":"Hi"}}]}',
        '{"choices":[{"index":1,"delta":{"content":"the second choice"}}]}',
        '{"choices":[{"delta":{},"finish_reason":"stop"}]}',
    )
    assert texts(events) == "Hi" and isinstance(events[-1], MessageStop)


def test_a_tool_call_without_an_index_or_function_is_kept():
    calls = [
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"c1","function":null}]}}]}',
        '{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{\\"a\\":1}"}}]}}]}',
        '{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
    ]
    message = fold(stream(*calls))
    assert [(b.id, b.name, b.input) for b in message.content] == [("c1", "f", {"a": 1})]


def usage_in_an_answer(raw: Any) -> wire.ChatUsage | None:
    completion = wire.decode_completion(msgspec.json.encode({"choices": [], "usage": raw}))
    assert completion is not None
    return completion.usage


def test_usage_reads_into_disjoint_buckets_and_a_member_of_the_wrong_type_as_absent():
    raw = {"prompt_tokens": 100, "completion_tokens": 30, "prompt_tokens_details": {"cached_tokens": 40}}
    assert counts(usage_in_an_answer(raw)) == {"input_tokens": 60, "cache_read_input_tokens": 40, "output_tokens": 30}
    assert usage_to_ir(usage_in_an_answer(None)) is None
    odd = usage_to_ir(
        usage_in_an_answer({"prompt_tokens": "5", "completion_tokens": 2.0, "prompt_tokens_details": "x"})
    )
    assert odd is not None and (odd.input_tokens, odd.output_tokens) == (0, 0)


@settings(max_examples=150, deadline=None)
@given(value=JSON)
def test_any_json_fits_a_wire_struct_or_nothing(value: Any):
    for type_ in (wire.ChatChunk, wire.ChatCompletion, wire.ErrorBody):
        fitted = lenient.fit(value, type_)
        assert (fitted is None) == (not isinstance(value, dict))


def _replace_somewhere(doc: Any, value: Any, path: list[int]) -> Any:
    """`doc` with one member (chosen by `path`) replaced by `value`."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return value
    keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
    key = keys[path[0] % len(keys)]
    doc[key] = _replace_somewhere(doc[key], value, path[1:])
    return doc


@pytest.mark.parametrize(
    "rec", [r for r in STREAMS if r.directory in ("openai-chat", "mistral", "openrouter")], ids=str
)
@settings(max_examples=20, deadline=None)
@given(value=JSON, where=st.integers(0, 10**6), path=st.lists(st.integers(0, 50), max_size=6))
def test_any_value_anywhere_in_a_chunk_never_escapes_as_an_exception(rec: Recording, value: Any, where: int, path):
    lines = data_lines(rec.body)
    i = where % len(lines)
    if lines[i] != "[DONE]":
        lines[i] = json.dumps(_replace_somewhere(json.loads(lines[i]), value, path))
    events = decode(rec, "".join(f"data: {ln}\n\n" for ln in lines).encode())
    assert_grammar(events)
    assert isinstance(events[-1], MessageStop | StreamError)


@pytest.mark.parametrize("rec", ANSWERS, ids=str)
@settings(max_examples=15, deadline=None)
@given(value=JSON, path=st.lists(st.integers(0, 50), max_size=6))
def test_any_value_anywhere_in_an_answer_is_read_or_a_502(rec: Recording, value: Any, path):
    body = json.dumps(_replace_somewhere(json.loads(rec.body), value, path)).encode()
    try:
        completion(body, rec.kind)
    except UpstreamError as exc:
        assert exc.status == 502 and f"'{rec.kind}'" in str(exc)


def test_an_error_body_of_any_shape_gives_a_message():
    assert str(map_error("p", 400, b'{"detail":[{"msg":"field required"}]}', {}, None)) == (
        "p: [{'msg': 'field required'}]"
    )
    assert str(map_error("p", 400, b'{"object":"error","message":"vllm says"}', {}, None)) == "p: vllm says"
    assert str(map_error("p", 404, b'{"error":"model not found"}', {}, None)) == "p: model not found"
    assert str(map_error("p", 400, b'{"error":5,"message":"top"}', {}, None)) == "p: top"
    assert str(map_error("p", 502, b"<html>bad gateway</html>", {}, None)) == "p: <html>bad gateway</html>"
    assert str(map_error("p", 500, b"[1]", {}, None)) == "Upstream provider 'p' answered 500"
    assert str(map_error("p", 500, b'{"error":"\xff"}', {}, None)) == 'p: {"error":"\ufffd"}'
    assert str(map_error("p", 400, PLAIN, {}, None)) == "Upstream provider 'p' answered 400"
