"""Background mode of the Responses door (`background: true`): the response is created at once,
runs in the gateway whatever its client does, and is read with `GET /v1/responses/{id}`.

- `create`: the request is admitted (permissions, rate limits, budget) and checked as any
  other; once it is, before any upstream call, its row is created with status `queued` and the
  client gets that response object (with `stream: true`, its events as they come); an error
  before that is the client's answer, as for any request. `store: false` is a 400 (OpenAI's
  rule: a background response is kept), as is background mode with the store off;
- the run is a detached request (pipeline/detached.py) through the same pipeline: one ledger
  row under the creating request's id, retries and fallbacks; its upstream always streams, and
  each event is kept (store/responses.py) with the response's own id, so a client resumes with
  `GET /v1/responses/{id}?stream=true&starting_after=n` on any replica (`resume`);
- a run ends completed or incomplete (kept as any response), failed (an error once created:
  `error` says it, and a `response.failed` event ends its stream), cancelled (`cancel`, from any
  replica: the upstream call is dropped, the output so far kept), or failed because this gateway
  shut down; a gateway that stopped without saying so has its runs failed at its next start,
  or by another replica once their heartbeat is stale (store/responses.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from aigateway.asgi import SSE, ClientGone, Message, Request
from aigateway.errors import GatewayError, InvalidRequest, Overloaded
from aigateway.frontends.responses.exchange import ResponsesExchange
from aigateway.frontends.responses.history import Previous, for_storage, input_items
from aigateway.frontends.responses.response import Shaper, new_id
from aigateway.frontends.responses.sealing import sealer_for
from aigateway.frontends.responses.tools import Toolbox
from aigateway.gateway import Gateway
from aigateway.observability.logging import log
from aigateway.pipeline.accounting import Outcome, accounted, hand_over
from aigateway.pipeline.detached import SHUTDOWN
from aigateway.pipeline.serve import serve
from aigateway.policy.keys import GatewayKey
from aigateway.routing.options import GatewayOptions
from aigateway.store.responses import RUNNING, Kept, ResponseStore
from aigateway.wire.sse import SSEDecoder, encode_event

CANCELLED = "cancelled"
_TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")
_POLL = 0.2  # seconds between two reads of a run another replica is running
_CANCEL_WAIT = 10.0  # seconds a cancel waits for this process's run to record its end
_encode = msgspec.json.encode


class Background:
    """A background response running in this process: its events as they come, for its
    creator's stream and for readers resuming it here."""

    def __init__(self, response_id: str, created_at: int, key_id: str, store: ResponseStore, queued: Kept) -> None:
        self.id, self.created_at, self.key_id = response_id, created_at, key_id
        self._store = store
        self.queued = queued  # the row created once admitted
        self.response = queued.response  # the last response object its events showed
        self.output: list[dict[str, Any]] = []  # the output items finished so far
        self.events: list[tuple[int, bytes]] = []
        self.terminal = False
        self.done = False
        self.final: Kept | None = None
        self.created: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.created.add_done_callback(lambda f: f.cancelled() or f.exception())  # read, if no one waits
        self._sse = SSEDecoder()
        self._waiters: list[asyncio.Future[None]] = []

    async def create_row(self) -> None:
        """Admitted: the response exists from now on."""
        await self._store.create(self.queued)
        self.created.set_result(None)

    async def send(self, message: Message) -> None:
        """The detached request's `send`: the run's answer, a stream of events."""
        if message["type"] != "http.response.body":
            return
        events = self._sse.feed(message.get("body", b""))[1]
        if not message.get("more_body", False):
            events += self._sse.finish()[1]
        taken = [e for e in (self._take(event.data) for event in events) if e is not None]
        if taken:
            self._add(taken)

    def _take(self, text: str) -> tuple[int, bytes] | None:
        """One event, under the response's own id (a passthrough upstream names its own)."""
        try:
            data = msgspec.json.decode(text)
        except msgspec.DecodeError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sequence_number"), int):
            return None
        kind = str(data.get("type"))
        shown = data.get("response")
        if isinstance(shown, dict):
            shown = {**shown, "id": self.id, "background": True, "store": True}
            if kind == "response.created":
                shown["status"] = "queued"
            data["response"] = self.response = shown
        if kind == "response.output_item.done" and isinstance(data.get("item"), dict):
            self.output.append(data["item"])
        self.terminal = self.terminal or kind in _TERMINAL_EVENTS
        return data["sequence_number"], encode_event(kind, _encode(data))

    def _add(self, events: list[tuple[int, bytes]]) -> None:
        if not self.events:
            self._store.progress(self.id)
        self.events += events
        self._store.events(self.id, events)
        self._wake()

    def end(self, kept: Kept) -> None:
        """The run's final state: kept, and told to its readers."""
        kept.background, kept.created_at = True, self.queued.created_at
        if kept.status == "failed" and not self.terminal:  # a stream that opened must end
            sequence = self.events[-1][0] + 1 if self.events else 0
            event = {"type": "response.failed", "sequence_number": sequence, "response": kept.body()}
            self._add([(sequence, encode_event("response.failed", _encode(event)))])
        self.final = kept
        self._store.finish(kept)
        self.done = True
        self._wake()

    def ended_as(self, status: str, error: dict[str, Any] | None = None) -> Kept:
        """The response as far as it got, ended with `status`."""
        response = {**self.response, "status": status, "output": self.output, "error": error}
        return Kept(self.id, self.key_id, response, self.queued.items, status, error=error)

    async def follow(self, after: int) -> AsyncIterator[bytes]:
        """Its events numbered above `after`, then each as it comes, until it has ended."""
        i = 0
        while True:
            while i < len(self.events):
                sequence, data = self.events[i]
                i += 1
                if sequence > after:
                    yield data
            if self.done:
                return
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


