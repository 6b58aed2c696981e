"""`BlockWriter`, the one place blocks are numbered, and `ToolCalls`, which turns indexed tool
call fragments into whole tool_use blocks. Their events are checked the way a client sees them:
wrapped in a message, against the stream grammar (tests/support/stream_grammar.py), and folded."""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.ir.accumulate import MessageAccumulator
from aigateway.ir.events import (
    EVENT_NAMES,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    DeltaUsage,
    Event,
    MessageDelta,
    MessageDeltaBody,
    MessageStart,
    MessageStop,
)
from aigateway.ir.messages import (
    Message,
    OutputBlock,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    WireUsage,
)
from aigateway.providers.blocks import BlockWriter, ToolCalls
from aigateway.wire.sse import encode_event
from tests.support.stream_grammar import validate_stream


def as_client_sees(events: list[Event]) -> list[OutputBlock]:
    """The blocks of a message made of `events`, after checking the stream's grammar."""
    start = Message(
        id="msg_t", model="m", content=[], stop_reason=None, usage=WireUsage(input_tokens=1, output_tokens=0)
    )
    end = MessageDelta(delta=MessageDeltaBody(stop_reason="end_turn"), usage=DeltaUsage(output_tokens=1))
    stream = [MessageStart(message=start), *events, end, MessageStop()]
    validate_stream(b"".join(encode_event(EVENT_NAMES[type(e)], msgspec.json.encode(e)) for e in stream))
    fold = MessageAccumulator()
    for event in stream:
        fold.add(event)
    return fold.result().content


def finished(writer: BlockWriter) -> list[Event]:
    writer.close()
    return writer.take()


# --- BlockWriter ---------------------------------------------------------------------------------


def test_pieces_of_one_kind_make_one_block():
    w = BlockWriter()
    w.text("42")
    w.text("00")
    events = finished(w)
    assert [type(e) for e in events] == [ContentBlockStart, ContentBlockDelta, ContentBlockDelta, ContentBlockStop]
    assert as_client_sees(events) == [TextBlock(text="4200")]


def test_each_new_kind_closes_the_open_block_and_opens_the_next_index():
    w = BlockWriter()
    w.thinking("hmm")
    w.text("so")
    w.thinking("again")
    w.tool_start("call_1", "lookup")
    w.tool_arguments('{"q": 1}')
    w.text("done")
    events = finished(w)
    assert [e.index for e in events if isinstance(e, ContentBlockStart)] == [0, 1, 2, 3, 4]
    assert as_client_sees(events) == [
        ThinkingBlock(thinking="hmm", signature=""),
        TextBlock(text="so"),
        ThinkingBlock(thinking="again", signature=""),
        ToolUseBlock(id="call_1", name="lookup", input={"q": 1}),
        TextBlock(text="done"),
    ]


def test_empty_content_opens_no_block():
    w = BlockWriter()
    w.text("")
    w.thinking("")
    assert finished(w) == []


def test_a_signature_lands_on_the_open_reasoning_or_on_a_thinking_block_of_its_own():
    w = BlockWriter()
    w.thinking("why")
    w.signature("S1")
    w.text("because")
    w.signature("S2")  # nothing to sign: an empty thinking block carries it
    assert as_client_sees(finished(w)) == [
        ThinkingBlock(thinking="why", signature="S1"),
        TextBlock(text="because"),
        ThinkingBlock(thinking="", signature="S2"),
    ]


def test_a_signature_closes_its_block_so_more_reasoning_opens_another():
    w = BlockWriter()
    w.thinking("first")
    w.signature("S1")
    signed = w.take()
    assert w.open is None and signed[-1] == ContentBlockStop(index=0)
    w.thinking("second")
    events = signed + finished(w)  # the grammar refuses a thinking_delta after a signature_delta
    assert as_client_sees(events) == [
        ThinkingBlock(thinking="first", signature="S1"),
        ThinkingBlock(thinking="second", signature=""),
    ]


def test_redacted_reasoning_is_a_whole_block_and_what_follows_opens_another():
    w = BlockWriter()
    w.text("a")
    w.redacted("opaque")
    w.text("b")
    events = finished(w)
    redacted = [e for e in events if getattr(e, "index", None) == 1]
    assert [type(e) for e in redacted] == [ContentBlockStart, ContentBlockStop]  # no deltas
    assert as_client_sees(events) == [TextBlock(text="a"), RedactedThinkingBlock(data="opaque"), TextBlock(text="b")]


def test_events_are_taken_once_and_closing_twice_stops_once():
    w = BlockWriter()
    w.text("x")
    assert len(w.take()) == 2
    assert w.take() == []
    w.close()
    w.close()
    assert w.take() == [ContentBlockStop(index=0)]


