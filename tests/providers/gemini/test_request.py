"""The Gemini request translation alone: schema cleaning rules, thinking config, turn building."""

from __future__ import annotations

import asyncio

import pytest

from aigateway.errors import InvalidRequest, UpstreamError
from aigateway.ir.messages import parse_request
from aigateway.providers.gemini import signatures
from aigateway.providers.gemini.request import from_ir
from aigateway.providers.gemini.tools import clean_schema
from aigateway.providers.vertex.auth import GoogleToken


def translate(model: str = "gemini-2.5-flash", **body):
    raw = {"model": "gemini/x", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], **body}
    return from_ir(parse_request(raw), model)


def test_schema_cleaning_follows_the_documented_rules():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number", "format": "double"}}}},
        "properties": {
            "where": {"$ref": "#/$defs/Point"},
            "name": {"type": ["string", "null"], "format": "email", "minLength": 1},
            "mode": {"const": "fast"},
            "level": {"type": "integer", "enum": [1, 2, None]},
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 3},
            "count": {"type": "integer", "exclusiveMinimum": 0, "minimum": 1},
            "either": {"oneOf": [{"type": "string"}, {"type": "null"}, {"type": "integer"}]},
            "both": {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]}], "type": "object"},
        },
        "required": ["where", "ghost"],
    }
    assert clean_schema(schema) == {
        "type": "OBJECT",
        "properties": {
            "where": {"type": "OBJECT", "properties": {"x": {"type": "NUMBER", "format": "double"}}},
            "name": {"type": "STRING", "minLength": 1, "nullable": True},
            "mode": {"type": "STRING", "enum": ["fast"]},
            "level": {"type": "STRING", "enum": ["1", "2"], "nullable": True},
            "when": {"type": "STRING", "format": "date-time"},
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "maxItems": 3},
            "count": {"type": "INTEGER", "minimum": 1},
            "either": {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]},
            "both": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["a"]},
        },
        "required": ["where"],
    }


def test_recursive_references_end_in_a_plain_object():
    schema = {"$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}}
    cleaned = clean_schema({**schema, "$ref": "#/$defs/Node"})
    assert cleaned == {"type": "OBJECT", "properties": {"next": {"type": "OBJECT"}}}


@pytest.mark.parametrize(
    ("model", "body", "config"),
    [
        ("gemini-2.5-flash", {"thinking": {"type": "enabled", "budget_tokens": 2048}},
         {"includeThoughts": True, "thinkingBudget": 2048}),
        ("gemini-2.5-flash", {"thinking": {"type": "enabled", "budget_tokens": 31999}},
         {"includeThoughts": True, "thinkingBudget": 24576}),
        ("gemini-2.5-pro", {"thinking": {"type": "disabled"}}, {"thinkingBudget": 128}),
        ("gemini-2.5-flash", {"thinking": {"type": "disabled"}}, {"thinkingBudget": 0}),
        ("gemini-2.5-flash", {"thinking": {"type": "adaptive"}}, {"includeThoughts": True, "thinkingBudget": -1}),
        ("gemini-2.5-pro", {"output_config": {"effort": "low"}}, {"thinkingBudget": 1024}),
        ("gemini-2.5-pro", {"output_config": {"effort": "max"}}, {"thinkingBudget": 32768}),
        ("gemini-3-pro-preview", {"thinking": {"type": "enabled", "budget_tokens": 2048}},
         {"includeThoughts": True, "thinkingLevel": "low"}),
        ("gemini-3-pro-preview", {"thinking": {"type": "adaptive", "display": "omitted"},
                                  "output_config": {"effort": "medium"}}, {"thinkingLevel": "medium"}),
        ("gemini-3-flash", {"thinking": {"type": "disabled"}}, {"thinkingLevel": "low"}),
    ],
)  # fmt: skip
def test_thinking_config_follows_the_table(model, body, config):
    sent, warnings = translate(model, **body)
    assert sent["generationConfig"]["thinkingConfig"] == config
    assert warnings == []


def test_models_without_thinking_name_what_was_dropped():
    sent, warnings = translate("gemini-2.0-flash", thinking={"type": "enabled", "budget_tokens": 2048})
    assert "thinkingConfig" not in sent["generationConfig"]
    assert warnings == ["thinking"]


def test_assistant_turn_carries_signatures_to_their_parts():
    assistant = [
        {"type": "thinking", "thinking": "mulling", "signature": signatures.encode("t", "T1")},
        {"type": "thinking", "thinking": "", "signature": signatures.encode("n", "N1")},
        {"type": "text", "text": "Let me look."},
        {"type": "thinking", "thinking": "", "signature": signatures.encode("n", "N2")},
        {"type": "tool_use", "id": "toolu_gm0123", "name": "look", "input": {"q": 1}},
        {"type": "tool_use", "id": "call_7", "name": "look", "input": {"q": 2}},
        {"type": "thinking", "thinking": "Claude's own", "signature": "EqQBCkgIARAB"},
        {"type": "redacted_thinking", "data": "opaque"},
    ]
    results = [
        {"type": "tool_result", "tool_use_id": "call_7", "content": "two", "is_error": True},
        {"type": "tool_result", "tool_use_id": "toolu_gm0123", "content": [{"type": "text", "text": "one"}]},
        {"type": "text", "text": "thanks"},
    ]
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": assistant},
        {"role": "user", "content": results},
    ]
    sent, warnings = translate(messages=messages)
    assert sent["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "mulling", "thought": True, "thoughtSignature": "T1"},
            {"text": "Let me look.", "thoughtSignature": "N1"},
            {"functionCall": {"name": "look", "args": {"q": 1}}, "thoughtSignature": "N2"},
            {"functionCall": {"name": "look", "args": {"q": 2}, "id": "call_7"}},
        ],
    }
    assert sent["contents"][2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "look", "response": {"error": "two"}, "id": "call_7"}},
            {"functionResponse": {"name": "look", "response": {"output": "one"}}},
            {"text": "thanks"},
        ],
    }
    assert warnings == ["assistant redacted_thinking block"]


