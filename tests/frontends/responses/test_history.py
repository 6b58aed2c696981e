"""A kept conversation's items: as `input_items` lists them, and as each kind of upstream reads them."""

from __future__ import annotations

import pytest

from aigateway.errors import InvalidRequest
from aigateway.frontends.responses.history import for_core, for_storage, for_upstream, input_items, without_sealed

OURS = {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "aigw1.sealed-here"}
OPENAIS = {"id": "rs_2", "type": "reasoning", "summary": [], "encrypted_content": "gAAAA-openai"}
BARE = {"id": "rs_3", "type": "reasoning", "summary": [{"type": "summary_text", "text": "hm"}]}
SAID = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": []}
SEARCH = {"id": "ws_1", "type": "web_search_call", "status": "completed"}


def test_input_is_kept_as_items_with_ids_parts_and_statuses():
    items = for_storage(
        [
            *input_items("Hi"),
            {"role": "assistant", "content": "Hello"},
            {"type": "function_call_output", "call_id": "c", "output": "42", "id": "fco_mine"},
        ]
    )
    assert [i["type"] for i in items] == ["message", "message", "function_call_output"]
    assert items[0]["content"] == [{"type": "input_text", "text": "Hi"}] and items[0]["id"].startswith("msg_")
    assert items[1]["content"] == [{"type": "output_text", "text": "Hello", "annotations": []}]
    assert items[2]["id"] == "fco_mine" and all(i["status"] == "completed" for i in items)
    assert len({i["id"] for i in items}) == 3


def test_input_that_is_not_a_string_or_a_list_is_a_400():
    with pytest.raises(InvalidRequest) as caught:
        input_items({"role": "user"})
    assert caught.value.message.startswith("input:")


def test_the_core_gets_the_reasoning_sealed_here_and_the_kinds_it_carries():
    items, dropped = for_core([OURS, OPENAIS, BARE, SAID, SEARCH], {"reasoning", "message"})
    assert items == [OURS, SAID]
    assert dropped == ["previous_response_id: web_search_call"]


def test_a_responses_upstream_gets_no_ids_and_only_its_own_reasoning():
    assert for_upstream([OURS, OPENAIS, BARE, SAID]) == [OPENAIS, {k: v for k, v in SAID.items() if k != "id"}]


def test_sealed_reasoning_is_shown_only_when_asked_for():
    assert without_sealed([OURS, SAID]) == [{"id": "rs_1", "type": "reasoning", "summary": []}, SAID]
