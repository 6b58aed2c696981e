"""Token counts: the recipe against recorded OpenAI usage, the Claude Code shapes, robustness."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aigateway.tokens import (
    TokenCount,
    count_header,
    count_openai_chat_tokens,
    count_request_tokens,
    get_encoding,
)
from aigateway.tokens.family import model_family
from tests.support import fixtures

# The recipe is exact for plain chat and function definitions; the tool-call overhead is fitted
# and may be one token off per exchange.
TOLERANCE = 1


def recorded_prompt_tokens(ex: fixtures.Exchange) -> int | None:
    if ex.response_file is None or ex.status != 200:
        return None
    raw = ex.response_bytes()
    if ex.stream:
        found = re.findall(rb'"prompt_tokens":\s*(\d+)', raw)
        return int(found[-1]) if found else None
    usage = json.loads(raw).get("usage") or {}
    return usage.get("prompt_tokens")


OPENAI_WITH_USAGE = [
    ex for ex in fixtures.exchanges("openai-chat") if ex.request_file and recorded_prompt_tokens(ex) is not None
]


@pytest.mark.parametrize("ex", OPENAI_WITH_USAGE, ids=lambda ex: ex.name)
def test_openai_chat_count_matches_recorded_prompt_tokens(ex: fixtures.Exchange) -> None:
    body = ex.request_json()
    recorded = recorded_prompt_tokens(ex)
    assert recorded is not None
    got = count_openai_chat_tokens(body, body["model"])
    if "pdf" in ex.case:
        # PDFs are a per-page guess that errs high on purpose.
        assert not got.exact and recorded <= got.input_tokens <= 10 * recorded
        return
    assert abs(got.input_tokens - recorded) <= TOLERANCE, (got, recorded)


# The same scenario recorded against both APIs (same prompt, same tool, same image): the
# Anthropic-shaped body counted for gpt-4o must give what OpenAI billed for the OpenAI body.
SAME_SCENARIO = [
    ("text-sync", "text-sync"),
    ("max-tokens-stream", "max-tokens-stream"),
    ("tools-parallel-stream", "tools-stream"),
    ("image-input-sync", "image-input-sync"),
    ("prompt-cache-sync", "prompt-cache-sync"),
]


@pytest.mark.parametrize(("anthropic_case", "openai_case"), SAME_SCENARIO)
def test_anthropic_shape_counts_like_openai_billed_it(anthropic_case: str, openai_case: str) -> None:
    body = fixtures.exchange("anthropic", anthropic_case).request_json()
    recorded = recorded_prompt_tokens(fixtures.exchange("openai-chat", openai_case))
    assert recorded is not None
    got = count_request_tokens(body, "gpt-4o")
    assert abs(got.input_tokens - recorded) <= TOLERANCE, (got, recorded)
    assert got.tokenizer == "o200k_base"


CLAUDE_CODE = [
    "claude-code-sonnet-first-turn",
    "claude-code-unknown-model-first-turn",
    "claude-code-unknown-model-tool-result-turn",
]


@pytest.mark.parametrize("name", CLAUDE_CODE)
@pytest.mark.parametrize("model", ["gpt-5", "gpt-4", "deepseek-chat", "meta-llama/llama-3.3-70b-instruct"])
def test_claude_code_requests_count_plausibly(name: str, model: str) -> None:
    body = fixtures.claude_code_request(name)["body"]
    raw = json.dumps(body).encode()
    got = count_request_tokens(raw, model)
    # JSON text runs 2-6 bytes a token; schemas' punctuation is not all counted: a wide but
    # meaningful band around the usual bytes/4.
    assert len(raw) / 12 < got.input_tokens < len(raw) / 2, (got, len(raw))
    assert not got.exact  # nested tool schemas are an extension of the recipe
    assert count_request_tokens(body, model) == got  # dict and bytes agree


def test_counts_are_tiktoken_counts_plus_the_recipe_overhead() -> None:
    enc = get_encoding("o200k_base")
    assert enc.encode("hello world") == [24912, 2375]
    assert get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
    text = "The quick brown fox jumps over the lazy dog. " * 20
    system = "You are terse."
    got = count_request_tokens({"system": system, "messages": [{"role": "user", "content": text}]}, "gpt-4.1")
    direct = (3 + 1 + len(enc.encode(system))) + (3 + 1 + len(enc.encode(text))) + 3
    assert got == TokenCount(direct, "o200k_base", exact=True)
    cl = get_encoding("cl100k_base")
    got = count_request_tokens({"messages": [{"role": "user", "content": text}]}, "gpt-4-0613")
    assert got == TokenCount(3 + 1 + len(cl.encode(text)) + 3, "cl100k_base", exact=True)


def test_text_blocks_count_like_a_string() -> None:
    as_string = {"messages": [{"role": "user", "content": "Hi there"}], "system": "Be brief."}
    as_blocks = {
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi there"}]}],
    }
    assert count_request_tokens(as_string, "gpt-4o") == count_request_tokens(as_blocks, "gpt-4o")


@pytest.mark.parametrize(
    ("model", "encoding", "own"),
    [
        ("gpt-4o", "o200k_base", True),
        ("openai/gpt-4o-mini", "o200k_base", True),
        ("gpt-5-mini", "o200k_base", True),
        ("o3-mini", "o200k_base", True),
        ("gpt-4.1-nano", "o200k_base", True),
        ("gpt-3.5-turbo", "cl100k_base", True),
        ("gpt-4-turbo", "cl100k_base", True),
        ("deepseek-reasoner", "o200k_base", False),
        ("mistral-large-latest", "o200k_base", False),
        ("qwen2.5-coder:32b", "o200k_base", False),
        ("grok-4", "o200k_base", False),
        ("gemma-3-27b-it", "o200k_base", False),
        ("gpt-oss-120b", "o200k_base", False),
    ],
)
def test_model_families(model: str, encoding: str, own: bool) -> None:
    family = model_family(model)
    assert (family.encoding, family.own) == (encoding, own)


def test_header_marks_estimates() -> None:
    exact = count_request_tokens({"messages": [{"role": "user", "content": "hi"}]}, "gpt-4o")
    guess = count_request_tokens({"messages": [{"role": "user", "content": "hi"}]}, "llama-3.1-8b")
    assert count_header(exact) == ("x-aigateway-token-count", "counted; tokenizer=o200k_base")
    assert count_header(guess) == ("x-aigateway-token-count", "estimate; tokenizer=o200k_base")


def test_tool_round_trip_counts_calls_and_results() -> None:
    call = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls -la"}}
    result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "a\nb\n"}]}
    base = {"messages": [{"role": "user", "content": "list files"}]}
    with_call = {"messages": [*base["messages"], {"role": "assistant", "content": [call]}]}
    with_result = {"messages": [*with_call["messages"], {"role": "user", "content": [result]}]}
    counts = [count_request_tokens(b, "gpt-4o").input_tokens for b in (base, with_call, with_result)]
    assert counts[0] < counts[1] < counts[2]


def test_documents_and_unknown_images_are_estimates() -> None:
    pdf = fixtures.exchange("anthropic", "pdf-input-sync").request_json()
    got = count_request_tokens(pdf, "gpt-4o")
    assert not got.exact and got.input_tokens >= 1500
    url_image = fixtures.exchange("anthropic", "image-url-input-sync").request_json()
    got = count_request_tokens(url_image, "gpt-4o")
    assert not got.exact and got.input_tokens > 765
    text_doc = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain words"}}
    got = count_request_tokens({"messages": [{"role": "user", "content": [text_doc]}]}, "gpt-4o")
    assert got.exact


def test_bad_bodies() -> None:
    with pytest.raises(ValueError):
        count_request_tokens(b"[1, 2]", "gpt-4o")
    with pytest.raises(ValueError):
        count_request_tokens(b"{not json", "gpt-4o")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)
BLOCK_TYPES = st.sampled_from(
    ["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use", "x"]
)
BLOCK = st.fixed_dictionaries(
    {"type": BLOCK_TYPES},
    optional={"text": JSON, "source": JSON, "content": JSON, "input": JSON, "name": JSON, "thinking": JSON},
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system"]), "content": st.text(max_size=40) | st.lists(BLOCK | JSON)}
)
BODY = st.fixed_dictionaries(
    {"messages": st.lists(MESSAGE, max_size=4) | JSON},
    optional={"system": JSON, "tools": st.lists(JSON, max_size=3) | JSON},
)


@settings(max_examples=200, deadline=None)
@given(body=BODY, model=st.sampled_from(["gpt-4o", "gpt-4", "o3", "llama-3"]))
def test_any_shaped_body_counts_without_error(body: dict, model: str) -> None:
    got = count_request_tokens(body, model)
    assert got.input_tokens >= 1
    assert count_request_tokens(json.dumps(body).encode(), model) == got


@settings(max_examples=100, deadline=None)
@given(first=st.text(max_size=200), second=st.text(max_size=200))
def test_another_message_always_counts_more(first: str, second: str) -> None:
    one = {"messages": [{"role": "user", "content": first}]}
    two = {"messages": [{"role": "user", "content": first}, {"role": "user", "content": second}]}
    assert count_request_tokens(one, "gpt-4o").input_tokens < count_request_tokens(two, "gpt-4o").input_tokens
