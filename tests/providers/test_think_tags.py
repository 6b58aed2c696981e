"""`ThinkTags`: reasoning written inline as `<think>...</think>` split from the answer, chunk by
chunk, the same however the content is cut (the JSON answer is the one-chunk case)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.providers.think_tags import ThinkTags

OPEN, CLOSE = "<think>", "</think>"


def split_by(text: str, cuts: list[int]) -> list[tuple[str, str]]:
    """ThinkTags fed `text` cut at `cuts`, then finished."""
    tags, out, last = ThinkTags(), [], 0
    for cut in [*sorted(set(cuts)), len(text)]:
        out += tags.feed(text[last:cut])
        last = cut
    return out + tags.finish()


def reading(pieces: list[tuple[str, str]]) -> tuple[str, str]:
    """(reasoning, answer), checking that no piece is empty and no reasoning follows the answer."""
    assert all(piece for _, piece in pieces), pieces
    kinds = [kind for kind, _ in pieces]
    assert kinds == sorted(kinds, reverse=True), f"reasoning after the answer: {pieces}"  # thinking < text
    return "".join(p for k, p in pieces if k == "thinking"), "".join(p for k, p in pieces if k == "text")


def plain_reading(text: str) -> tuple[str, str]:
    """What the content says, read all at once: a `<think>` opening the content (after leading
    whitespace) starts reasoning, which ends at `</think>` (the newlines after it dropped) or with
    the content; anything else is all answer."""
    body = text.lstrip()
    if not body.startswith(OPEN):
        return "", text
    reasoning, closed, answer = body[len(OPEN) :].partition(CLOSE)
    return reasoning, answer.lstrip("\n") if closed else ""


@pytest.mark.parametrize(
    ("content", "reasoning", "answer"),
    [
        ("<think>Let me add.</think>\n\n4242", "Let me add.", "4242"),
        ("\n  <think>hmm</think>ok", "hmm", "ok"),  # leading whitespace before the tag
        ("4242", "", "4242"),
        ("  4242", "", "  4242"),  # an answer keeps its own leading whitespace
        ("The tag <think> is HTML-like.", "", "The tag <think> is HTML-like."),  # only at the start
        ("<think>no end yet", "no end yet", ""),  # cut off while reasoning: all of it is reasoning
        ("<think>a</think>", "a", ""),
        ("<think></think>\n\nanswer", "", "answer"),
        ("<think>x</think>y</think>", "x", "y</think>"),  # only the first closing tag counts
        ("<thin", "", "<thin"),  # a tag that never completes is answer text
        ("<thinking>", "", "<thinking>"),
        ("<think>a</thi", "a</thi", ""),  # a closing tag that never completes is reasoning
        ("", "", ""),
    ],
)
def test_inline_reasoning_is_split_from_the_answer(content, reasoning, answer):
    assert reading(split_by(content, [])) == (reasoning, answer)
    assert plain_reading(content) == (reasoning, answer)


def test_a_tag_cut_across_chunks_is_held_until_the_next_chunk_decides():
    tags = ThinkTags()
    assert tags.feed("  <thi") == []
    assert tags.feed("nk>reason") == [("thinking", "reason")]
    assert tags.feed("ing</th") == [("thinking", "ing")]
    assert tags.feed("ink>\n\nanswer") == [("text", "answer")]
    assert tags.finish() == []


FRAGMENTS = st.sampled_from([OPEN, CLOSE, "<", "</", "<th", "ink>", "think", ">", "/", "\n", " ", "a", "é", "7"])
CONTENT = st.one_of(
    st.lists(FRAGMENTS, max_size=12).map("".join),
    st.tuples(
        st.sampled_from(["", " ", "\n\n"]),
        st.text(alphabet="ab<>/ \n", max_size=12),
        st.sampled_from([CLOSE, CLOSE + "\n\n", CLOSE + "\n", ""]),
        st.text(alphabet="xy<>/ \n", max_size=12),
    ).map(lambda t: t[0] + OPEN + "".join(t[1:])),
)


@given(CONTENT, st.lists(st.integers(min_value=0, max_value=40), max_size=8))
def test_any_cut_gives_the_reading_of_the_whole_content(text, cuts):
    cuts = [c % (len(text) + 1) for c in cuts]
    assert reading(split_by(text, cuts)) == plain_reading(text)


@given(CONTENT)
def test_every_cut_into_single_characters_gives_the_same_reading(text):
    assert reading(split_by(text, list(range(len(text))))) == plain_reading(text)


@pytest.mark.parametrize(
    "cuts",
    [[len("<think>a</think>")], [len("<think>a</think>\n")], [len("<think>a</think>"), len("<think>a</think>\n\n")]],
)
def test_newlines_after_the_closing_tag_are_dropped_whichever_chunk_they_arrive_in(cuts):
    content = "<think>a</think>\n\nanswer"
    assert reading(split_by(content, cuts)) == ("a", "answer")
