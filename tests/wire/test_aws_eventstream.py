"""The AWS event-stream reader: recorded Bedrock streams, split anywhere, give the same frames."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigateway.wire.aws_eventstream import EventStreamDecoder, EventStreamError
from tests.support.bedrock import exception_frame, frame
from tests.support.fixtures import ROOT

STREAMS = sorted((ROOT / "bedrock").glob("*.response.eventstream"))
THINKING = ROOT / "bedrock" / "converse-stream-claude-thinking.response.eventstream"


def _all_at_once(raw: bytes):
    decoder = EventStreamDecoder()
    frames = decoder.feed(raw)
    assert not decoder.pending
    return frames


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.name)
def test_recorded_streams_decode_to_json_events(path):
    frames = _all_at_once(path.read_bytes())
    assert frames[0].name == "messageStart" and frames[-1].name == "metadata"
    assert {f.kind for f in frames} == {"event"}
    for f in frames:
        assert isinstance(json.loads(f.payload), dict)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0), max_size=40))
def test_any_split_gives_the_same_frames(cuts):
    raw = THINKING.read_bytes()
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    decoder = EventStreamDecoder()
    frames = [f for piece in pieces for f in decoder.feed(piece)]
    assert frames == _all_at_once(raw)
    assert not decoder.pending


def test_a_truncated_frame_stays_pending():
    raw = THINKING.read_bytes()
    decoder = EventStreamDecoder()
    assert decoder.feed(raw[:-3]) == _all_at_once(raw)[:-1]
    assert decoder.pending


def test_a_corrupt_frame_is_an_error():
    good = frame({":message-type": "event", ":event-type": "chunk"}, b"{}")
    bad = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(EventStreamError):
        EventStreamDecoder().feed(bad)


def test_exception_frames_are_named_by_their_exception_type():
    (f,) = EventStreamDecoder().feed(exception_frame("throttlingException", "slow down"))
    assert (f.kind, f.name, json.loads(f.payload)) == ("exception", "throttlingException", {"message": "slow down"})