def test_what_gemini_cannot_take_is_a_400():
    with pytest.raises(InvalidRequest, match="server tools"):
        translate(tools=[{"type": "web_search_20250305", "name": "web_search"}])
    file_image = {"type": "image", "source": {"type": "file", "file_id": "file_1"}}
    with pytest.raises(InvalidRequest, match=r"messages\.0\.content\.0\.source"):
        translate(messages=[{"role": "user", "content": [file_image]}])


def test_tool_choice_and_parallel_calls():
    tool = {"name": "f", "input_schema": {"type": "object"}}
    sent, warnings = translate(
        tools=[tool], tool_choice={"type": "tool", "name": "f", "disable_parallel_tool_use": True}
    )
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}
    assert warnings == ["tool_choice.disable_parallel_tool_use"]


def test_unreadable_credentials_are_a_502_naming_the_provider(tmp_path):
    token = GoogleToken("vertex", str(tmp_path / "missing.json"))
    with pytest.raises(UpstreamError) as caught:
        asyncio.run(token.token())
    assert caught.value.status == 502 and not caught.value.retryable
    assert "provider 'vertex'" in caught.value.message and "providers.vertex.credentials_file" in caught.value.message


def test_errors_tell_routing_what_happened():
    """A refused key moves on to another provider; a 503 is retried though the client sees 529."""
    from aigateway.errors import classify
    from aigateway.providers.gemini.errors import map_error

    def decide(error, *, more_attempts):
        return classify(error, more_attempts=more_attempts).action

    from tests.support import gemini_recordings

    key = gemini_recordings.recording("error-400-api-key#1")
    refused = map_error("gemini", 400, key.body, {}, "secret", "api_key")
    assert refused.credential_refused and refused.status == 502 and decide(refused, more_attempts=True) == "next"
    busy = map_error("gemini", 503, b'{"error": {"code": 503, "status": "UNAVAILABLE"}}', {}, None, "api_key")
    assert busy.status == 529 and busy.upstream_status == 503 and decide(busy, more_attempts=True) == "retry"
    bad = map_error("gemini", 400, b'{"error": {"code": 400, "status": "INVALID_ARGUMENT"}}', {}, None, "api_key")
    assert decide(bad, more_attempts=True) == "stop"
