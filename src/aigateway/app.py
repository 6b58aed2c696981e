"""The ASGI application.

Middleware order: there is none. uvicorn hands each request to `App.__call__`, which routes on
(method, path) with a dict lookup, authenticates where the route needs a key, and renders any
`GatewayError` into the door's envelope. Streaming bodies go straight from the handler to
uvicorn; nothing in between buffers them.

Lifespan: start-up opens the store (running migrations), loads keys and starts the background
tasks (key refresh, ledger writer); shutdown flushes the ledger and closes upstream pools.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import msgspec

from aigateway.asgi import ClientGone, Message, Receive, Request, Scope, Send
from aigateway.errors import GatewayError, NotFound
from aigateway.frontends.anthropic import models, routes
from aigateway.frontends.anthropic.errors import error_body, send_error
from aigateway.gateway import Gateway
from aigateway.observability.logging import log
from aigateway.policy.keys import GatewayKey, KeyCache
from aigateway.policy.ledger import Ledger
from aigateway.providers.base import TranslatingProvider
from aigateway.providers.registry import build_providers
from aigateway.routing.catalog import Catalog
from aigateway.settings import Settings
from aigateway.store.sql import open_store
from aigateway.tokens import warm_up

Handler = Callable[[Gateway, Request, GatewayKey], Awaitable[None]]
_KEYED: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/messages"): routes.messages,
    ("POST", "/v1/messages/count_tokens"): routes.count_tokens,
}


class App:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.gw: Gateway | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        req = Request(scope, receive, tracked_send)
        gw = self.gw
        assert gw is not None, "lifespan has not run"
        try:
            await self._dispatch(gw, req)
        except GatewayError as exc:
            if not started:
                await send_error(req, exc)
        except ClientGone:
            pass
        except Exception:
            log.exception("unhandled error", extra={"fields": {"request_id": req.id, "path": req.path}})
            if not started:
                body = error_body("api_error", "Internal gateway error", req.id)
                await req.respond(500, body)

    async def _dispatch(self, gw: Gateway, req: Request) -> None:
        method, path = req.method, req.path
        handler = _KEYED.get((method, path))
        if handler is not None:
            key = await gw.authenticate(req)
            await handler(gw, req, key)
            return
        if path == "/health" and method in ("GET", "HEAD"):
            body = msgspec.json.encode({"status": "ok", "providers": gw.health.snapshot()})
            await req.respond(200, body if method == "GET" else b"")
            return
        if path == "/" and method == "HEAD":  # Claude Code's connectivity probe
            await req.respond(200, b"", content_type=None)
            return
        if method == "GET" and path.startswith("/v1/models"):
            await gw.authenticate(req)
            if path == "/v1/models":
                await models.list_models(gw, req)
                return
            if path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
                await models.get_model(gw, req, path[len("/v1/models/") :])
                return
        raise NotFound(f"No route for {method} {path}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.gw = await start_gateway(self.settings)
                except Exception as exc:
                    log.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.gw is not None:
                    await self.gw.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def start_gateway(settings: Settings) -> Gateway:
    engine = await open_store(settings.sqlalchemy_url)
    keys = KeyCache(engine)
    await keys.refresh()
    ledger = Ledger(engine, flush_interval=settings.ledger.flush_interval, batch_size=settings.ledger.batch_size)
    ledger.start()
    gw = Gateway(
        settings=settings,
        catalog=Catalog.load([entry.model_dump() for entry in settings.catalog]),
        providers=build_providers(settings),
        engine=engine,
        keys=keys,
        ledger=ledger,
    )
    gw.tasks.append(asyncio.create_task(keys.run_refresher(), name="key-refresh"))
    if any(isinstance(p, TranslatingProvider) for p in gw.providers.values()):
        # Tokenizers take about half a second to build: off the loop, before the first request needs them.
        gw.tasks.append(asyncio.create_task(asyncio.to_thread(warm_up), name="tokenizer-warm-up"))
    return gw
