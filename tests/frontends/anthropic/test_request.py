"""Boundary parsing of Messages bodies and the in-place model swap."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aigateway.errors import InvalidRequest
from aigateway.frontends.anthropic.request import MessagesHead, parse_head
from aigateway.wire.body import replace_model
from tests.support import fixtures


def swap(body: bytes, new: str) -> bytes:
    head, _ = parse_head(body, MessagesHead)
    return replace_model(body, head.model, new)


def test_only_the_model_bytes_change():
    body = b'{ "max_tokens" : 5,\n  "model" :  "anthropic/claude-sonnet-4.5" , "messages": [ ] }'
    assert swap(body, "claude-sonnet-4-5") == body.replace(b"anthropic/claude-sonnet-4.5", b"claude-sonnet-4-5")


def test_nested_model_keys_are_left_alone():
    body = (
        b'{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":'
        b'"{\\"model\\": \\"anthropic/x\\"}"}]}],"metadata":{"model":"anthropic/y"},"model":"anthropic/y",'
        b'"max_tokens":1}'
    )
    out = swap(body, "y")
    doc = json.loads(out)
    assert doc["model"] == "y" and doc["metadata"] == {"model": "anthropic/y"}
    assert doc["messages"] == json.loads(body)["messages"]


def test_escaped_model_value_is_found():
    body = b'{"model":"anthropic\\/claude-sonnet-4.5","max_tokens":1,"messages":[]}'
    assert json.loads(swap(body, "claude-sonnet-4-5"))["model"] == "claude-sonnet-4-5"


@pytest.mark.parametrize(
    "name",
    [
        "claude-code-sonnet-first-turn",
        "claude-code-unknown-model-first-turn",
        "claude-code-unknown-model-tool-result-turn",
    ],
)
def test_claude_code_bodies_keep_every_other_byte(name):
    body = json.dumps(fixtures.claude_code_request(name)["body"]).encode()
    model = json.loads(body)["model"]
    out = swap(body, "upstream-id")
    assert out == body.replace(json.dumps(model).encode(), b'"upstream-id"', 1)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=10,
    ),
    st.text(min_size=1, max_size=20),
)
def test_swap_preserves_everything_else(extra, model):
    doc = {"extra": extra, "model": "p/" + model, "max_tokens": 1, "messages": [{"model": "p/" + model}]}
    body = msgspec.json.encode(doc)
    out = json.loads(swap(body, "new"))
    assert out == {**doc, "model": "new"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON"),
        (b"3", "JSON object"),
        (b'{"max_tokens":1,"messages":[]}', "model: Field required"),
        (b'{"model":"a/b","messages":[]}', "max_tokens: Field required"),
        (b'{"model":"a/b","max_tokens":1}', "messages: Field required"),
        (b'{"model":1,"max_tokens":1,"messages":[]}', "model: Input should be a valid string"),
        (b'{"model":"a/b","max_tokens":1,"messages":{}}', "messages: Expected `array`"),
        (b'{"model":"a/b","max_tokens":1,"messages":[],"stream":"yes"}', "stream: Expected `bool"),
    ],
)
def test_errors_name_the_field(body, message):
    with pytest.raises(InvalidRequest) as info:
        parse_head(body, MessagesHead)
    assert message in info.value.message