def test_tool_arguments_outside_a_tool_block_are_refused():
    w = BlockWriter()
    w.text("x")
    with pytest.raises(AssertionError, match="outside a tool_use block"):
        w.tool_arguments("{}")


ARGS = st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=3)
WRITES = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.text(max_size=4)),
        st.tuples(st.just("thinking"), st.text(max_size=4)),
        st.tuples(st.just("signed"), st.text(min_size=1, max_size=4)),  # a signature, which closes the block
        st.tuples(st.just("redacted"), st.text(min_size=1, max_size=4)),
        st.tuples(st.just("tool"), ARGS, st.lists(st.integers(min_value=0, max_value=30), max_size=3)),
        st.tuples(st.just("close")),
    ),
    max_size=12,
)


def expected_blocks(writes: list[tuple[Any, ...]]) -> list[OutputBlock]:
    """Written apart from BlockWriter: consecutive content of one kind joins the open block, any
    other kind starts a block, a signature ends its reasoning."""
    blocks: list[OutputBlock] = []
    open_kind = None
    for n, (kind, *rest) in enumerate(writes):
        if kind in ("text", "thinking"):
            if rest[0] and open_kind == kind:
                last = blocks[-1]
                if isinstance(last, TextBlock):
                    last.text += rest[0]
                elif isinstance(last, ThinkingBlock):
                    last.thinking += rest[0]
            elif rest[0]:
                blocks.append(
                    TextBlock(text=rest[0]) if kind == "text" else ThinkingBlock(thinking=rest[0], signature="")
                )
                open_kind = kind
        elif kind == "signed":
            if open_kind == "thinking" and isinstance(blocks[-1], ThinkingBlock):
                blocks[-1].signature = rest[0]
            else:
                blocks.append(ThinkingBlock(thinking="", signature=rest[0]))
            open_kind = None
        elif kind == "redacted":
            blocks.append(RedactedThinkingBlock(data=rest[0]))
            open_kind = None
        elif kind == "tool":
            blocks.append(ToolUseBlock(id=f"call_{n}", name="f", input=rest[0]))
            open_kind = "tool"
        else:
            open_kind = None
    return blocks


@given(WRITES)
def test_any_writes_keep_the_grammar_and_fold_into_the_blocks_written(writes):
    w, events = BlockWriter(), []
    for n, (kind, *rest) in enumerate(writes):
        if kind == "text":
            w.text(rest[0])
        elif kind == "thinking":
            w.thinking(rest[0])
        elif kind == "signed":
            w.signature(rest[0])
        elif kind == "redacted":
            w.redacted(rest[0])
        elif kind == "tool":
            arguments = json.dumps(rest[0])
            w.tool_start(f"call_{n}", "f")
            for a, b in _pieces(arguments, rest[1]):
                w.tool_arguments(arguments[a:b])
        else:
            w.close()
        events += w.take()  # taken as it goes, the way decoders hand events on
    events += finished(w)
    assert as_client_sees(events) == expected_blocks(writes)
    starts = [e.index for e in events if isinstance(e, ContentBlockStart)]
    assert starts == list(range(len(starts))) == sorted(e.index for e in events if isinstance(e, ContentBlockStop))


def _pieces(text: str, cuts: list[int]) -> list[tuple[int, int]]:
    points = [0, *sorted({c % (len(text) + 1) for c in cuts}), len(text)]
    return [(a, b) for a, b in itertools.pairwise(points) if b > a]


# --- ToolCalls -----------------------------------------------------------------------------------

Fragment = tuple[int | None, str | None, str | None, str | None]  # (index, id, name, arguments)


def write_calls(fragments: list[Fragment]) -> tuple[list[Event], list[list[Event]]]:
    """All events, and the events each fragment released right away."""
    w = BlockWriter()
    calls = ToolCalls(w)
    released = []
    for fragment in fragments:
        calls.fragment(*fragment)
        released.append(w.take())
    calls.flush()
    return [e for batch in released for e in batch] + finished(w), released


def tool_blocks(events: list[Event]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(b.id, b.name, b.input) for b in as_client_sees(events) if isinstance(b, ToolUseBlock)]


def argument_deltas(events: list[Event]) -> list[str]:
    return [e.delta.partial_json for e in events if isinstance(e, ContentBlockDelta)]


