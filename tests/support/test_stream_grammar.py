"""The stream grammar validator: every recorded Anthropic stream passes, and each rule catches a
violation made by editing a real recording (never an invented stream)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import fixtures
from tests.support.stream_grammar import validate_stream

RECORDED = sorted((fixtures.ROOT / "anthropic").glob("*.response.sse"))


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_every_recorded_anthropic_stream_passes(path) -> None:
    events = validate_stream(path.read_bytes())
    assert events[0][0] == "message_start" and events[-1][0] == "message_stop"


@pytest.mark.recordings
def test_recorded_streams_are_there() -> None:
    assert len(RECORDED) >= 8


def test_returns_names_and_json() -> None:
    events = validate_stream(fixtures.exchange("anthropic", "text-stream").response_bytes())
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)


# Mutations of two real recordings, split into their events (these files use LF line ends).
Chunks = list[bytes]


def chunks_of(case: str, number: int = 1) -> Chunks:
    raw = fixtures.exchange("anthropic", case, number).response_bytes()
    assert b"\r" not in raw
    return [c + b"\n\n" for c in raw.split(b"\n\n") if c]


def tools() -> Chunks:
    """text block 0 (with a ping inside), tool_use blocks 1 and 2, message_delta, message_stop."""
    return chunks_of("tools-parallel-stream", 1)


def at(chunks: Chunks, event: str, pattern: str = "", nth: int = 0) -> int:
    """Position of the nth event named `event` whose bytes match `pattern`."""
    found = [
        i
        for i, c in enumerate(chunks)
        if c.startswith(b"event: " + event.encode() + b"\n") and re.search(pattern.encode(), c)
    ]
    return found[nth]


def duplicate_message_start(c: Chunks) -> Chunks:
    return [c[0], c[1], c[0], *c[2:]]


def thinking_delta_into_text(c: Chunks) -> Chunks:
    i = at(c, "content_block_delta", '"index":0')
    c[i] = c[i].replace(b'"type":"text_delta","text":', b'"type":"thinking_delta","thinking":')
    return c


def interleaved_blocks(c: Chunks) -> Chunks:
    start1 = c.pop(at(c, "content_block_start", '"index":1'))
    c.insert(at(c, "content_block_stop", '"index":0'), start1)
    return c


def index_gap(c: Chunks) -> Chunks:
    """Block 1 renumbered 2 (block 2 dropped): nothing else is wrong with it."""
    kept = c[: at(c, "content_block_stop", '"index":1') + 1] + c[at(c, "message_delta") :]
    return [x.replace(b'"index":1', b'"index":2') for x in kept]


def delta_after_stop(c: Chunks) -> Chunks:
    delta = c[at(c, "content_block_delta", '"index":0')]
    c.insert(at(c, "content_block_stop", '"index":0') + 1, delta)
    return c


def delta_to_a_closed_block(c: Chunks) -> Chunks:
    delta = c[at(c, "content_block_delta", '"index":0')]
    c.insert(at(c, "content_block_start", '"index":1') + 1, delta)
    return c


def event_after_message_stop(c: Chunks) -> Chunks:
    return [*c, c[at(c, "ping")]]


def name_differs_from_type(c: Chunks) -> Chunks:
    i = at(c, "content_block_stop", '"index":0')
    c[i] = c[i].replace(b"event: content_block_stop\n", b"event: ping\n")
    return c


def missing_event_line(c: Chunks) -> Chunks:
    i = at(c, "content_block_stop", '"index":0')
    c[i] = c[i].replace(b"event: content_block_stop\n", b"")
    return c


def missing_message_delta(c: Chunks) -> Chunks:
    del c[at(c, "message_delta")]
    return c


def message_delta_inside_block(c: Chunks) -> Chunks:
    c.insert(at(c, "content_block_stop", '"index":2'), c.pop(at(c, "message_delta")))
    return c


def block_after_message_delta(c: Chunks) -> Chunks:
    c.insert(at(c, "content_block_start", '"index":2'), c.pop(at(c, "message_delta")))
    return c


def ping_before_message_start(c: Chunks) -> Chunks:
    return [c[at(c, "ping")], *c]


def broken_tool_arguments(c: Chunks) -> Chunks:
    del c[at(c, "content_block_delta", r'"partial_json":"\{')]  # the fragment that opens the object
    return c


def no_output_tokens(c: Chunks) -> Chunks:
    i = at(c, "message_delta")
    c[i] = re.sub(rb'"output_tokens":\d+', b'"output_tokens":null', c[i])
    return c


def truncated(c: Chunks) -> Chunks:
    return c[: at(c, "content_block_stop", '"index":1')]


def event_after_error(c: Chunks) -> Chunks:
    head = truncated(c)
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    return [*head, error, c[at(c, "ping")]]


def thinking_after_signature(c: Chunks) -> Chunks:
    signature = c.pop(at(c, "content_block_delta", "signature_delta"))
    c.insert(at(c, "content_block_delta", "thinking_delta", nth=3), signature)
    return c


def tool_use_into_text_delta(c: Chunks) -> Chunks:
    i = at(c, "content_block_delta", '"index":1', nth=1)
    c[i] = re.sub(rb'"type":"input_json_delta","partial_json":', b'"type":"text_delta","text":', c[i])
    return c


def thinking() -> Chunks:
    """thinking block 0 (thinking deltas, then one signature_delta), text block 1."""
    return chunks_of("thinking-stream", 1)


def violation(mutate: Callable[[Chunks], Chunks], message: str, source: Callable[[], Chunks] = tools) -> object:
    return pytest.param(source, mutate, message, id=mutate.__name__)


VIOLATIONS = [
    violation(duplicate_message_start, r"#3 \(message_start\): a second message_start"),
    violation(thinking_delta_into_text, r"thinking_delta into text block 0"),
    violation(tool_use_into_text_delta, r"text_delta into tool_use block 1"),
    violation(interleaved_blocks, r"index 1 while block 0 is open \(interleaved"),
    violation(index_gap, r"content_block_start index 2, expected 1"),
    violation(delta_after_stop, r"content_block_delta to index 0 with no open block"),
    violation(delta_to_a_closed_block, r"index 0, but the open block is 1"),
    violation(event_after_message_stop, r"\(ping\): event after message_stop"),
    violation(name_differs_from_type, r"'ping' differs from JSON type 'content_block_stop'"),
    violation(missing_event_line, r"no `event:` line \(type 'content_block_stop'\)"),
    violation(missing_message_delta, r"message_stop without a message_delta"),
    violation(message_delta_inside_block, r"message_delta while block 2 is open"),
    violation(block_after_message_delta, r"index 2\) after message_delta"),
    violation(ping_before_message_start, r"#1 \(ping\): the first event must be message_start"),
    violation(broken_tool_arguments, r"fragments of block 1 are not JSON"),
    violation(no_output_tokens, r"usage.output_tokens must be an integer"),
    violation(truncated, r"without message_stop or error"),
    violation(event_after_error, r"\(ping\): event after error"),
    violation(thinking_after_signature, r"thinking_delta after signature_delta in block 0", thinking),
]


@pytest.mark.parametrize(("source", "mutate", "message"), VIOLATIONS)
def test_each_rule_catches_its_violation(
    source: Callable[[], Chunks], mutate: Callable[[Chunks], Chunks], message: str
) -> None:
    validate_stream(b"".join(source()))  # the recording itself is fine
    with pytest.raises(AssertionError, match=message):
        validate_stream(b"".join(mutate(source())))


def test_a_stream_may_end_with_one_error_event() -> None:
    c = tools()
    error = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
    events = validate_stream(b"".join([*truncated(c), error]))
    assert events[-1][0] == "error"


def test_line_endings_and_missing_final_blank_line_do_not_matter() -> None:
    raw = b"".join(tools())
    validate_stream(raw.replace(b"\n", b"\r\n"))
    validate_stream(raw.rstrip(b"\n"))


ERROR = b'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream went away"}}\n\n'


@given(data=st.data())
def test_any_cut_is_invalid_unless_an_error_event_ends_it(data: st.DataObject) -> None:
    """Cutting a real recording after any whole event: incomplete on its own, fine with an error."""
    c = data.draw(st.sampled_from([tools, thinking]))()
    cut = data.draw(st.integers(min_value=0, max_value=len(c) - 1))
    with pytest.raises(AssertionError, match=r"empty stream|without message_stop or error"):
        validate_stream(b"".join(c[:cut]))
    assert validate_stream(b"".join([*c[:cut], ERROR]))[-1][0] == "error"
