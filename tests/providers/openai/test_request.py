"""Anthropic requests, Claude Code's real ones first, translated to Chat Completions bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import parse_request
from aigateway.providers.openai import opaque
from aigateway.providers.openai.profiles import PROFILES
from aigateway.providers.openai.request import end_user, from_ir
from tests.support.fixtures import claude_code_request

CLAUDE_CODE = [
    "claude-code-sonnet-first-turn",
    "claude-code-unknown-model-first-turn",
    "claude-code-unknown-model-tool-result-turn",
]


def translate(body: dict[str, Any], model: str = "gpt-5", kind: str = "openai") -> tuple[dict[str, Any], list[str]]:
    return from_ir(parse_request(body), model, PROFILES[kind], kind)


def basic(**fields: Any) -> dict[str, Any]:
    return {"model": "openai/gpt-4o", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}], **fields}


@pytest.mark.parametrize("name", CLAUDE_CODE)
def test_claude_code_requests_translate_field_by_field(name):
    body = claude_code_request(name)["body"]
    out, dropped = translate(body)

    assert out["model"] == "gpt-5"
    assert out["max_completion_tokens"] == body["max_tokens"] and "max_tokens" not in out
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert out["user"] == end_user(body["metadata"]["user_id"]) and len(out["user"]) <= 64  # OpenAI's limit
    # system blocks -> one system message, first
    assert out["messages"][0] == {"role": "system", "content": "\n\n".join(b["text"] for b in body["system"])}
    # every tool, schema untouched
    assert [t["function"]["name"] for t in out["tools"]] == [t["name"] for t in body["tools"]]
    for sent, tool in zip(out["tools"], body["tools"], strict=True):
        assert sent["type"] == "function"
        assert sent["function"]["parameters"] == tool["input_schema"]
        assert sent["function"]["description"] == tool["description"]
    # turns: one Chat message per Anthropic turn, except that tool results become tool messages
    turns = out["messages"][1:]
    expected_roles = []
    for msg in body["messages"]:
        content = msg["content"] if isinstance(msg["content"], list) else [{"type": "text"}]
        results = [b for b in content if b["type"] == "tool_result"]
        expected_roles += ["tool"] * len(results)
        if len(results) < len(content):
            expected_roles.append(msg["role"])
    assert [t["role"] for t in turns] == expected_roles
    # reasoning: effort from output_config, else from the thinking budget (31999 -> high)
    assert out["reasoning_effort"] == body.get("output_config", {}).get("effort", "high")
    assert "temperature" not in out  # gpt-5 takes none
    assert "context_management" in dropped
    assert "tools[].defer_loading" in dropped or not any("defer_loading" in t for t in body["tools"])


def test_claude_code_tool_round_trip_keeps_ids_and_input():
    body = claude_code_request("claude-code-unknown-model-tool-result-turn")["body"]
    out, _ = translate(body)
    use = next(b for m in body["messages"] for b in m["content"] if isinstance(b, dict) and b["type"] == "tool_use")
    result = next(
        b for m in body["messages"] for b in m["content"] if isinstance(b, dict) and b["type"] == "tool_result"
    )
    call_msg = next(m for m in out["messages"] if m.get("tool_calls"))
    call = call_msg["tool_calls"][0]
    assert call["id"] == use["id"] and call["function"]["name"] == use["name"]
    assert json.loads(call["function"]["arguments"]) == use["input"]
    assert call_msg["content"] == "Running it."
    tool_msg = next(m for m in out["messages"] if m["role"] == "tool")
    assert tool_msg == {"role": "tool", "tool_call_id": result["tool_use_id"], "content": result["content"]}


def test_system_turn_inside_messages_stays_where_it_is():
    body = claude_code_request("claude-code-unknown-model-first-turn")["body"]
    out, _ = translate(body)
    position = next(i for i, m in enumerate(body["messages"]) if m["role"] == "system")
    assert out["messages"][1 + position]["role"] == "system"


def test_images_base64_and_url():
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    url = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    out, _ = translate(basic(messages=[{"role": "user", "content": [{"type": "text", "text": "Both?"}, image, url]}]))
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "Both?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]


def test_pdf_goes_as_a_file_part_where_the_model_takes_it():
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}}
    out, _ = translate(basic(messages=[{"role": "user", "content": [pdf]}]), "gpt-4o")
    assert out["messages"][0]["content"] == [
        {"type": "file", "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}}
    ]


def test_pdf_to_a_server_without_file_input_is_a_400_naming_model_and_feature():
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}}
    with pytest.raises(InvalidRequest, match=r"messages\.0\.content\.0: groq model 'llama-3\.3-70b' does not take PDF"):
        translate(basic(messages=[{"role": "user", "content": [pdf]}]), "llama-3.3-70b", "groq")


def test_tool_result_error_flag_and_images_are_carried():
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    messages = [
        {"role": "user", "content": "Run it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True, "content": "disk full"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "ok"}, image]},
                {"type": "text", "text": "And now?"},
            ],
        },
    ]
    out, _ = translate(basic(messages=messages), "gpt-4o")
    assert out["messages"][2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "Error: disk full"}
    assert out["messages"][3] == {"role": "tool", "tool_call_id": "toolu_2", "content": "ok"}
    assert out["messages"][4]["role"] == "user"
    assert out["messages"][4]["content"][0]["type"] == "image_url"  # tool messages take text only
    assert out["messages"][4]["content"][1] == {"type": "text", "text": "And now?"}


@pytest.mark.parametrize(
    ("choice", "kind", "expected_choice", "parallel"),
    [
        ({"type": "auto"}, "openai", "auto", None),
        ({"type": "any"}, "openai", "required", None),
        ({"type": "any"}, "mistral", "any", None),
        ({"type": "tool", "name": "f"}, "openai", {"type": "function", "function": {"name": "f"}}, None),
        ({"type": "none"}, "openai", "none", None),
        ({"type": "auto", "disable_parallel_tool_use": True}, "openai", "auto", False),
    ],
)
def test_tool_choice(choice, kind, expected_choice, parallel):
    tools = [{"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {}}}]
    out, _ = translate(basic(tools=tools, tool_choice=choice), "gpt-4o", kind)
    assert out["tool_choice"] == expected_choice
    assert out.get("parallel_tool_calls") == parallel
    assert out["tools"] == [
        {"type": "function", "function": {"name": "f", "parameters": tools[0]["input_schema"], "description": "d"}}
    ]


def test_sampling_stop_and_user():
    out, dropped = translate(
        basic(temperature=0.2, top_p=0.9, top_k=3, stop_sequences=["END"], metadata={"user_id": "u1"}), "gpt-4o"
    )
    assert (out["temperature"], out["top_p"], out["stop"], out["user"]) == (0.2, 0.9, ["END"], "u1")
    assert "top_k" not in out and dropped == ["top_k"]
    out, dropped = translate(basic(top_k=3, metadata={"user_id": "u1"}), "mistral-large", "mistral")
    assert out["max_tokens"] == 100 and "user" not in out and dropped == ["top_k", "metadata.user_id"]


def test_reasoning_models_take_no_temperature():
    out, dropped = translate(basic(temperature=0.2), "o3-mini")
    assert "temperature" not in out and dropped == ["temperature"]


@pytest.mark.parametrize(
    ("thinking", "output_config", "model", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, None, "gpt-5", "low"),
        ({"type": "enabled", "budget_tokens": 10000}, None, "gpt-5", "medium"),
        ({"type": "enabled", "budget_tokens": 31999}, None, "gpt-5", "high"),
        ({"type": "adaptive"}, {"effort": "low"}, "gpt-5", "low"),
        ({"type": "adaptive"}, {"effort": "max"}, "o3", "high"),
        ({"type": "adaptive"}, None, "gpt-5", None),
        ({"type": "disabled"}, None, "gpt-5", "minimal"),
    ],
)
def test_thinking_maps_to_reasoning_effort(thinking, output_config, model, effort):
    fields = {"thinking": thinking} | ({"output_config": output_config} if output_config else {})
    out, _ = translate(basic(**fields), model)
    assert out.get("reasoning_effort") == effort


def test_thinking_for_a_model_without_reasoning_is_dropped_with_a_warning():
    out, dropped = translate(basic(thinking={"type": "enabled", "budget_tokens": 2048}), "gpt-4o")
    assert "reasoning_effort" not in out and dropped == ["thinking"]


def test_openrouter_gets_its_own_reasoning_object():
    out, _ = translate(basic(thinking={"type": "enabled", "budget_tokens": 2048}), "openai/o3", "openrouter")
    assert out["reasoning"] == {"effort": "low"}


def test_deepseek_gets_earlier_reasoning_back_and_openai_does_not():
    history = [
        {"role": "user", "content": "Roll"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I should roll.", "signature": ""},
                {"type": "text", "text": "Rolling."},
                {"type": "tool_use", "id": "call_1", "name": "roll", "input": {}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "4"}]},
    ]
    deepseek, _ = translate(basic(messages=history), "deepseek-reasoner", "deepseek")
    assert deepseek["messages"][1]["reasoning_content"] == "I should roll."
    openai, _ = translate(basic(messages=history), "gpt-4o")
    assert "reasoning_content" not in openai["messages"][1]


def test_server_tools_are_refused_by_name():
    tools = [{"type": "web_search_20250305", "name": "web_search"}]
    with pytest.raises(InvalidRequest, match="cannot run Anthropic server tools \\(web_search\\)"):
        translate(basic(tools=tools), "gpt-4o")


def test_malformed_blocks_are_400s_that_name_the_field():
    with pytest.raises(InvalidRequest, match=r"messages\.0\.content\.0: Object missing required field `tool_use_id`"):
        parse_request(basic(messages=[{"role": "user", "content": [{"type": "tool_result"}]}]))


def test_encrypted_reasoning_goes_back_to_openrouter_as_reasoning_details():
    """known-gateway-bugs row 14: reasoning details must be preserved across turns."""
    item = {"type": "reasoning.encrypted", "data": "gAAAAB", "id": "rs_1", "format": "openai-responses-v1", "index": 0}
    history = [
        {"role": "user", "content": "Who are you"},
        {"role": "assistant", "content": [{"type": "redacted_thinking", "data": opaque.encode([item])}, "I am"]},
        {"role": "user", "content": "And?"},
    ]
    history[1]["content"][1] = {"type": "text", "text": "I am"}
    out, _ = translate(basic(messages=history), "openai/o3", "openrouter")
    assert out["messages"][1] == {"role": "assistant", "content": "I am", "reasoning_details": [item]}
    out, _ = translate(basic(messages=history), "o3")
    assert "reasoning_details" not in out["messages"][1]
