"""The two byte edits Claude on Vertex needs, wherever the client put `model`."""

from __future__ import annotations

import json

import pytest

from aigateway.providers.vertex.body import to_vertex

VERSION = b'"anthropic_version":"vertex-2023-10-16"'


@pytest.mark.parametrize(
    ("body", "want"),
    [
        (b'{"model":"m","max_tokens":5}', b"{" + VERSION + b',"max_tokens":5}'),
        (b'{"max_tokens":5, "model": "m"}', b"{" + VERSION + b',"max_tokens":5}'),
        (b'{"a":1,\n  "model" : "m",\n  "b":2}', b"{" + VERSION + b',"a":1,\n  "b":2}'),
        (b'{"model":"m"}', b"{" + VERSION + b"}"),
        (b' {\n "model": "m"\n}', b" {" + VERSION + b"\n \n}"),  # only whitespace left where it was
    ],
)
def test_model_is_cut_out_and_the_version_put_in(body, want):
    assert to_vertex(body) == want
    assert "model" not in json.loads(to_vertex(body))


def test_a_nested_model_key_is_left_alone():
    body = b'{"tools":[{"input_schema":{"properties":{"model":{"type":"string"}}}}],"model":"m","x":"\\"model\\""}'
    out = to_vertex(body)
    assert (
        out
        == b"{" + VERSION + b',"tools":[{"input_schema":{"properties":{"model":{"type":"string"}}}}],"x":"\\"model\\""}'
    )


def test_an_ambiguous_model_value_falls_back_to_raw_members():
    body = b'{"metadata":{"model":"m"},"model":"m","messages":[ {"content":"keep  spacing"} ]}'
    out = to_vertex(body)
    assert json.loads(out) == {
        "anthropic_version": "vertex-2023-10-16",
        "metadata": {"model": "m"},
        "messages": [{"content": "keep  spacing"}],
    }
    assert b'[ {"content":"keep  spacing"} ]' in out  # each value still byte for byte


def test_count_tokens_keeps_the_model_and_an_existing_version_is_kept():
    assert to_vertex(b'{"model":"m"}', keep_model=True) == b"{" + VERSION + b',"model":"m"}'
    assert to_vertex(b'{"anthropic_version":"x","model":"m"}') == b'{"anthropic_version":"x"}'
