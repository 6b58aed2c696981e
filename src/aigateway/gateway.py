"""The gateway's running state: settings, catalog, providers, keys, ledger, store, admission, token
counts, the response cache, the Responses door's stored responses, and what it knows of models beyond
the catalog (live listings, redirects, spellings)."""

from __future__ import annotations

import asyncio
import datetime
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.asgi import Request
from aigateway.errors import AuthenticationFailed
from aigateway.observability.metrics import Metrics
from aigateway.observability.snapshots import Shared
from aigateway.observability.tracing import Tracer
from aigateway.pipeline.detached import Runs
from aigateway.pipeline.response_cache import ResponseCache
from aigateway.pipeline.response_cache import build as build_response_cache
from aigateway.policy.admission import Admission
from aigateway.policy.keys import GatewayKey, KeyCache
from aigateway.policy.ledger import Ledger
from aigateway.providers.base import Provider
from aigateway.routing.catalog import ACTIVE, Catalog, Lifecycle, Route
from aigateway.routing.health import Health
from aigateway.routing.inventory import Served, Sources, inventory
from aigateway.routing.listings import Listings
from aigateway.routing.options import GatewayOptions, parse_options
from aigateway.routing.plan import Attempt, Lane, build_lanes, build_plan, check_byok
from aigateway.routing.retry import RetryPolicy
from aigateway.settings import Settings
from aigateway.store.responses import ResponseStore
from aigateway.tokens import TokenCountCache


def presented_secret(req: Request) -> bytes | None:
    """`x-api-key` or `Authorization: Bearer`, as the Anthropic SDKs and Claude Code send them."""
    secret = req.headers.get(b"x-api-key")
    if not secret:
        auth = req.headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            secret = auth[7:].strip()
    return secret or None


