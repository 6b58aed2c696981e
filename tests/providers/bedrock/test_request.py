"""Anthropic requests to Converse bodies, field by field.

Where a Converse request was recorded, the Anthropic request a client would send for the same
conversation must translate to exactly the recorded body (messages, system, toolConfig,
inferenceConfig, additionalModelRequestFields). Claude Code's own requests translate too.
"""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest

from aigateway.errors import InvalidRequest
from aigateway.ir.messages import parse_request
from aigateway.providers.bedrock.request import from_ir
from tests.support.fixtures import claude_code_request, exchange

EPHEMERAL = {"type": "ephemeral"}


def translate(body: dict[str, Any], *, claude: bool = False) -> tuple[dict[str, Any], list[str]]:
    return from_ir(parse_request({"model": "bedrock/m", "max_tokens": 100, **body}), "m", claude=claude)


def _tools(recorded: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for tool in recorded["toolConfig"]["tools"]:
        if "toolSpec" in tool:
            spec = tool["toolSpec"]
            out.append({"name": spec["name"], "input_schema": spec["inputSchema"]["json"]})
            if "description" in spec:
                out[-1]["description"] = spec["description"]
    return out


def _same(got: dict[str, Any], recorded: dict[str, Any], max_tokens: int = 100) -> None:
    assert got["messages"] == recorded["messages"]
    assert got.get("system", []) == recorded["system"]
    assert got.get("toolConfig") == recorded.get("toolConfig")
    assert got["inferenceConfig"] == {**recorded["inferenceConfig"], "maxTokens": max_tokens}
    assert got.get("additionalModelRequestFields") == recorded.get("additionalModelRequestFields")


def test_tool_round_trip_matches_the_recorded_converse_request():
    recorded = exchange("bedrock", "converse-stream-tool", 2).request_json()
    assistant = recorded["messages"][1]["content"]
    body, warnings = translate(
        {
            "system": recorded["system"][0]["text"],
            "top_p": 0.5,
            "tools": _tools(recorded),
            "messages": [
                {"role": "user", "content": recorded["messages"][0]["content"][0]["text"]},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": assistant[0]["text"]},
                        {
                            "type": "tool_use",
                            "id": "tooluse_lAG_zP8QRHmSYOwZzzaCqA",
                            "name": "get_temperature",
                            "input": {"city": "Paris"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "tooluse_lAG_zP8QRHmSYOwZzzaCqA", "content": "30°C"}
                    ],
                },
            ],
        }
    )
    _same(body, recorded)
    assert warnings == []


def test_claude_thinking_and_tool_history_match_the_recorded_request():
    recorded = exchange("bedrock", "converse-claude-tool-with-thinking", 2).request_json()
    reasoning = recorded["messages"][1]["content"][0]["reasoningContent"]["reasoningText"]
    body, _ = translate(
        {
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "tools": _tools(recorded),
            "messages": [
                {"role": "user", "content": "What is the largest city in the user country?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": reasoning["text"], "signature": reasoning["signature"]},
                        {"type": "text", "text": recorded["messages"][1]["content"][1]["text"]},
                        {
                            "type": "tool_use",
                            "id": "tooluse_W9DaUFg4Tj2cRPpndqxWSg",
                            "name": "get_user_country",
                            "input": {},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "tooluse_W9DaUFg4Tj2cRPpndqxWSg",
                            "content": [{"type": "text", "text": "Mexico"}],
                        }
                    ],
                },
            ],
        },
        claude=True,
    )
    _same(body, recorded)


def test_redacted_thinking_goes_back_as_the_bytes_bedrock_gave():
    recorded = exchange("bedrock", "converse-claude-redacted-thinking", 2).request_json()
    assistant = recorded["messages"][1]["content"]
    data = base64.b64decode(assistant[0]["reasoningContent"]["redactedContent"]).decode()  # what the client got
    body, _ = translate(
        {
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": [
                recorded_user(recorded, 0),
                {
                    "role": "assistant",
                    "content": [
                        {"type": "redacted_thinking", "data": data},
                        {"type": "text", "text": assistant[1]["text"]},
                    ],
                },
                recorded_user(recorded, 2),
            ],
        },
        claude=True,
    )
    _same(body, recorded)


