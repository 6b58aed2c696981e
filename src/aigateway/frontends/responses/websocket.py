"""The Responses API's WebSocket mode on `/v1/responses` (`openai-beta: responses_websockets=...`),
as Codex CLI uses it when its provider sets `supports_websockets = true`.

Invariants:
- the upgrade is authenticated with the same keys and headers as HTTP and refused (401, OpenAI's
  envelope) before it is accepted; with `server.responses_websocket: false` app.py answers it
  426 instead (routes.refuse_websocket), which Codex follows to HTTP at once;
- each `response.create` is one request of the HTTP path (routes.responses) with `stream` on:
  the key checked again, limits, budgets, routing options, translation or passthrough, one ledger
  row, and the same events as the SSE stream (socket_events.py); turns run one at a time, in
  the order they were sent;
- `generate: false` (a prewarm) calls no upstream: routing options and model permissions apply,
  one ledger row is left, and the answer is `response.created`, `response.in_progress` and
  `response.completed` with no output, whose id later turns may continue;
- `previous_response_id` is resolved from the socket's memory (socket_memory.py), so a `store: false`
  session runs on every model; an id it does not hold goes to the HTTP path as sent;
- a failure is an `error` event and the socket stays open; a closed socket cancels the turn under
  way and its upstream call (a 499 row, as for an HTTP client that leaves);
- `response.processed` (a client's acknowledgement) needs no answer; `stream_id` lanes are refused.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.asgi import JSON, ClientGone, Message, Receive, Request, Scope, Send
from aigateway.errors import GatewayError, InvalidRequest, RequestTooLarge
from aigateway.frontends.envelope_openai import openai_error
from aigateway.frontends.responses import routes
from aigateway.frontends.responses.response import Shaper
from aigateway.frontends.responses.sealing import sealer_for
from aigateway.frontends.responses.socket_events import Frames, error_event
from aigateway.frontends.responses.socket_memory import History
from aigateway.frontends.responses.tools import Toolbox
from aigateway.gateway import Gateway
from aigateway.observability.logging import log
from aigateway.pipeline.accounting import accounted, record
from aigateway.pipeline.serve import permit
from aigateway.policy.keys import GatewayKey
from aigateway.routing.options import take_gateway_options
from aigateway.websocket import Socket
from aigateway.wire import document

ENDPOINT = "responses"
_KEPT_STATUSES = ("completed", "incomplete")
_encode = msgspec.json.encode


async def serve(gw: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    socket = Socket(scope, receive, send)
    if not await socket.connected():
        return
    try:
        await gw.authenticate(socket.request(b"", _nowhere))
    except GatewayError as exc:
        status, body = openai_error(exc)
        await socket.refuse(status, body, JSON)
        return
    await socket.accept()
    session = _Session(gw, socket)
    try:
        while (frame := await socket.next()) is not None:
            await session.turn(frame)
    finally:
        await socket.close()


class _Session:
    def __init__(self, gw: Gateway, socket: Socket) -> None:
        self.gw, self.socket = gw, socket
        self.history = History()
        self.sealer = sealer_for(gw.settings.admin_key, gw.settings.data_dir)

    async def turn(self, frame: bytes) -> None:
        problem: GatewayError | None = None
        try:
            raw = _create(frame, self.gw.settings.server.max_body_bytes, self.gw.settings.server.max_json_depth)
            if raw is None:
                return
            generate = raw.pop("generate", True) is not False
            items = self.history.continued(raw)
        except GatewayError as exc:
            problem, raw, generate, items = exc, {}, True, []
        frames = Frames(self.socket)
        req = self.socket.request(_encode(raw) if problem is None and generate else frame, frames)
        try:
            key = await self.gw.authenticate(req)
            if problem is not None:
                with accounted(self.gw, req, key, ENDPOINT) as out:
                    out.streamed = True
                    raise problem
            if not generate:
                await self._prewarm(req, key, raw, items)
                return
            await routes.responses(self.gw, req, key)
            self._remember(frames.final, items)
        except GatewayError as exc:
            await self.socket.send_text(error_event(exc))
        except ClientGone:
            pass
        except Exception:  # a bug: the row says 500 (accounted), the client gets a server_error event
            log.exception("unhandled error", extra={"fields": {"request_id": req.id, "path": req.path}})
            await self.socket.send_text(error_event(GatewayError("Internal gateway error")))
        finally:
            req.release()

    async def _prewarm(self, req: Request, key: GatewayKey, raw: dict[str, Any], items: list[Any]) -> None:
        """Answered here, without any upstream call."""
        with accounted(self.gw, req, key, ENDPOINT) as out:
            out.streamed = True
            model = raw.get("model")
            if not isinstance(model, str):
                raise InvalidRequest("model: Field required (a string of the form 'provider/model')")
            if raw.get("previous_response_id") is not None:
                raise InvalidRequest("previous_response_id: no response with this id on this socket")
            await permit(self.gw, out, model=model, requested=take_gateway_options(raw))
            shaper = Shaper(model, model, raw, Toolbox(), self.sealer, seal=False, summary=False)
            shell, done = shaper.response("in_progress", [], None), shaper.response("completed", [], None)
            record(self.gw, req, out)  # the row before the answer's last frame, as for every answer
            kinds = [("response.created", shell), ("response.in_progress", shell), ("response.completed", done)]
            for n, (kind, response) in enumerate(kinds):
                event = {"type": kind, "sequence_number": n, "response": response}
                await self.socket.send_text(_encode(event).decode())
        self.history.remember(shaper.id, items)

    def _remember(self, final: dict[str, Any] | None, items: list[Any]) -> None:
        if final is None or final.get("status") not in _KEPT_STATUSES:
            return
        response_id, output = final.get("id"), final.get("output")
        if isinstance(response_id, str) and isinstance(output, list):
            self.history.remember(response_id, items + output)


def _create(frame: bytes, max_bytes: int, max_depth: int) -> dict[str, Any] | None:
    """The body of the `response.create` in `frame`, `stream` on; None for a message that needs
    no answer; a 400 for anything else."""
    if len(frame) > max_bytes:
        raise RequestTooLarge(f"Request body exceeds the limit of {max_bytes} bytes")
    doc = document.decode(frame, max_depth)
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "response.processed":
        return None
    if not isinstance(doc, dict) or kind != "response.create":
        raise InvalidRequest("type: each message on this socket must be a response.create")
    if doc.get("stream_id") is not None:
        raise InvalidRequest("stream_id: the gateway serves one response at a time per socket; open another one")
    del doc["type"]
    doc.pop("stream_id", None)
    doc["stream"] = True
    return doc


async def _nowhere(message: Message) -> None:
    """The upgrade request is only authenticated: it is never answered through this."""
