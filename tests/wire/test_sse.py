"""The incremental SSE reader: same events however the bytes are split."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.wire.sse import ServerSentEvent, SSEDecoder, SSEScanner, encode_event
from tests.support import fixtures

Read = tuple[bytes, list[ServerSentEvent]]


def decode_all(chunks: list[bytes], reader: SSEDecoder | SSEScanner | None = None) -> Read:
    """Every chunk fed to `reader` (a new decoder by default), then its end: the bytes and events."""
    dec = reader or SSEDecoder()
    out, events = b"", []
    for chunk in chunks:
        done, evs = dec.feed(chunk)
        out += done
        events += evs
    rest, evs = dec.finish()
    return out + rest, events + evs


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# Every recorded SSE body of every provider: LF, CRLF, padding and comment lines included.
RECORDED = [path.read_bytes() for path in sorted(fixtures.ROOT.glob("*/*.response.sse"))]


@pytest.mark.recordings
@given(st.sampled_from(RECORDED), st.lists(st.integers(min_value=0), max_size=40))
def test_any_split_gives_the_same_events_and_bytes(sse, cuts):
    whole_bytes, whole_events = decode_all([sse])
    bytes_, events = decode_all(split(sse, cuts))
    assert events == whole_events
    assert bytes_ == whole_bytes == sse


def scan_all(chunks: list[bytes], needles: tuple[bytes, ...]) -> Read:
    return decode_all(chunks, SSEScanner(needles))


def in_order(part: list[ServerSentEvent], whole: list[ServerSentEvent]) -> bool:
    rest = iter(whole)
    return all(event in rest for event in part)


NEEDLES = [(b"message_delta", b"message_stop", b"error"), (b"content_block_",), (b"data",), (b"[DONE]", b"usage")]


@pytest.mark.recordings
@given(st.sampled_from(RECORDED), st.lists(st.integers(min_value=0), max_size=40), st.sampled_from(NEEDLES))
def test_the_scanner_relays_the_same_bytes_and_reads_every_event_a_needle_names(sse, cuts, needles):
    """Whatever the split: the same complete bytes as the decoder, and of its events at least
    every one whose name holds a needle, in order, and nothing the decoder did not see."""
    whole_bytes, events = decode_all([sse])
    scanned, picked = scan_all(split(sse, cuts), needles)
    assert scanned == whole_bytes
    named = [e for e in events if e.event is not None and any(n.decode() in e.event for n in needles)]
    assert in_order(named, picked) and in_order(picked, events)


@given(
    st.lists(st.sampled_from([b"event: x", b"event: error", b"data: 1", b": c", b"", b"data: 2"]), max_size=12),
    st.lists(st.sampled_from([b"\n", b"\n", b"\r\n", b"\r"]), min_size=12, max_size=12),
    st.lists(st.integers(min_value=0), max_size=8),
)
def test_the_scanner_on_any_line_endings_and_split(lines, eols, cuts):
    sse = b"".join(line + eol for line, eol in zip(lines, eols, strict=False))
    scanned, picked = scan_all(split(sse, cuts), (b"error",))
    assert scanned == sse
    events = reference_events(sse)
    assert in_order([e for e in events if e.event == "error"], picked) and in_order(picked, events)


def test_the_scanner_leaves_other_events_unread():
    sse = b"event: a\ndata: 1\n\nevent: error\ndata: 2\n\nevent: b\ndata: error\n\n"
    assert scan_all([sse], (b"error",))[1] == [ServerSentEvent("error", "2"), ServerSentEvent("b", "error")]
    assert scan_all([sse], (b"zzz",))[1] == []


@pytest.mark.recordings
def test_recordings_include_other_line_endings():
    assert any(b"\r\n" in sse for sse in RECORDED)


@given(st.lists(st.integers(min_value=0), max_size=10))
def test_crlf_and_cr_line_endings(cuts):
    for eol in (b"\r\n", b"\r", b"\n"):
        lines = [b"event: a", b'data: {"x":1}', b"", b": comment", b"event: b", b"data: 2", b"data: 3", b"", b""]
        sse = eol.join(lines)
        _, events = decode_all(split(sse, cuts))
        assert events == [ServerSentEvent("a", '{"x":1}'), ServerSentEvent("b", "2\n3")]


def test_unicode_line_separator_inside_json_is_not_a_line_break():
    payload = '{"text":"a\u2028b\u2029c\x85d"}'.encode()
    _, events = decode_all([b"event: t\ndata: " + payload + b"\n\n"])
    assert events == [ServerSentEvent("t", payload.decode())]


def test_complete_bytes_stop_at_the_last_whole_event():
    dec = SSEDecoder()
    done, events = dec.feed(b"event: a\ndata: 1\n\nevent: b\nda")
    assert done == b"event: a\ndata: 1\n\n" and [e.event for e in events] == ["a"]
    done, events = dec.feed(b"ta: 2\n\n")
    assert done == b"event: b\ndata: 2\n\n" and events == [ServerSentEvent("b", "2")]


def test_cr_at_chunk_end_waits_for_a_possible_lf():
    dec = SSEDecoder()
    assert dec.feed(b"event: a\r\ndata: 1\r\n\r") == (b"", [])
    done, events = dec.feed(b"\nevent: b")
    assert done == b"event: a\r\ndata: 1\r\n\r\n" and events == [ServerSentEvent("a", "1")]


def test_encode_event_round_trips():
    raw = encode_event("ping", b'{"type":"ping"}')
    assert decode_all([raw]) == (raw, [ServerSentEvent("ping", '{"type":"ping"}')])


@given(
    st.lists(st.sampled_from([b"event: x", b"data: 1", b": c", b"", b"data: 2"]), max_size=12),
    st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=12, max_size=12),
    st.lists(st.integers(min_value=0), max_size=8),
)
def test_mixed_line_endings_any_split(lines, eols, cuts):
    sse = b"".join(line + eol for line, eol in zip(lines, eols, strict=False))
    complete, events = decode_all(split(sse, cuts))
    assert complete == sse
    assert events == reference_events(sse)


def reference_events(sse: bytes) -> list[ServerSentEvent]:
    """The WHATWG algorithm, written plainly over the whole input."""
    events, name, data = [], None, []
    lines = re.split(rb"\r\n|\r|\n", sse)
    for i, line in enumerate(lines):
        if i == len(lines) - 1 and line == b"":
            break  # the split after a final line ending
        if not line:
            if data or name is not None:
                events.append(ServerSentEvent(name, "\n".join(data)))
            name, data = None, []
        elif line.startswith(b"event:"):
            name = line[6:].removeprefix(b" ").decode()
        elif line.startswith(b"data:"):
            data.append(line[5:].removeprefix(b" ").decode())
    if data or name is not None:
        events.append(ServerSentEvent(name, "\n".join(data)))
    return events