@dataclass
class Gateway:
    settings: Settings
    catalog: Catalog
    providers: dict[str, Provider]
    engine: AsyncEngine
    keys: KeyCache
    ledger: Ledger
    admission: Admission
    responses: ResponseStore | None = None  # responses the Responses door keeps (None: stored_responses off)
    runs: Runs = field(default_factory=Runs)  # requests running detached from their client (background mode)
    token_counts: TokenCountCache = field(default_factory=TokenCountCache)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    shared: Shared | None = None  # only under `serve --workers N`: the other workers' metrics
    tracer: Tracer | None = None  # set only when OTEL_* asks for traces
    listings: Listings | None = None  # providers' own model lists, read in the background
    spellers: dict[str, Callable[[str], str]] = field(default_factory=dict)  # kind -> its id spelling rule
    closers: list[Callable[[], None]] = field(default_factory=list)  # run at shutdown
    # a route's lifecycle headers on a day (pipeline/lifecycle.py), built once
    notices: dict[tuple[str, str, str, datetime.date], tuple[tuple[bytes, bytes], ...]] = field(default_factory=dict)
    health: Health = field(init=False)
    lanes: dict[str, list[Lane]] = field(init=False)
    retry_policy: RetryPolicy = field(init=False)
    response_cache: ResponseCache = field(init=False)  # providerOptions.gateway.responseCache

    def __post_init__(self) -> None:
        if self.responses is not None:  # a run cancelled or deleted on another replica stops here
            self.responses.on_stop = self._stop_run
        routing = self.settings.routing
        self.health = Health(threshold=routing.breaker.failures, cooldown=routing.breaker.cooldown)
        self.lanes = build_lanes(self.providers)
        self.kinds = {name: self.settings.provider_kind(name) for name in self.providers}
        self.retry_policy = RetryPolicy(
            retries=routing.retries,
            max_attempts=routing.max_attempts,
            backoff_base=routing.backoff_base,
            backoff_max=routing.backoff_max,
            deadline=routing.deadline,
        )
        self.response_cache = build_response_cache(self.settings)
        self._defaults = parse_options(routing.defaults)
        self._model_defaults = {m: parse_options(v) for m, v in routing.models.items()}
        self._key_defaults = {k: parse_options(v) for k, v in routing.keys.items()}
        self._single_lanes = all(len(lanes) == 1 for lanes in self.lanes.values())
        self._plans: dict[tuple[str, bool], list[Attempt]] = {}

    def _stop_run(self, response_id: str) -> None:
        self.runs.stop(response_id, "cancelled")

    def routing_options(self, model: str, key_name: str, requested: GatewayOptions | None) -> GatewayOptions:
        """The request's own options over the key's defaults over the model's over the gateway's."""
        merged = self._defaults
        for layer in (self._model_defaults.get(model), self._key_defaults.get(key_name), requested):
            if layer is not None:
                merged = layer.merged(merged)
        check_byok(merged, self.kinds)
        return merged

    def plan(self, model: str, options: GatewayOptions, *, signed_history: bool = False) -> list[Attempt]:
        """The attempts for `model`. A plan that depends on nothing but the model (default options,
        one credential per provider) is built once: callers never change a plan, they filter it."""
        cacheable = options is self._defaults and not options.sort and self._single_lanes
        if cacheable:
            cached = self._plans.get((model, signed_history))
            if cached is not None:
                return cached
        plan = self._build_plan(model, options, signed_history)
        if cacheable and len(self._plans) < 4096:  # bounded: model ids come from clients
            self._plans[(model, signed_history)] = plan
        return plan

    def _build_plan(self, model: str, options: GatewayOptions, signed_history: bool) -> list[Attempt]:
        return build_plan(
            model,
            options,
            signed_history=signed_history,
            kinds=self.kinds,
            lanes=self.lanes,
            catalog=self.catalog,
            health=self.health,
            cost=self._rate,
            spell=self.spell,
        )

    def redirect(self, model: str) -> str:
        """The model the operator serves in place of `model` (`models: {id: {redirect: ...}}`)."""
        rule = self.settings.models.get(model)
        return rule.redirect if rule is not None else model

    def lifecycle(self, route: Route) -> Lifecycle:
        """The route's model's lifecycle on the route's provider, as the catalog knows it."""
        if route.entry is None:
            return ACTIVE
        return route.entry.lifecycle_on(route.provider, self.kinds.get(route.provider, route.provider))

    def spell(self, provider: str, model: str) -> str:
        """A model id the catalog does not know, as `provider` spells it: its live list's
        spelling, else its kind's rule (Anthropic: claude-sonnet-5.5 -> claude-sonnet-5-5)."""
        listed = self.listings.find(provider, model) if self.listings is not None else None
        if listed is not None:
            return listed
        rule = self.spellers.get(self.kinds.get(provider, provider))
        return rule(model) if rule is not None else model

    def served_models(self) -> list[Served]:
        """Every model this gateway serves, with its offers (routing/inventory.py)."""
        listings = self.listings.models if self.listings is not None else {}
        prices = self.admission.prices
        return inventory(Sources(self.catalog, self.kinds, self.admission.quote, prices.context_window, listings))

    def forget_plans(self) -> None:
        """Cached plans are rebuilt (a provider's list changed how an id is spelled)."""
        self._plans.clear()

    def _rate(self, route: Route) -> float | None:
        """What `sort: cost` ranks by: the input plus output price per token."""
        price = self.admission.price_for(route)
        return None if price is None else float(price.input + price.output)

    async def authenticate(self, req: Request) -> GatewayKey:
        secret = presented_secret(req)
        if not secret:
            raise AuthenticationFailed("Missing API key: send it as x-api-key or Authorization: Bearer")
        key = await self.keys.lookup(secret.decode("latin-1"))
        if key is None:
            raise AuthenticationFailed("Invalid API key")
        expires = key.policy.expires_at
        if expires is not None and time.time() >= expires:
            raise AuthenticationFailed("This API key has expired")
        return key

    def is_admin(self, req: Request) -> bool:
        """True when the request carries the admin key (compared in constant time)."""
        admin = self.settings.admin_key
        secret = presented_secret(req)
        return bool(admin and secret and hmac.compare_digest(secret, admin.encode()))

    async def aclose(self) -> None:
        await self.runs.aclose()  # they record how they ended: before the ledger and the store close
        for close in self.closers:
            close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.shared is not None:
            self.shared.write(final=True)  # requests are over: the counts are final
        await self.ledger.close()
        if self.responses is not None:
            await self.responses.close()
        await self.admission.aclose()
        await self.response_cache.aclose()
        for provider in self.providers.values():
            await provider.aclose()
        await self.engine.dispose()
        if self.tracer is not None:
            await asyncio.to_thread(self.tracer.shutdown)