def recorded_user(recorded: dict[str, Any], i: int) -> dict[str, Any]:
    return {"role": "user", "content": recorded["messages"][i]["content"][0]["text"]}


def test_cache_control_becomes_cache_points_where_recorded():
    recorded = exchange("bedrock", "converse-cache-write-read", 1).request_json()
    content = recorded["messages"][0]["content"]
    tools = _tools(recorded)
    tools[-1]["cache_control"] = EPHEMERAL
    body, warnings = translate(
        {
            "system": [{"type": "text", "text": recorded["system"][0]["text"], "cache_control": EPHEMERAL}],
            "tools": tools,
            "tool_choice": {"type": "auto"},
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": content[0]["text"]},
                        {
                            "type": "document",
                            "source": {
                                "type": "text",
                                "media_type": "text/plain",
                                "data": "You are a great mathematician",
                            },
                        },
                        {"type": "text", "text": "\n", "cache_control": EPHEMERAL},
                        {"type": "text", "text": "What is 10 + 11?", "cache_control": EPHEMERAL},
                    ],
                }
            ],
        },
        claude=True,
    )
    _same(body, recorded)
    assert warnings == []


def test_history_with_tool_calls_but_no_tools_declares_them():
    """Bedrock: "The toolConfig field must be defined when using toolUse and toolResult"."""
    history = [
        {"role": "user", "content": "Run it"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a.txt"}]},
    ]
    body, warnings = translate({"messages": history})
    assert body["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "Bash", "inputSchema": {"json": {"type": "object"}}}}]
    }
    assert warnings == []
    # tool_choice none with tools: the tools stay declared (the history needs them), none is named as dropped
    tools = [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]
    body, warnings = translate({"messages": history, "tools": tools, "tool_choice": {"type": "none"}})
    assert [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"]] == ["Bash"] and "toolChoice" not in body[
        "toolConfig"
    ]
    assert warnings == ["tool_choice.none"]
    # without tool blocks in the history, none leaves the tools out
    body, warnings = translate({"messages": history[:1], "tools": tools, "tool_choice": {"type": "none"}})
    assert "toolConfig" not in body and warnings == []


@pytest.mark.parametrize(
    ("choice", "converse"),
    [
        ({"type": "auto"}, {"auto": {}}),
        ({"type": "any"}, {"any": {}}),
        ({"type": "tool", "name": "f"}, {"tool": {"name": "f"}}),
    ],
)
def test_tool_choice(choice, converse):
    body, _ = translate(
        {
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "tool_choice": choice,
        }
    )
    assert body["toolConfig"]["toolChoice"] == converse


def test_turns_of_one_role_are_merged_and_errors_are_marked():
    body, _ = translate(
        {
            "messages": [
                {"role": "user", "content": "a"},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "t", "content": "bad", "is_error": True}],
                },
            ]
        }
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"text": "a"},
                {"toolResult": {"toolUseId": "t", "content": [{"text": "bad"}], "status": "error"}},
            ],
        }
    ]


