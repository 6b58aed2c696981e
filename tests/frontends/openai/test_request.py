"""Chat Completions bodies to the core request: Anthropic's structure, and the OpenAI-only knobs
sent on by the Chat Completions adapter but reported dropped by the Anthropic one."""

from __future__ import annotations

import msgspec
import pytest

from aigateway.errors import InvalidRequest
from aigateway.frontends.openai.request import DEFAULT_MAX_TOKENS, to_ir
from aigateway.ir.messages import TextBlock, Thinking, ToolResultBlock, ToolUseBlock
from aigateway.providers.anthropic.request import from_ir as anthropic_body
from aigateway.providers.openai.profiles import PROFILES
from aigateway.providers.openai.request import from_ir as openai_body


def test_roles_alternate_and_tool_results_open_their_turn():
    request, dropped = to_ir(
        {
            "model": "x/y",
            "messages": [
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}
                ]},
                {"role": "user", "content": "interjection"},
                {"role": "tool", "tool_call_id": "c1", "content": "done"},
                {"role": "system", "content": "late rule"},
            ],
            "store": True,
            "metadata": {"k": "v"},
        },
        "x/y",
    )  # fmt: skip
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]
    assert request.messages[0].content == [TextBlock(text="a"), TextBlock(text="b")]
    assert request.messages[1].content == [ToolUseBlock(id="c1", name="f", input={})]
    assert request.messages[2].content == [
        ToolResultBlock(tool_use_id="c1", content="done"),
        TextBlock(text="interjection"),
    ]
    assert request.system == [TextBlock(text="late rule")]
    assert request.max_tokens == DEFAULT_MAX_TOKENS
    assert dropped == ["store", "metadata"]


def test_options_map_to_their_anthropic_fields():
    request, _ = to_ir(
        {
            "model": "x/y",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 50,
            "max_completion_tokens": 3000,
            "stop": ["a", "b"],
            "reasoning_effort": "high",
            "n": 1,
            "seed": 3,
            "presence_penalty": 0.5,
        },
        "x/y",
    )
    assert request.max_tokens == 3000  # max_completion_tokens wins, as at OpenAI
    assert request.stop_sequences == ["a", "b"]
    assert request.thinking == Thinking(type="enabled", budget_tokens=2999)
    assert (request.n, request.seed, request.presence_penalty) == (1, 3, 0.5)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "high", "max_tokens": 1000}, "1024"),
        ({"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"messages": [{"role": "function", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "system", "content": "only rules"}]}, "at least one"),
        ({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "custom"}]}, "tools[0]"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}, "max_tokens"),
        ({"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}]}, "file ids"),
    ],
)
def test_what_cannot_be_carried_is_a_400_naming_it(body, message):
    with pytest.raises(InvalidRequest) as caught:
        to_ir({"model": "x/y", **body}, "x/y")
    assert message in caught.value.message


def test_openai_only_knobs_go_to_chat_upstreams_and_are_named_dropped_for_claude():
    request, _ = to_ir(
        {"model": "x/y", "messages": [{"role": "user", "content": "hi"}], "seed": 4, "n": 2, "logprobs": True},
        "x/y",
    )
    body, warnings = openai_body(request, "gpt-4o", PROFILES["openai"], "openai")
    assert (body["seed"], body["n"], body["logprobs"]) == (4, 2, True)
    assert warnings == []
    with pytest.raises(InvalidRequest, match=r"^n: "):
        anthropic_body(request, "claude-sonnet-4-0")
    request.n = 1
    body, warnings = anthropic_body(request, "claude-sonnet-4-0")
    assert warnings == ["seed", "logprobs"]
    assert "seed" not in body and "n" not in body
    assert msgspec.json.decode(msgspec.json.encode(body))["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]}
    ]


@pytest.mark.parametrize(
    "effort, model, thinking, output_config",
    [
        ("high", "claude-sonnet-4-0", {"type": "enabled", "budget_tokens": 16384}, None),
        ("high", "claude-opus-4-7", {"type": "adaptive"}, {"effort": "high"}),
        ("minimal", "claude-sonnet-4-6", {"type": "adaptive"}, {"effort": "low"}),
        ("xhigh", "claude-opus-4-8", {"type": "adaptive"}, {"effort": "max"}),
        ("none", "claude-opus-4-8", {"type": "disabled"}, None),
    ],
)
def test_reasoning_effort_reaches_claude_in_the_form_its_model_takes(effort, model, thinking, output_config):
    body = {"model": "x/y", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 64000}
    request, _ = to_ir({**body, "reasoning_effort": effort}, "x/y")
    sent, _ = anthropic_body(request, model)
    assert sent["thinking"] == thinking
    assert sent.get("output_config") == output_config


def test_json_object_stays_response_format_for_upstreams_with_a_json_mode():
    body = {"model": "x/y", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}
    request, _ = to_ir(body, "x/y", json_mode=True)
    assert request.response_format == {"type": "json_object"} and request.tools is None
    sent, warnings = openai_body(request, "gpt-4o", PROFILES["openai"], "openai")
    assert sent["response_format"] == {"type": "json_object"} and warnings == []
    request, _ = to_ir(body, "x/y")  # Claude's way: one forced tool
    assert request.response_format is None and request.tool_choice is not None