async def create(
    gw: Gateway,
    req: Request,
    out: Outcome,
    body: bytes,
    raw: dict[str, Any],
    *,
    model: str,
    had_options: bool,
    requested: GatewayOptions | None,
    previous: Previous | None,
) -> None:
    """`POST /v1/responses` with `background: true`."""
    store = gw.responses
    if store is None:
        raise InvalidRequest("background: the gateway keeps no responses (stored_responses is off)")
    if raw.get("store") is False:
        raise InvalidRequest("store: Background mode requires store=true.")
    key = out.key
    response_id, created_at = new_id("resp"), int(time.time())
    sealer = sealer_for(gw.settings.admin_key, gw.settings.data_dir)
    shaper = Shaper(model, model, raw, Toolbox(), sealer, seal=False, summary=False, id=response_id)
    shaper.created_at, shaper.store, shaper.background = created_at, True, True
    history = previous.items if previous is not None else []
    items = [*history, *for_storage(input_items(raw.get("input")))]
    queued = Kept(response_id, key.id, shaper.response("queued", [], None), items, "queued", background=True)
    bg = Background(response_id, created_at, key.id, store, queued)
    run_raw = {**raw, "stream": True}  # the run always streams: its events are kept

    async def work(request: Request) -> None:
        exchange = ResponsesExchange(gw, request, body, run_raw, had_options, keep=True)
        exchange.previous, exchange.background = previous, (response_id, created_at)
        exchange.before_first_attempt = bg.create_row
        await _run(gw, request, key, exchange, bg, model, requested)

    hand_over(out)  # from here the run's one ledger row stands for this request
    run = gw.runs.start(response_id, req, bg.send, work, bg)
    assert run.task is not None
    await asyncio.wait({bg.created, run.task}, return_when=asyncio.FIRST_COMPLETED)
    if not bg.created.done():  # the run ended without a word (a bug: it logged it)
        raise GatewayError("The background response could not be created")
    error = bg.created.exception()
    if error is not None:
        raise error
    if not raw.get("stream"):
        await req.respond(200, _encode(queued.response))
        return
    await send_events(req, bg.follow(-1))


