"""SIGTERM with requests that would never end: the gateway waits `server.shutdown_timeout` for
requests in flight, then cuts them, tells each client in its protocol, records what it got, exits."""

from __future__ import annotations

import json
import threading
import time

import httpx
import yaml

from aigateway.pipeline.accounting import SHUTTING_DOWN
from tests.conftest import UPSTREAM_KEY
from tests.support.anthropic_sse import message_stream
from tests.support.config import ONE_CALL, UPSTREAM_KEY_REF
from tests.support.gateway import GatewayProcess
from tests.support.upstream import Reply

SONNET = "anthropic/claude-sonnet-4.5"


def _gateway(upstream, tmp_path) -> tuple[GatewayProcess, str]:
    config = {
        "providers": {"anthropic": {"base_url": upstream.url, "api_key": UPSTREAM_KEY_REF}},
        "server": {"shutdown_timeout": 1.0},
        "routing": ONE_CALL,
        # No background read of the model list: the tests wait for the request they sent to reach the
        # upstream, and under load that read could arrive first (and take the held reply).
        "listings": {"enabled": False},
    }
    gw = GatewayProcess(yaml.safe_dump(config), tmp_path, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY}).start()
    return gw, gw.create_key()


def _terminate(gw: GatewayProcess) -> float:
    """SIGTERM; the seconds the gateway took to exit."""
    assert gw.proc is not None
    sent = time.monotonic()
    gw.proc.terminate()
    code = gw.proc.wait(15)  # without the timeout it would wait for the upstream's 600 s of silence
    assert code in (0, -15), code  # -15: uvicorn raises the signal again once it is done
    return time.monotonic() - sent


def test_sigterm_cuts_a_stream_still_open_after_the_shutdown_timeout(upstream, tmp_path):
    gw, key = _gateway(upstream, tmp_path)
    body = message_stream([{"type": "text", "text": "never ends"}], "end_turn")
    first = body.index(b"event: content_block_stop")  # through the first text: past the commit point
    held = Reply(body=body, headers={"content-type": "text/event-stream"}, chunk_size=first, hold_after=1)
    upstream.expect(held)
    got: list[bytes] = []
    started = threading.Event()
    request_id: list[str] = []

    def client() -> None:
        payload = {
            "model": SONNET,
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        }
        headers = {"x-api-key": key}
        try:
            with httpx.stream("POST", f"{gw.url}/v1/messages", json=payload, headers=headers, timeout=30) as r:
                request_id.append(r.headers["request-id"])
                for chunk in r.iter_raw():
                    got.append(chunk)
                    started.set()
        except httpx.HTTPError as exc:
            got.append(repr(exc).encode())

    reader = threading.Thread(target=client, daemon=True)
    reader.start()
    assert started.wait(10)
    took = _terminate(gw)
    reader.join(5)
    held.release.set()
    assert 0.9 < took < 8, took
    events = b"".join(got)
    last = events.rstrip(b"\n").rsplit(b"\n\n", 1)[-1]  # the client is told, in Anthropic's stream
    assert b"message_start" in events and last.startswith(b"event: error\n"), events
    assert json.loads(last.split(b"data: ", 1)[1])["error"] == {"type": "api_error", "message": SHUTTING_DOWN}
    (row,) = gw.ledger_rows("request_id = ?", (request_id[0],))
    assert (row["status"], row["error_type"]) == (503, "shutdown")
    assert row["input_tokens"] > 0 and row["ttft_ms"] is not None  # what the stream showed before the cut


def test_sigterm_cuts_a_request_still_waiting_for_its_answer(upstream, tmp_path):
    gw, key = _gateway(upstream, tmp_path)
    held = Reply(body=b'{"id": "msg_1"}', headers={"content-type": "application/json"}, chunk_size=4, hold_after=1)
    upstream.expect(held)
    payload = {"model": SONNET, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    answers: list[httpx.Response | Exception] = []

    def client() -> None:
        try:
            answers.append(httpx.post(f"{gw.url}/v1/messages", json=payload, headers={"x-api-key": key}, timeout=30))
        except httpx.HTTPError as exc:
            answers.append(exc)

    caller = threading.Thread(target=client, daemon=True)
    caller.start()
    deadline = time.monotonic() + 10
    while not upstream.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert upstream.received
    took = _terminate(gw)
    caller.join(5)
    held.release.set()
    assert 0.9 < took < 8, took
    (answer,) = answers
    assert isinstance(answer, httpx.Response) and answer.status_code == 503, answer
    assert answer.json()["error"] == {"type": "overloaded_error", "message": SHUTTING_DOWN}
    (row,) = gw.ledger_rows()
    assert (row["status"], row["error_type"]) == (503, "shutdown")
