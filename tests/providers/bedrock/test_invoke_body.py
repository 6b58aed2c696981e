"""The InvokeModel body edits, byte for byte, on bodies a JSON walk could get wrong."""

from __future__ import annotations

import json

import pytest

from aigateway.errors import InvalidRequest
from aigateway.providers.bedrock.invoke import count_tokens_body, invoke_body
from aigateway.providers.bedrock.models import bare_id, foundation_id, is_claude, is_invoke, model_path

SIGNATURE = r"EqQBCkYIARgCIkB\/x+\"quoted\"\\ \u2028 end"


def test_members_keep_their_bytes_and_only_bedrocks_edits_are_made():
    body = (
        b'{ "model" : "us.anthropic.claude-sonnet-4-5-20250929-v1:0",\n'
        b'  "messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "a \\"model\\": x",'
        b' "signature": "' + SIGNATURE.encode() + b'"}]}],\n'
        b'  "max_tokens":10 , "stream" :true, "tools": [{"name": "f\\"\\\\", "input_schema": {"model": "x"}}] }'
    )
    out = invoke_body(body, "a-2025-01-01, b-2025-02-02")
    assert out.model == "us.anthropic.claude-sonnet-4-5-20250929-v1:0" and out.stream is True
    assert out.body == (
        b'{"messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "a \\"model\\": x",'
        b' "signature": "' + SIGNATURE.encode() + b'"}]}],'
        b'"max_tokens":10,'
        b'"tools": [{"name": "f\\"\\\\", "input_schema": {"model": "x"}}],'
        b'"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["a-2025-01-01","b-2025-02-02"]}'
    )
    assert json.loads(out.body)["messages"][0]["content"][0]["signature"] == json.loads(f'"{SIGNATURE}"')


def test_the_clients_own_version_and_betas_are_kept_and_header_flags_added():
    body = b'{"model":"anthropic.claude-v2","anthropic_version":"bedrock-2023-05-31",'
    body += b'"anthropic_beta":["x"],"max_tokens":1}'
    out = invoke_body(body, "x,y")
    assert json.loads(out.body) == {
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["x", "y"],
        "max_tokens": 1,
    }
    assert out.stream is False


def test_duplicate_keys_fall_back_to_the_raw_values():
    out = invoke_body(b'{"model":"m","max_tokens":1,"max_tokens":2,"messages":[]}', None)
    assert json.loads(out.body) == {"max_tokens": 2, "messages": [], "anthropic_version": "bedrock-2023-05-31"}


def test_a_body_without_model_is_a_400():
    with pytest.raises(InvalidRequest, match="model"):
        invoke_body(b'{"messages":[]}', None)


def test_count_tokens_body_wraps_an_invoke_body():
    model, body = count_tokens_body(b'{"model":"eu.anthropic.claude-haiku-4-5-20251001-v1:0","messages":[]}', None)
    assert model == "eu.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert foundation_id(model) == "anthropic.claude-haiku-4-5-20251001-v1:0"
    assert set(json.loads(body)["input"]["invokeModel"]) == {"body"}


@pytest.mark.parametrize(
    ("model", "invoke", "claude"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", True, True),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", True, True),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", True, True),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-4-1-20250805-v1:0",
            True,
            True,
        ),
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", False, False),
        ("invoke/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", True, False),
        ("converse/us.anthropic.claude-sonnet-4-20250514-v1:0", False, True),
        ("us.amazon.nova-micro-v1:0", False, False),
        ("meta.llama3-70b-instruct-v1:0", False, False),
    ],
)
def test_which_api_serves_a_model(model, invoke, claude):
    assert is_invoke(model) is invoke
    assert is_claude(model) is claude


def test_model_ids_are_percent_encoded_in_the_path():
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    assert model_path("invoke/" + arn, "invoke") == (
        "model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fa1b2c3/invoke"
    )
    assert bare_id("converse/x") == "x"