async def _run(
    gw: Gateway,
    request: Request,
    key: GatewayKey,
    exchange: ResponsesExchange,
    bg: Background,
    model: str,
    requested: GatewayOptions | None,
) -> None:
    """The run: the pipeline as for any request, then its end recorded."""
    try:
        with accounted(gw, request, key, "responses") as out:
            out.streamed = True
            body, max_output, ending = exchange.admission_body(), exchange.max_output(), exchange.ending()
            await serve(
                gw,
                request,
                out,
                exchange,
                model=model,
                requested=requested,
                body=body,
                max_output=max_output,
                ending=ending,
            )
    except GatewayError as exc:
        if not bg.created.done():
            bg.created.set_exception(exc)
            return
        code = "rate_limit_exceeded" if exc.error_type == "rate_limit_error" else "server_error"  # ResponseError's
        bg.end(bg.ended_as("failed", {"code": code, "message": exc.message}))
    except ClientGone:
        run = gw.runs.get(bg.id)
        if not bg.created.done():  # stopped before it was created: the gateway is shutting down
            bg.created.set_exception(Overloaded("The gateway is shutting down; retry on another replica"))
        elif run is not None and run.stopped == SHUTDOWN:
            message = "the gateway shut down before this response finished"
            bg.end(bg.ended_as("failed", {"code": "server_error", "message": message}))
        else:
            bg.end(bg.ended_as(CANCELLED))
    except BaseException:
        if bg.created.done():
            bg.end(bg.ended_as("failed", {"code": "server_error", "message": "Internal gateway error"}))
        else:
            bg.created.set_exception(GatewayError("Internal gateway error"))
        raise
    else:
        bg.end(exchange.kept(key.id) or _as_shown(bg))


def _as_shown(bg: Background) -> Kept:
    """The end of a run the exchange has no record of, as its events showed it: a stream that
    ended in `response.failed`, or one answered from the response cache."""
    status, error = bg.response.get("status"), bg.response.get("error")
    if status in ("completed", "incomplete"):
        return bg.ended_as(str(status))
    return bg.ended_as("failed", error if isinstance(error, dict) else {"code": "server_error", "message": "failed"})


async def cancel(gw: Gateway, req: Request, key: GatewayKey, kept: Kept) -> None:
    """`POST /v1/responses/{id}/cancel`: stops a running background response, here or on the
    replica running it; a finished one is answered as it is (cancelling twice is idempotent)."""
    store = gw.responses
    assert store is not None
    if not kept.background:
        raise InvalidRequest("Only responses created with background: true can be cancelled.")
    if kept.status in RUNNING and await store.cancel(key.id, kept.id):
        run = gw.runs.get(kept.id)
        if run is not None and run.task is not None:
            run.stop(CANCELLED)
            await asyncio.wait({run.task}, timeout=_CANCEL_WAIT)
            final = run.context.final if isinstance(run.context, Background) else None
            if final is not None and final.status == CANCELLED:  # with the output it had
                await req.respond(200, _encode(final.body()))
                return
        kept = await store.load(key.id, kept.id) or kept
    await req.respond(200, _encode(kept.body()))


async def resume(gw: Gateway, req: Request, kept: Kept, after: int) -> None:
    """`GET /v1/responses/{id}?stream=true&starting_after=n`: its events numbered above `n`, then
    each as it comes, until it has ended."""
    if not kept.background:
        raise InvalidRequest("stream: only a response created with background: true can be streamed")
    run = gw.runs.get(kept.id)
    if run is not None and isinstance(run.context, Background):
        await send_events(req, run.context.follow(after))
        return
    store = gw.responses
    assert store is not None
    await send_events(req, _poll(store, kept, after))


async def _poll(store: ResponseStore, kept: Kept, after: int) -> AsyncIterator[bytes]:
    """A run elsewhere (or over): its stored events, read again until it has ended. Its status is
    read before its events, so a finished status comes with every event it wrote."""
    last, ended = after, False
    while True:
        state = await store.state(kept.id)
        events = await store.events_after(kept.id, last)
        for sequence, data in events:
            last = sequence
            ended = ended or data.startswith(tuple(f"event: {t}\n".encode() for t in _TERMINAL_EVENTS))
            yield data
        if ended or state is None:
            return
        status, error = state
        if status not in RUNNING and not events:
            if status == "failed":  # its process stopped before it could say so
                body = {**kept.response, "status": status, "error": error}
                event = {"type": "response.failed", "sequence_number": last + 1, "response": body}
                yield encode_event("response.failed", _encode(event))
            return
        if not events:
            await asyncio.sleep(_POLL)


async def send_events(req: Request, events: AsyncIterator[bytes]) -> None:
    """Events as an SSE body; the client leaving stops the sending, never the run."""
    await req.start(200, [(b"cache-control", b"no-cache")], SSE)

    async def pump() -> None:
        async for data in events:
            await req.send({"type": "http.response.body", "body": data, "more_body": True})
        await req.send({"type": "http.response.body", "body": b"", "more_body": False})

    task = asyncio.ensure_future(pump())
    gone = req.when_gone(task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not gone.left:
            raise
        log.debug("background stream reader left", extra={"fields": {"request_id": req.id}})
    finally:
        gone.stop()
