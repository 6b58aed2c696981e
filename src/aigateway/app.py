"""The ASGI application.

Middleware order: there is none. uvicorn hands each request to `App.__call__`, which routes on
(method, path) with a dict lookup, authenticates where the route needs a key, and renders any
`GatewayError` into the door's envelope. Streaming bodies go straight from the handler to
uvicorn; nothing in between buffers them. A WebSocket on `/v1/responses` is the Responses API's
WebSocket mode (frontends/responses/websocket.py) unless config turns it off; any other is refused.

Lifespan: start-up opens the store (running migrations), loads keys, seeds budget counters and
starts the background tasks (key refresh, budget seeding, ledger writer, providers' model lists;
metrics snapshots under `--workers N`; the genai-prices updater only if config turns it on);
shutdown flushes the ledger, settles counters and closes upstream pools. Admin
routes (`/admin/...`) and the door-neutral routes (usage, balance, generation, metrics, health:
frontends/admin/) live in their own modules; app.py only dispatches to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.asgi import ClientGone, InFlight, Receive, Request, Scope, Send
from aigateway.dashboard import routes as dashboard
from aigateway.errors import GatewayError, NotFound, Overloaded
from aigateway.frontends.admin import generation, health, usage
from aigateway.frontends.admin import keys as admin
from aigateway.frontends.admin.metrics import get_metrics
from aigateway.frontends.anthropic import models, routes
from aigateway.frontends.anthropic.errors import error_body, send_error
from aigateway.frontends.openai import models as openai_models
from aigateway.frontends.openai import routes as openai_routes
from aigateway.frontends.openai.errors import error_body as openai_error_body
from aigateway.frontends.openai.errors import send_error as send_openai_error
from aigateway.frontends.responses import models as responses_models
from aigateway.frontends.responses import routes as responses_routes
from aigateway.frontends.responses import websocket as responses_socket
from aigateway.gateway import Gateway
from aigateway.observability import tracing
from aigateway.observability.logging import log
from aigateway.observability.snapshots import Shared
from aigateway.pipeline.accounting import SHUT_DOWN, SHUTTING_DOWN
from aigateway.policy.admission import Admission
from aigateway.policy.budget import BudgetSeeder
from aigateway.policy.counters import Counters, LocalCounters
from aigateway.policy.keys import GatewayKey, KeyCache
from aigateway.policy.ledger import Ledger
from aigateway.policy.spool import Spool, replay
from aigateway.providers.base import Provider
from aigateway.providers.registry import DESCRIPTORS, build_providers, price_books
from aigateway.routing import price_source
from aigateway.routing.catalog import Catalog
from aigateway.routing.listings import Listings
from aigateway.routing.prices import PriceTable
from aigateway.settings import Settings
from aigateway.store.responses import ResponseStore, runner_id
from aigateway.store.sql import open_store

Handler = Callable[[Gateway, Request, GatewayKey], Awaitable[None]]
_KEYED: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/messages"): routes.messages,
    ("POST", "/v1/messages/count_tokens"): routes.count_tokens,
    ("POST", "/v1/chat/completions"): openai_routes.chat_completions,
    ("POST", "/v1/embeddings"): openai_routes.embeddings,
    ("POST", "/v1/responses"): responses_routes.responses,
    ("POST", "/v1/responses/input_tokens"): responses_routes.input_tokens,
}
_OPEN: dict[tuple[str, str], Callable[[Gateway, Request], Awaitable[None]]] = {
    ("GET", "/v1/usage"): usage.get_usage,  # authenticates itself: admin key or gateway key
    ("GET", "/v1/balance"): usage.get_balance,
    ("GET", "/v1/generation"): generation.get_generation,  # likewise
    ("GET", "/metrics"): get_metrics,  # admin key unless metrics.require_admin_key is off
    ("GET", "/health"): health.get_health,
    ("HEAD", "/health"): health.get_health,
}


def _openai_envelope(req: Request) -> bool:
    return openai_routes.is_openai_door(req) or responses_routes.is_responses_door(req)


async def _send_error(req: Request, exc: GatewayError) -> None:
    """A gateway error in the envelope of the door the request came in by."""
    await (send_openai_error if _openai_envelope(req) else send_error)(req, exc)


class App:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.gw: Gateway | None = None
        self.metrics_dir: Path | None = None  # set by `serve --workers N` (workers.py) before forking
        self.started = time.time()  # before any fork: every worker of this instance has the same

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        req = Request(scope, receive, send)  # `req.responded`: the response has started
        gw = self.gw
        assert gw is not None, "lifespan has not run"
        try:
            await self._dispatch(gw, req)
        except GatewayError as exc:
            if not req.responded:
                await _send_error(req, exc)
        except ClientGone:
            pass
        except asyncio.CancelledError:  # the server's shutdown timeout cut the request
            if not req.responded:
                cut = Overloaded(SHUTTING_DOWN, status=SHUT_DOWN[0])
                with contextlib.suppress(Exception):
                    await _send_error(req, cut)
            raise
        except Exception:
            log.exception("unhandled error", extra={"fields": {"request_id": req.id, "path": req.path}})
            if not req.responded:
                body = error_body("api_error", "Internal gateway error", req.id)
                if _openai_envelope(req):
                    body = openai_error_body("Internal gateway error", "server_error", None)
                await req.respond(500, body)
        finally:
            if req.held:
                req.release()

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The Responses API's WebSocket mode; with it off (or on any other path) a refusal."""
        gw = self.gw
        assert gw is not None, "lifespan has not run"
        if scope.get("path") == "/v1/responses" and self.settings.server.responses_websocket:
            await responses_socket.serve(gw, scope, receive, send)
        else:
            await responses_routes.refuse_websocket(scope, receive, send)

    async def _dispatch(self, gw: Gateway, req: Request) -> None:
        method, path = req.method, req.path
        handler = _KEYED.get((method, path))
        if handler is not None:
            key = await gw.authenticate(req)
            await handler(gw, req, key)
            return
        open_handler = _OPEN.get((method, path))
        if open_handler is not None:
            await open_handler(gw, req)
            return
        if path.startswith(admin.PREFIX):
            await admin.dispatch(gw, req)
            return
        if path.startswith(dashboard.PREFIX):
            await dashboard.dispatch(gw, req)
            return
        if path == "/v1/responses" and req.headers.get(b"upgrade", b"").lower() == b"websocket":
            await responses_routes.refuse_http_upgrade(gw, req)
            return
        if path == "/" and method == "HEAD":  # Claude Code's connectivity probe
            await req.respond(200, b"", content_type=None)
            return
        if method == "GET" and path.startswith("/v1/models"):
            await gw.authenticate(req)
            shape = openai_models if openai_routes.is_openai_door(req) else models
            if responses_models.wants_catalog(req):
                await responses_models.list_models(gw, req)  # Codex's catalog, and OpenAI's list
                return
            if path == "/v1/models":
                await shape.list_models(gw, req)
                return
            if path.startswith("/v1/models/") and len(path) > len("/v1/models/"):
                await shape.get_model(gw, req, path[len("/v1/models/") :])
                return
        if path.startswith(responses_routes.STORED):  # a response the gateway kept
            key = await gw.authenticate(req)
            await responses_routes.stored(gw, req, key)
            return
        raise NotFound(f"No route for {method} {path}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        InFlight.limit = self.settings.server.max_inflight_body_bytes
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.gw = await start_gateway(self.settings, self.metrics_dir, self.started)
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


def _counters(settings: Settings) -> Counters:
    if settings.redis_url:
        from aigateway.policy.redis_counters import RedisCounters  # only deployments with Redis import it

        return RedisCounters(settings.redis_url, settings.redis_prefix)
    return LocalCounters()


async def start_gateway(settings: Settings, metrics_dir: Path | None = None, started: float | None = None) -> Gateway:
    engine = await open_store(settings.sqlalchemy_url)
    responses = await _stored_responses(settings, engine, started)
    keys = KeyCache(engine, refresh_interval=settings.keys.refresh_interval)
    await keys.refresh()
    prices = PriceTable.load((p.model_dump() for p in settings.prices), price_books(settings))
    await asyncio.to_thread(price_source.warm_up)
    admission = Admission(_counters(settings), prices)
    spool = None
    if settings.ledger.spool:  # rows a killed process left behind are written before spend is seeded
        await replay(engine, settings.data_dir / "spool")
        spool = Spool(settings.data_dir / "spool")
    ledger = Ledger(
        engine, flush_interval=settings.ledger.flush_interval, batch_size=settings.ledger.batch_size, spool=spool
    )
    seeder = BudgetSeeder(engine, admission, ledger)
    try:
        await seeder.seed(keys.keys)
    except Exception as exc:  # Redis is down: keys without limits are served; the others get 503s until it is back
        log.warning("budget counters not seeded at start-up", extra={"fields": {"error": type(exc).__name__}})
    ledger.start()
    gw = Gateway(
        settings=settings,
        catalog=Catalog.load([entry.model_dump() for entry in settings.catalog]),
        providers=build_providers(settings),
        engine=engine,
        keys=keys,
        ledger=ledger,
        admission=admission,
        responses=responses,
    )
    gw.tracer = tracing.from_env({name: DESCRIPTORS[kind].telemetry_name for name, kind in gw.kinds.items()})
    _start_model_knowledge(gw, settings)
    if metrics_dir is not None:
        gw.shared = Shared(metrics_dir, gw.metrics, gw.health)
        gw.tasks.append(asyncio.create_task(gw.shared.run(), name="metrics-snapshots"))
    gw.tasks.append(asyncio.create_task(keys.run_refresher(), name="key-refresh"))
    gw.tasks.append(asyncio.create_task(seeder.run(keys), name="budget-seed"))
    return gw


async def _stored_responses(settings: Settings, engine: AsyncEngine, started: float | None) -> ResponseStore | None:
    """The Responses door's store, with the background runs this instance left unfinished failed."""
    cfg = settings.stored_responses
    if not cfg.enabled:
        return None
    runner = runner_id(settings.data_dir)
    store = ResponseStore(engine, ttl=cfg.ttl, max_bytes=cfg.max_bytes_per_key, runner=runner, started=started)
    failed = await store.fail_orphans()
    if failed:
        log.warning("background responses left unfinished were failed", extra={"fields": {"count": failed}})
    store.start()
    return store


def _start_model_knowledge(gw: Gateway, settings: Settings) -> None:
    """Spelling rules, the providers' own model lists (background), and the genai-prices updater
    when config asks for it (off by default: the gateway fetches nothing but its upstreams)."""
    gw.spellers = {kind: d.spell for kind, d in DESCRIPTORS.items()}
    listing = {name: _one_credential(p) for name, p in gw.providers.items() if DESCRIPTORS[gw.kinds[name]].lists_models}
    if settings.listings.enabled and listing:
        cfg = settings.listings
        gw.listings = Listings(listing, interval=cfg.interval, timeout=cfg.timeout)
        gw.tasks.append(asyncio.create_task(gw.listings.run(gw.forget_plans), name="model-listings"))
    if settings.price_updates.enabled:
        updater = price_source.start_updates(settings.price_updates.interval)
        gw.closers.append(updater.stop)


def _one_credential(provider: Provider) -> Provider:
    """A provider with weighted keys lists its models with the first of them."""
    keys = provider.config.api_keys
    return provider.with_api_key(keys[0].key) if keys and not provider.config.api_key else provider
