"""A socket's memory of its responses (frontends/responses/socket_memory.py): what a turn naming
`previous_response_id` is sent as, the bound, and what is left for the HTTP path."""

from __future__ import annotations

import pytest

from aigateway.errors import InvalidRequest
from aigateway.frontends.responses.socket_memory import KEPT, History

USER = {"type": "message", "role": "user", "content": "Hi"}
ANSWER = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello"}]}


def test_a_continued_turn_is_the_earlier_input_and_output_then_its_own_items():
    history = History()
    history.remember("resp_1", [USER, ANSWER])
    raw = {"model": "m", "previous_response_id": "resp_1", "input": "And now?", "instructions": "Be brief."}
    items = history.continued(raw)
    assert items == [USER, ANSWER, {"type": "message", "role": "user", "content": "And now?"}]
    assert raw == {"model": "m", "input": items, "instructions": "Be brief."}


def test_an_id_the_socket_does_not_hold_is_left_for_the_http_path():
    raw = {"model": "m", "previous_response_id": "resp_elsewhere", "input": "Hi"}
    assert History().continued(raw) == [{"type": "message", "role": "user", "content": "Hi"}]
    assert raw == {"model": "m", "previous_response_id": "resp_elsewhere", "input": "Hi"}  # as it came


def test_only_the_last_responses_are_kept():
    history = History()
    for n in range(KEPT + 1):
        history.remember(f"resp_{n}", [{**USER, "content": str(n)}])
    oldest = {"previous_response_id": "resp_0", "input": []}
    history.continued(oldest)
    assert "previous_response_id" in oldest  # forgotten
    assert history.continued({"previous_response_id": f"resp_{KEPT}", "input": []}) == [{**USER, "content": str(KEPT)}]


def test_a_continued_input_that_is_neither_text_nor_items_is_a_400():
    history = History()
    history.remember("resp_1", [USER])
    with pytest.raises(InvalidRequest, match=r"^input: "):
        history.continued({"previous_response_id": "resp_1", "input": {"role": "user"}})
    alone = {"input": {"role": "user"}}
    assert history.continued(alone) == [] and alone == {"input": {"role": "user"}}  # the HTTP path's to refuse
