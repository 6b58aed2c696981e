"""The Responses API's WebSocket mode on `/v1/responses`, driven by the `websockets` client against
the real gateway (uvicorn) in front of a fake Anthropic upstream: turns chained by
`previous_response_id` with `store: false`, the prewarm, authentication on the upgrade, keys,
limits and the ledger per `response.create`, errors as `error` events, a closed socket cancelling
the upstream call, and the mode turned off (426). Every turn's events pass the grammar validator.
Then Codex CLI itself with `supports_websockets = true`: its session over one socket, and with the
mode off, its fallback to HTTP (a TCP tap in front of the gateway sees which requests it made)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import yaml
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.conftest import ADMIN_KEY, UPSTREAM_KEY
from tests.frontends.responses import test_codex
from tests.policy.test_limits import make_key
from tests.support.anthropic_sse import message_stream
from tests.support.bedrock import AWS_ENV, BEDROCK_TOKEN
from tests.support.config import gateway_config
from tests.support.fixtures import exchange, exchanges
from tests.support.gateway import ISSUED_KEYS, GatewayProcess
from tests.support.prompt_cache import unmarked
from tests.support.responses_grammar import TERMINAL, validate_responses_stream
from tests.support.stream_grammar import parse_events
from tests.support.tap import Tap
from tests.support.upstream import Reply

CLAUDE = "anthropic/claude-sonnet-4.5"
SSE = {"content-type": "text/event-stream"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def ws_url(gateway: GatewayProcess) -> str:
    return gateway.url.replace("http://", "ws://", 1) + "/v1/responses"


def open_socket(gateway: GatewayProcess, key: str) -> ClientConnection:
    headers = {"authorization": f"Bearer {key}", "openai-beta": "responses_websockets=2026-02-06"}
    return connect(ws_url(gateway), additional_headers=headers, open_timeout=10, max_size=None)


def send(ws: ClientConnection, **body: Any) -> None:
    ws.send(json.dumps({"type": "response.create", **body}))


def answer(ws: ClientConnection, *, sdk_shapes: bool = True) -> list[dict[str, Any]]:
    """One turn's events, up to its terminal event (or a lone `error`), checked by the grammar
    validator; each arrived as one JSON text frame. `sdk_shapes`: off for OpenAI's recordings,
    made before the SDK added members OpenAI did not send then."""
    frames: list[str] = []
    while True:
        frame = ws.recv(timeout=20)
        assert isinstance(frame, str), "events are text frames"
        frames.append(frame)
        kind = json.loads(frame)["type"]
        if kind in TERMINAL or (kind == "error" and len(frames) == 1):
            break
    if json.loads(frames[0])["type"] == "error":
        return [json.loads(frames[0])]
    stream = b"".join(b"data: " + f.encode() + b"\n\n" for f in frames)
    return validate_responses_stream(stream, sdk_shapes=sdk_shapes)


def reply(blocks: list[dict[str, Any]], stop_reason: str) -> Reply:
    return Reply(body=message_stream(blocks, stop_reason), headers=SSE, chunk_size=41)


def sent(upstream, n: int) -> dict[str, Any]:
    messages = [r for r in upstream.received if r.path_qs == "/v1/messages"]
    return json.loads(messages[n].body)


def rows(gateway: GatewayProcess, key_id: str, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while True:
        found = gateway.ledger_rows("key_id = ? ORDER BY created_at", (key_id,))
        if len(found) >= n or time.monotonic() > deadline:
            assert len(found) == n, found
            return found
        time.sleep(0.05)


def test_two_turns_chained_by_previous_response_id_with_store_false(gateway, api_key, upstream):
    thinking = {"type": "thinking", "thinking": "Paris: ask the tool.", "signature": "sig-weather-1"}
    call = {"type": "tool_use", "id": "toolu_w1", "name": "get_weather", "input": {"city": "Paris"}}
    upstream.expect(
        reply([thinking, call], "tool_use"), reply([{"type": "text", "text": "18 C in Paris."}], "end_turn")
    )
    common = {"model": CLAUDE, "store": False, "tools": [WEATHER], "include": ["reasoning.encrypted_content"]}
    with open_socket(gateway, api_key) as ws:
        assert ws.response.headers["sec-websocket-extensions"].startswith("permessage-deflate")
        send(ws, **common, instructions="Be brief.", input=[{"role": "user", "content": "Weather in Paris?"}])
        first = answer(ws)[-1]["response"]
        assert first["status"] == "completed"
        assert [i["type"] for i in first["output"]] == ["reasoning", "function_call"]
        assert first["output"][1]["call_id"] == "toolu_w1"
        output = {"type": "function_call_output", "call_id": "toolu_w1", "output": "18 C"}
        send(ws, **common, instructions="Be brief.", previous_response_id=first["id"], input=[output])
        second = answer(ws)[-1]["response"]
    assert second["status"] == "completed"
    assert second["output"][0]["content"][0]["text"] == "18 C in Paris."
    # The second turn sent only the tool output: the upstream got the whole conversation anyway,
    # Claude's own thinking and signature included.
    body = sent(upstream, 1)
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {"role": "assistant", "content": [thinking, {**call}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_w1", "content": "18 C"}]},
    ]


def test_a_prewarm_calls_no_upstream_and_the_next_turn_continues_it(gateway, upstream):
    key_id, key = make_key(gateway)
    upstream.expect(reply([{"type": "text", "text": "Hi."}], "end_turn"))
    developer = {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Be terse."}]}
    with open_socket(gateway, key) as ws:
        send(ws, model=CLAUDE, store=False, tools=[WEATHER], input=[developer], generate=False)
        prewarm = answer(ws)
        assert [e["type"] for e in prewarm] == ["response.created", "response.in_progress", "response.completed"]
        done = prewarm[-1]["response"]
        assert done["output"] == [] and done["status"] == "completed" and done["model"] == CLAUDE
        assert upstream.received == []
        send(ws, model=CLAUDE, store=False, tools=[WEATHER], previous_response_id=done["id"], input="Hello")
        assert answer(ws)[-1]["response"]["output"][0]["content"][0]["text"] == "Hi."
    body = sent(upstream, 0)
    assert body["system"] == [{"type": "text", "text": "Be terse."}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]
    warm, turn = rows(gateway, key_id, 2)
    assert (warm["status"], warm["endpoint"], warm["streamed"], warm["model"]) == (200, "responses", 1, CLAUDE)
    assert warm["cost_nanousd"] in (0, None) and warm["input_tokens"] == 0 and warm["output_tokens"] == 0
    assert turn["status"] == 200 and turn["output_tokens"] == 42


def test_the_upgrade_is_refused_before_it_is_accepted_without_a_valid_key(gateway):
    for headers in ({"authorization": "Bearer not-a-gateway-key"}, {}):
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(gateway), additional_headers=headers, open_timeout=10)
        response = refused.value.response
        assert response.status_code == 401
        error = json.loads(response.body)["error"]
        assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"


def test_each_response_create_is_a_request_with_the_keys_limits_and_one_ledger_row(gateway, upstream):
    key_id, key = make_key(gateway, rpm=2)
    text = [{"type": "text", "text": "ok"}]
    upstream.expect(reply(text, "end_turn"), reply(text, "end_turn"))
    with open_socket(gateway, key) as ws:
        send(ws, model=CLAUDE, input="warm up", generate=False)  # a prewarm spends nothing
        assert answer(ws)[-1]["type"] == "response.completed"
        for _ in range(2):
            send(ws, model=CLAUDE, input="Hello", store=False)
            assert answer(ws)[-1]["type"] == "response.completed"
        send(ws, model=CLAUDE, input="Hello", store=False)
        (limited,) = answer(ws)
        assert limited["type"] == "error" and limited["status"] == 429
        assert limited["error"]["code"] == "rate_limit_exceeded" and "retry-after" in limited["headers"]
        ws.send("{not json")
        (bad,) = answer(ws)
        assert bad["status"] == 400 and bad["error"]["type"] == "invalid_request_error"
    assert len([r for r in upstream.received if r.path_qs == "/v1/messages"]) == 2
    found = rows(gateway, key_id, 5)
    assert [r["status"] for r in found] == [200, 200, 200, 429, 400]
    assert {r["endpoint"] for r in found} == {"responses"}


def test_errors_are_error_events_and_the_socket_stays_open(gateway, api_key, upstream):
    upstream.expect(reply([{"type": "text", "text": "still here"}], "end_turn"))
    with open_socket(gateway, api_key) as ws:
        # An id this socket does not hold goes to the HTTP path, which keeps nothing on Claude.
        send(ws, model=CLAUDE, input="Hi", previous_response_id="resp_unknown")
        (unknown,) = answer(ws)
        assert unknown["status"] == 400 and unknown["error"]["param"] == "previous_response_id"
        send(ws, model=CLAUDE, input="Hi", stream_id="lane-2")
        (lanes,) = answer(ws)
        assert lanes["status"] == 400 and lanes["error"]["param"] == "stream_id"
        ws.send(json.dumps({"type": "session.update"}))
        (kind,) = answer(ws)
        assert kind["status"] == 400 and kind["error"]["param"] == "type"
        send(ws, model="nobody/nothing-at-all", input="Hi")
        (missing,) = answer(ws)
        assert missing["type"] == "error" and missing["status"] == 404
        ws.send(json.dumps({"type": "response.processed", "response_id": "resp_x"}))  # needs no answer
        send(ws, model=CLAUDE, input="Hi", store=False)
        events = answer(ws)
        assert events[0]["type"] == "response.created"
        assert events[-1]["response"]["output"][0]["content"][0]["text"] == "still here"
    assert len(upstream.received) == 1


def test_a_closed_socket_cancels_the_upstream_call_in_flight(gateway, upstream):
    key_id, key = make_key(gateway)
    body = message_stream([{"type": "text", "text": "a long answer " * 50}], "end_turn")
    first_delta = body.index(b"\n\n", body.index(b"event: content_block_delta")) + 2
    held = Reply(body=body, headers=SSE, chunk_size=first_delta, hold_after=1)
    (served,) = upstream.expect(held)
    ws = open_socket(gateway, key)
    send(ws, model=CLAUDE, input="Tell me everything.", store=False)
    while json.loads(ws.recv(timeout=20))["type"] != "response.output_text.delta":
        pass
    ws.close()
    left_at = time.monotonic()
    assert served.finished.wait(5)
    assert not held.release.is_set()
    assert served.peer_closed_at is not None, "the upstream connection was kept open"
    assert served.peer_closed_at - left_at < 0.5
    (row,) = rows(gateway, key_id, 1)
    assert row["status"] == 499 and row["error_type"] == "client_closed" and row["streamed"] == 1


OPENAI_STREAMS = [
    ex
    for ex in exchanges("openai-responses")
    if ex.request_file and ex.response_file and ex.stream and ex.status == 200
]


@pytest.mark.parametrize("ex", OPENAI_STREAMS, ids=lambda ex: ex.name)
def test_on_openai_the_recorded_events_arrive_one_per_frame(ex, gateway, api_key, upstream):
    request, model = ex.request_json(), ex.request_json()["model"]
    upstream.expect(Reply.replay(ex))
    with open_socket(gateway, api_key) as ws:
        send(ws, **{**request, "model": "openai/" + model})
        frames = answer(ws, sdk_shapes=False)
    recorded = [json.loads(e.data) for e in parse_events(ex.response_bytes())]
    assert frames == recorded
    assert json.loads(upstream.received[0].body) == request  # passed through as sent


def test_on_openai_a_continued_turn_reaches_the_upstream_whole(gateway, api_key, upstream):
    first, second = exchange("openai-responses", "tools-stream", 1), exchange("openai-responses", "tools-stream", 2)
    model = "openai/" + first.request_json()["model"]
    upstream.expect(Reply.replay(first), Reply.replay(second))
    with open_socket(gateway, api_key) as ws:
        send(ws, **{**first.request_json(), "model": model})
        done = answer(ws, sdk_shapes=False)[-1]["response"]
        outputs = [i for i in second.request_json()["input"] if i.get("type") == "function_call_output"]
        send(ws, **{**second.request_json(), "model": model, "previous_response_id": done["id"], "input": outputs})
        assert answer(ws, sdk_shapes=False)[-1]["type"] == "response.completed"
    sent_input = json.loads(upstream.received[1].body)["input"]
    assert sent_input == first.request_json()["input"] + done["output"] + outputs
    assert "previous_response_id" not in json.loads(upstream.received[1].body)
    # what the client itself sent over HTTP in the recording, item for item
    recorded = second.request_json()["input"]
    assert [(i.get("type"), i.get("role"), i.get("call_id")) for i in sent_input] == [
        (i.get("type"), i.get("role"), i.get("call_id")) for i in recorded
    ]


@pytest.fixture(scope="module")
def gateway_without_websockets(upstream, tmp_path_factory) -> Iterator[GatewayProcess]:
    config = yaml.safe_load(gateway_config(upstream.url))
    config["server"] = {"responses_websocket": False}
    env = {"TEST_UPSTREAM_KEY": UPSTREAM_KEY, "TEST_ADMIN_KEY": ADMIN_KEY, "TEST_BEDROCK_TOKEN": BEDROCK_TOKEN}
    gw = GatewayProcess(yaml.safe_dump(config), tmp_path_factory.mktemp("no-websockets"), env={**env, **AWS_ENV})
    gw.start()
    yield gw
    gw.stop()
    for secret in (UPSTREAM_KEY, ADMIN_KEY, *ISSUED_KEYS):
        assert secret not in gw.log_text(), "a secret reached the gateway log"


def test_a_turn_naming_a_response_the_socket_never_saw_is_continued_from_the_store(gateway, api_key, upstream):
    """The socket's memory first, then the stored responses: a response made over HTTP (kept,
    `store` left at its default) is continued on a new socket with only the new input."""
    upstream.expect(
        reply([{"type": "text", "text": "Noted: blue."}], "end_turn"),
        reply([{"type": "text", "text": "Blue."}], "end_turn"),
    )
    first = gateway_post(gateway, api_key, {"model": CLAUDE, "input": "My favourite colour is blue."})
    time.sleep(0.3)  # kept once answered, off the request path
    with open_socket(gateway, api_key) as ws:
        send(ws, model=CLAUDE, previous_response_id=first["id"], input="What is my favourite colour?")
        turn = answer(ws)[-1]["response"]
    assert turn["status"] == "completed" and turn["output"][0]["content"][0]["text"] == "Blue."
    messages = sent(upstream, 1)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [{"type": "text", "text": "Noted: blue."}]


def gateway_post(gateway: GatewayProcess, key: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = httpx.post(gateway.url + "/v1/responses", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_with_the_mode_off_the_upgrade_is_answered_426(gateway_without_websockets):
    gw = gateway_without_websockets
    key = gw.create_key("no-websockets")
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(gw), additional_headers={"authorization": f"Bearer {key}"}, open_timeout=10)
    assert refused.value.response.status_code == 426


# --- Codex CLI itself ----------------------------------------------------------------------------


def _codex_over_websockets(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = test_codex._config

    def with_websockets(url: str) -> str:  # in the provider's table, as the README shows
        text = config(url)
        assert 'wire_api = "responses"\n' in text
        return text.replace('wire_api = "responses"\n', 'wire_api = "responses"\nsupports_websockets = true\n')

    monkeypatch.setattr(test_codex, "_config", with_websockets)


def test_codex_runs_its_session_over_one_socket_on_claude(gateway, api_key, upstream, tmp_path, monkeypatch):
    """The scripted session of test_codex.py (a command, a patch, the final text), over the socket:
    each turn sends only its new items, and Claude still gets the whole history every time."""
    _codex_over_websockets(monkeypatch)
    upstream.expect(*test_codex._scripted())
    tap = Tap(gateway.port).start()
    try:
        proc = test_codex.codex_exec(
            SimpleNamespace(url=tap.url), api_key, tmp_path, "Run a command, then add hello.txt."
        )
    finally:
        tap.stop()
    assert proc.returncode == 0, proc.stderr[-4000:]
    work = tmp_path / "work"
    assert (work / "marker.txt").read_text().strip() == "ran"
    assert (work / "hello.txt").read_text() == "hello from the patch\n"
    assert "Both steps are done." in proc.stdout
    upgrades = tap.requests("GET", "/v1/responses")
    assert len(upgrades) == 1 and upgrades[0].upgrade  # one socket for the whole session
    assert tap.requests("POST", "/v1/responses") == []  # and no HTTP fallback
    assert "Reconnecting" not in proc.stderr
    bodies = [sent(upstream, n) for n in (1, 2)]
    # Codex's prompt_cache_key turns on prompt caching: each turn carries breakpoints, which move
    assert all(b["cache_control"] == {"type": "ephemeral"} for b in bodies)
    second, third = ([{**m, "content": [unmarked(b) for b in m["content"]]} for m in b["messages"]] for b in bodies)
    assistant = [m for m in second if m["role"] == "assistant"][-1]["content"]
    assert assistant[0] == {"type": "thinking", "thinking": "The user wants a command run.", "signature": "sig-run-1"}
    assert [b["tool_use_id"] for b in second[-1]["content"] if b["type"] == "tool_result"] == ["toolu_exec1"]
    assert third[: len(second)] == second  # the history grows turn by turn, nothing lost
    assert [b["tool_use_id"] for b in third[-1]["content"] if b["type"] == "tool_result"] == ["toolu_patch1"]


def test_with_the_mode_off_codex_falls_back_to_http_within_a_second(
    gateway_without_websockets, upstream, tmp_path, monkeypatch
):
    gw = gateway_without_websockets
    _codex_over_websockets(monkeypatch)
    upstream.expect(reply([{"type": "text", "text": "hi over http"}], "end_turn"))
    tap = Tap(gw.port).start()
    try:
        proc = test_codex.codex_exec(SimpleNamespace(url=tap.url), gw.create_key("codex"), tmp_path, "Say hi.")
    finally:
        tap.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "hi over http" in proc.stdout
    (upgrade,) = tap.requests("GET", "/v1/responses")  # a 426 costs Codex one attempt
    first_post = tap.requests("POST", "/v1/responses")[0]
    assert first_post.at - upgrade.at < 1.0
    assert "Reconnecting" not in proc.stderr