def test_sequential_calls_are_relayed_fragment_by_fragment():
    fragments: list[Fragment] = [
        (0, "call_a", "weather", ""),
        (0, None, None, '{"city": '),
        (0, None, None, '"Paris"}'),
        (1, "call_b", "time", '{"tz": "CET"}'),
    ]
    events, released = write_calls(fragments)
    assert [argument_deltas(batch) for batch in released] == [[], ['{"city": '], ['"Paris"}'], ['{"tz": "CET"}']]
    assert tool_blocks(events) == [("call_a", "weather", {"city": "Paris"}), ("call_b", "time", {"tz": "CET"})]


def test_a_call_streamed_mid_arguments_stays_open_and_closes_when_complete():
    w = BlockWriter()
    calls = ToolCalls(w)
    calls.fragment(0, "call_a", "f", '{"x": ')
    assert calls.close_live() is False  # text arriving now must wait for the call
    calls.fragment(0, None, None, "1}")
    assert calls.close_live() is True
    assert w.take()[-1] == ContentBlockStop(index=0)


def test_calls_that_share_an_index_but_carry_their_own_ids_stay_apart():
    fragments: list[Fragment] = [(0, "call_a", "f", '{"n": 1}'), (0, "call_b", "g", '{"n": 2}')]
    events, _ = write_calls(fragments)
    assert tool_blocks(events) == [("call_a", "f", {"n": 1}), ("call_b", "g", {"n": 2})]


def test_a_call_without_an_id_gets_one_of_its_own():
    events, _ = write_calls([(0, None, "f", "{}"), (1, None, "f", "{}")])
    ids = [call_id for call_id, _, _ in tool_blocks(events)]
    assert all(i.startswith("call_") for i in ids) and len(set(ids)) == 2


def test_a_call_waits_for_an_earlier_call_still_unnamed():
    fragments: list[Fragment] = [(0, "call_a", None, '{"a": 1}'), (1, "call_b", "g", '{"b": 2}'), (0, None, "f", None)]
    events, released = write_calls(fragments)
    assert released[1] == []  # call_b is whole, but call_a came first
    assert tool_blocks(events) == [("call_a", "f", {"a": 1}), ("call_b", "g", {"b": 2})]


def test_a_call_named_after_its_first_fragment_opens_once_named():
    events, released = write_calls([(0, "call_a", None, '{"a"'), (0, None, "f", ": 1}")])
    assert released[0] == []
    assert tool_blocks(events) == [("call_a", "f", {"a": 1})]
    assert argument_deltas(events) == ['{"a"', ": 1}"]


@st.composite
def interleaved_calls(draw: st.DrawFn) -> tuple[list[Fragment], list[tuple[str, str, dict[str, Any]]]]:
    """Parallel calls as servers stream them (the first fragment of each carries its id and name;
    some servers repeat the id on every fragment), each call's fragments in order, the calls'
    fragments shuffled into each other, and the calls in the order they first appear."""
    count = draw(st.integers(min_value=1, max_value=4))
    ids_everywhere = draw(st.booleans())
    queues = []
    for i in range(count):
        arguments = json.dumps(draw(ARGS), separators=(",", ":"))
        pieces = _pieces(arguments, draw(st.lists(st.integers(min_value=0, max_value=40), max_size=4)))
        first: Fragment = (i, f"call_{i}", f"tool_{i}", "")
        rest: list[Fragment] = [(i, f"call_{i}" if ids_everywhere else None, None, arguments[a:b]) for a, b in pieces]
        queues.append([first, *rest])
    fragments: list[Fragment] = []
    while any(queues):
        queue = draw(st.sampled_from([q for q in queues if q]))
        fragments.append(queue.pop(0))
    appearance = [f[0] for f in fragments if f[2] is not None]
    calls = [
        (f"call_{i}", f"tool_{i}", json.loads("".join(f[3] or "" for f in fragments if f[0] == i))) for i in appearance
    ]
    return fragments, calls


@given(interleaved_calls())
def test_interleaved_calls_come_out_whole_with_every_fragment_kept(case):
    fragments, calls = case
    events, _ = write_calls(fragments)
    got = tool_blocks(events)  # also checks the grammar: one block open at a time
    assert got == calls
    assert sorted(argument_deltas(events)) == sorted(f[3] for f in fragments if f[3])


def test_interleaved_calls_come_out_in_the_order_they_first_appear():
    fragments: list[Fragment] = [
        (0, "call_a", "f", '{"x":'),
        (1, "call_b", "g", '{"y":'),
        (2, "call_c", "h", '{"z":'),
        (0, None, None, "1}"),
        (2, None, None, "3}"),
        (1, None, None, "2}"),
    ]
    events, _ = write_calls(fragments)
    assert [call_id for call_id, _, _ in tool_blocks(events)] == ["call_a", "call_b", "call_c"]