def test_images_and_pdfs_inline_and_urls_refused():
    png = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    pdf = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}
    body, _ = translate(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": png},
                        {"type": "document", "source": pdf, "title": "Q3: report.pdf"},
                    ],
                }
            ]
        }
    )
    assert body["messages"][0]["content"] == [
        {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
        {"document": {"format": "pdf", "name": "Q3 report pdf", "source": {"bytes": "JVBERi0x"}}},
    ]
    url = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    with pytest.raises(InvalidRequest, match=r"messages.0.content.0.source: bedrock model 'm' takes images inline"):
        translate({"messages": [{"role": "user", "content": [url]}]})


def test_reasoning_history_is_for_claude_only_and_sampling_maps():
    history = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"}, {"type": "text", "text": "a"}],
        },
        {"role": "user", "content": "q2"},
    ]
    options = {
        "temperature": 0.2,
        "top_k": 5,
        "stop_sequences": ["END"],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
    }
    body, warnings = translate({"messages": history, **options})
    assert body["messages"][1]["content"] == [{"text": "a"}]
    assert body["inferenceConfig"] == {"maxTokens": 100, "temperature": 0.2, "stopSequences": ["END"]}
    assert "additionalModelRequestFields" not in body and warnings == ["top_k", "thinking"]
    body, warnings = translate({"messages": history, **options}, claude=True)
    assert body["messages"][1]["content"][0] == {
        "reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}
    }
    assert body["additionalModelRequestFields"] == {"top_k": 5, "thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert warnings == []


def test_claude_code_tool_result_turn_translates_field_by_field():
    raw = claude_code_request("claude-code-unknown-model-tool-result-turn")["body"]
    body, warnings = translate({k: v for k, v in raw.items() if k != "model"})
    req = parse_request(raw)
    # system: Claude Code's blocks, a cache point after the one marked, then its mid-conversation system turn
    system_blocks = list(raw["system"])
    expected_system = []
    for block in system_blocks:
        expected_system.append({"text": block["text"]})
        if block.get("cache_control"):
            expected_system.append({"cachePoint": {"type": "default"}})
    turn = next(m for m in raw["messages"] if m["role"] == "system")
    turn_text = turn["content"] if isinstance(turn["content"], str) else turn["content"][0]["text"]
    assert body["system"] == [*expected_system, {"text": turn_text}]
    # messages alternate, starting with the user
    roles = [m["role"] for m in body["messages"]]
    assert roles[0] == "user" and all(a != b for a, b in itertools.pairwise(roles))
    use = next(b for m in raw["messages"] if m["role"] == "assistant" for b in m["content"] if b["type"] == "tool_use")
    result = next(
        b
        for m in raw["messages"]
        for b in (m["content"] if isinstance(m["content"], list) else [])
        if b["type"] == "tool_result"
    )
    flat = [b for m in body["messages"] for b in m["content"]]
    assert {"toolUse": {"toolUseId": use["id"], "name": use["name"], "input": use["input"]}} in flat
    converse_result = next(b["toolResult"] for b in flat if "toolResult" in b)
    assert converse_result["toolUseId"] == result["tool_use_id"]
    assert converse_result["status"] == ("error" if result.get("is_error") else "success")
    texts = result["content"] if isinstance(result["content"], str) else "".join(c["text"] for c in result["content"])
    assert "".join(c["text"] for c in converse_result["content"]) == texts
    assert flat[flat.index({"toolResult": converse_result}) + 1] == {"cachePoint": {"type": "default"}}
    # every tool, with its schema
    specs = [t["toolSpec"] for t in body["toolConfig"]["tools"] if "toolSpec" in t]
    assert [(s["name"], s["inputSchema"]["json"]) for s in specs] == [(t.name, t.input_schema) for t in req.tools or []]
    assert body["inferenceConfig"] == {"maxTokens": raw["max_tokens"]}
    # what Converse cannot take from a non-Claude model is named, not silently lost
    assert {"context_management", "metadata.user_id", "thinking", "output_config.effort"} <= set(warnings)
    json.dumps(body)  # plain JSON all the way down


def test_claude_code_first_turn_to_claude_through_converse():
    raw = claude_code_request("claude-code-sonnet-first-turn")["body"]
    body, warnings = translate({k: v for k, v in raw.items() if k != "model"}, claude=True)
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 31999}}
    assert len([t for t in body["toolConfig"]["tools"] if "toolSpec" in t]) == len(raw["tools"])
    cached = [b for b in raw["messages"][0]["content"] if b.get("cache_control")]
    assert sum("cachePoint" in b for b in body["messages"][0]["content"]) == len(cached)
    assert "context_management" in warnings


def test_server_tools_are_a_clear_400():
    with pytest.raises(InvalidRequest, match="cannot run Anthropic server tools"):
        translate(
            {
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            }
        )


def test_a_turn_left_empty_is_dropped_and_its_neighbours_merged():
    history = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": ""}]},
        {"role": "user", "content": "q2"},
    ]
    body, _ = translate({"messages": history})
    assert body["messages"] == [{"role": "user", "content": [{"text": "q"}, {"text": "q2"}]}]
