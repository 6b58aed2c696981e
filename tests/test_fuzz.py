"""Random bodies on both doors and the admin API (hypothesis, bounded in examples and time).

Whatever arrives: no 5xx (the fake upstream answers every call it gets with a recorded 200), a
JSON error in the door's envelope for every refusal, and a ledger row whose status and error
type are the answer the client got.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aigateway.errors import GatewayError
from aigateway.frontends.openai.errors import openai_error
from tests.conftest import ADMIN_KEY
from tests.support import fixtures
from tests.support.upstream import Reply

SYNC = fixtures.Later("anthropic", "text-sync")
STREAM = fixtures.Later("anthropic", "text-stream")
OAI = fixtures.Later("openai-chat", "text-sync")
GEMINI = fixtures.Later("gemini", "text-sync")
FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | TEXT
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6
)
MODELS = st.sampled_from(
    ["anthropic/claude-sonnet-4", "openai/gpt-4o", "gemini/gemini-2.5-flash", "nosuch/x", "bad", "anthropic/\r\n"]
)
SERVED = st.sampled_from(["anthropic/claude-sonnet-4", "openai/gpt-4o", "gemini/gemini-2.5-flash"])
FIELDS = [
    "max_tokens",
    "max_completion_tokens",
    "stream",
    "system",
    "tools",
    "tool_choice",
    "response_format",
    "metadata",
    "temperature",
    "stop",
    "input",
    "thinking",
    "providerOptions",
    "user",
    "reasoning_effort",
]
PART_TYPES = st.sampled_from(["text", "image_url", "image", "file", "tool_result", "x"])
# A part of each type, its own member holding anything (`{"type": "image_url", "image_url": 5}`).
PARTS = st.builds(lambda kind, value: {"type": kind, kind: value}, PART_TYPES, JSON_VALUES)
MESSAGES = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", "x"])},
        optional={"content": TEXT | st.lists(PARTS, max_size=2) | JSON_VALUES, "tool_calls": JSON_VALUES},
    ),
    min_size=1,
    max_size=3,
)
USER_PARTS = st.lists(st.fixed_dictionaries({"role": st.just("user"), "content": st.lists(PARTS, min_size=1)}))
FUNCTION = st.fixed_dictionaries({"name": TEXT}, optional={"parameters": JSON_VALUES, "description": JSON_VALUES})
TOOLS = st.lists(st.fixed_dictionaries({"type": st.just("function"), "function": FUNCTION | JSON_VALUES}), max_size=2)
# A body that passes the first checks (a served model, a user turn), so the fields read deeper
# are reached: wrong types there are what a random body rarely gets to.
NEAR_VALID = st.fixed_dictionaries(
    {"model": SERVED, "max_tokens": st.integers(1, 100), "messages": USER_PARTS | MESSAGES},
    optional={
        "tools": TOOLS | JSON_VALUES, "tool_choice": JSON_VALUES | st.fixed_dictionaries({"type": st.just("function"),
        "function": JSON_VALUES}), "response_format": st.fixed_dictionaries({"type": st.sampled_from(["json_schema",
        "json_object", "text"])}, optional={"json_schema": JSON_VALUES}) | JSON_VALUES,
        "stream": st.booleans(), "metadata": JSON_VALUES, "system": JSON_VALUES, "stop": JSON_VALUES,
    },
)  # fmt: skip
BODIES = (
    NEAR_VALID
    | st.fixed_dictionaries(
        {"model": MODELS | JSON_VALUES, "messages": MESSAGES | JSON_VALUES},
        optional={name: JSON_VALUES | st.integers(-5, 5000) for name in FIELDS},
    )
    | JSON_VALUES.map(lambda v: v if isinstance(v, dict) else {"body": v})
)


def _expect_upstream(upstream, body: dict[str, Any], path: str) -> None:
    """The recorded 200 any upstream call of this example gets."""
    upstream.reset()
    model = body.get("model")
    if isinstance(model, str) and model.startswith("anthropic/"):
        upstream.expect(Reply.replay(STREAM if body.get("stream") else SYNC))
    elif isinstance(model, str) and model.startswith("gemini/") and path.endswith("count_tokens"):
        # Gemini's countTokens answer (CountTokensResponse, `totalTokens`); none is recorded
        upstream.expect(Reply(body=b'{"totalTokens": 5}', headers={"content-type": "application/json"}))
    elif isinstance(model, str) and model.startswith("gemini/"):
        upstream.expect(Reply.replay(GEMINI))
    else:
        upstream.expect(Reply.replay(OAI))


def _check_answer(resp: httpx.Response, openai: bool) -> str | None:
    """No 5xx but an overloaded or timed-out upstream's; a refusal is JSON in the door's envelope."""
    assert resp.status_code < 500, resp.text
    if resp.status_code < 400:
        return None
    error = resp.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if not openai:
        assert resp.json()["type"] == "error"
    return str(error["type"])


def _matches(row: dict[str, Any], status: int, error_type: str | None, openai: bool) -> bool:
    if not openai:
        return (row["status"], row["error_type"]) == (status, error_type)
    if row["error_type"] is None:
        return row["status"] == status and error_type is None
    answer_status, body = openai_error(GatewayError("x", status=row["status"], error_type=row["error_type"]))
    return answer_status == status and json.loads(body)["error"]["type"] == error_type


@pytest.mark.parametrize(
    "path", ["/v1/messages", "/v1/messages/count_tokens", "/v1/chat/completions", "/v1/embeddings"]
)
def test_fuzzed_bodies_on_both_doors_get_clear_answers_and_honest_rows(gateway, api_key, upstream, path):
    seen: list[tuple[str, int, str | None, bool]] = []

    @FUZZ
    @given(body=BODIES)
    def one(body: dict[str, Any]) -> None:
        _expect_upstream(upstream, body, path)
        content = json.dumps(body).encode()
        resp = httpx.post(gateway.url + path, content=content, headers={"x-api-key": api_key}, timeout=30)
        openai = path in ("/v1/chat/completions", "/v1/embeddings")
        error_type = _check_answer(resp, openai)
        seen.append((resp.headers["request-id"], resp.status_code, error_type, openai))

    one()
    for request_id, status, error_type, openai in seen:
        row = gateway.ledger_row(request_id)
        assert _matches(row, status, error_type, openai), (row, status, error_type)


ADMIN_BODIES = (
    st.dictionaries(
        st.sampled_from(
            ["name", "rpm", "tpm", "budget_usd", "budget_period", "allowed_models", "expires_at", "tags", "x"]
        ),
        JSON_VALUES | st.integers(-5, 10**20),
        max_size=4,
    )
    | JSON_VALUES
)
TIMES = st.sampled_from(["nan", "-1e308", "inf", "1e400", "2026-13-01", "0", "1700000000", "x", ""]) | TEXT


@FUZZ
@given(body=ADMIN_BODIES, when=TIMES, method=st.sampled_from(["POST", "PATCH"]))
def test_fuzzed_admin_requests_get_clear_answers(gateway, body, when, method):
    headers = {"x-api-key": ADMIN_KEY}
    path = "/admin/keys" if method == "POST" else "/admin/keys/key_does_not_exist"
    resp = httpx.request(method, gateway.url + path, content=json.dumps(body).encode(), headers=headers, timeout=30)
    _check_answer(resp, openai=False)
    resp = httpx.get(gateway.url + "/v1/usage", params={"from": when, "group_by": "day"}, headers=headers, timeout=30)
    _check_answer(resp, openai=False)
