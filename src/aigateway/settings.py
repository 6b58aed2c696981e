"""Typed settings: what the gateway runs with, with its defaults.

Every key is documented in `config.example.yaml` at the repository root; config.py reads the
file (or the environment) into these types. Provider blocks share `ProviderConfig`; a kind with
fields of its own subclasses it in its `descriptor.py`, so nothing here knows a provider.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Timeouts(_Strict):
    connect: float = Field(default=10.0, gt=0, description="seconds to open a connection to the upstream")
    read: float = Field(default=600.0, gt=0, description="seconds the upstream may stay silent (idle gap)")
    first_byte: float | None = Field(default=None, gt=0, description="seconds to the first content; then fail over")
    total: float | None = Field(default=None, gt=0, description="seconds for a whole attempt, stream included")


class WeightedKey(_Strict):
    key: str = Field(repr=False)
    weight: float = Field(default=1.0, gt=0)


def date_as_text(cls: type, value: object) -> object:
    """YAML reads an unquoted 2024-10-21 as a date; API versions are often exactly that shape."""
    return value.isoformat() if isinstance(value, datetime.date) else value


def base_url_problem(value: str) -> str | None:
    """Why `value` cannot be the root every upstream path is joined to, or None. Request paths
    are appended to it, so a query or fragment would swallow them; `{region}` and `{location}`
    are filled in later."""
    if not value.startswith(("http://", "https://")):
        return "must start with http:// or https://"
    if any(c.isspace() or not c.isprintable() for c in value):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(value.replace("{region}", "region").replace("{location}", "location"))
        parts.port  # noqa: B018 -- raises for a port that is not a number in range
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if not parts.hostname:
        return "has no host"
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return "must not have a query or fragment (request paths are appended to it)"
    return None


class ProviderConfig(_Strict):
    """The fields every provider kind has; a kind with more subclasses it in its descriptor.py."""

    type: str | None = None
    base_url: str = ""  # empty: the kind's public endpoint
    api_key: str | None = Field(default=None, repr=False)
    api_keys: list[WeightedKey] = []  # several credentials, balanced by weight (instead of api_key)
    headers: dict[str, str] = {}  # sent with every upstream request (e.g. OpenRouter's HTTP-Referer)
    timeouts: Timeouts = Timeouts()
    max_connections: int = Field(default=256, ge=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        problem = base_url_problem(value) if value else None
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("api_key")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("is empty")
        return value


class ServerConfig(_Strict):
    """What one client may hold of the server, and for how long (README: Limits)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, description="one request body; more is a 413")
    max_json_depth: int = Field(default=64, ge=8, le=512, description="nesting of a JSON body; deeper is a 400")
    max_inflight_body_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024, description="request bodies held at once; past it new ones get a 529/503"
    )
    max_header_bytes: int = Field(default=64 * 1024, ge=1024, description="a request line and headers; more is a 431")
    header_timeout: float = Field(default=10.0, gt=0, description="seconds from a connection or request to its headers")
    body_timeout: float = Field(default=60.0, gt=0, description="seconds to receive a whole body once it began; a 408")
    keep_alive_timeout: float = Field(default=5.0, gt=0, description="seconds an idle connection is kept open")
    shutdown_timeout: float = Field(
        default=30.0, gt=0, description="seconds SIGTERM waits for requests in flight before it cuts them"
    )
    max_connections: int = Field(default=4096, ge=1, description="open client connections; past it a 503 and close")
    responses_websocket: bool = Field(
        default=True, description="the Responses API's WebSocket mode on /v1/responses; off, an upgrade gets 426"
    )


class LedgerConfig(_Strict):
    flush_interval: float = Field(default=0.2, gt=0, description="seconds between batched ledger writes")
    batch_size: int = Field(default=500, ge=1)
    spool: bool = Field(default=True, description="write-ahead spool in the data directory: no row lost on SIGKILL")


class BreakerConfig(_Strict):
    failures: int = Field(default=5, ge=1, description="consecutive failures that open a breaker")
    cooldown: float = Field(default=30.0, gt=0, description="seconds an open breaker waits before a probe")


class RoutingConfig(_Strict):
    retries: int = Field(default=2, ge=0, description="extra tries of one attempt on transient errors")
    max_attempts: int = Field(default=6, ge=1, description="upstream calls per request, all attempts together")
    backoff_base: float = Field(default=0.25, gt=0)
    backoff_max: float = Field(default=8.0, gt=0)
    deadline: float = Field(default=120.0, gt=0, description="seconds after which no new attempt starts")
    breaker: BreakerConfig = BreakerConfig()
    # providerOptions.gateway defaults (same vocabulary), for every request, per model, per key name
    defaults: dict[str, Any] = {}
    models: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[str, Any]] = {}


class LifecycleConfig(_Strict):
    """A model's lifecycle on one provider (routing/catalog.py: Lifecycle)."""

    deprecated: datetime.date | None = None
    retires: datetime.date | None = None
    successor: str | None = None


class CatalogEntry(_Strict):
    """A model added to (or replacing one of) the shipped catalog: routing/models.yaml's shape."""

    id: str
    display_name: str | None = None
    created_at: str | None = None
    aliases: list[str] = []
    providers: dict[str, str] = Field(min_length=1)
    context_window: int | None = Field(default=None, ge=1)
    max_output: int | None = Field(default=None, ge=1)
    lifecycle: dict[str, LifecycleConfig] = {}


class ModelRule(_Strict):
    """What the operator decides about one model id (`models:` in config)."""

    redirect: str = Field(min_length=3, description="serve this model id instead (provider/model or a catalog id)")


class ListingsConfig(_Strict):
    """Reading each configured provider's own model list, in the background."""

    enabled: bool = True
    interval: float = Field(default=300.0, ge=10, description="seconds between two reads of a provider's list")
    timeout: float = Field(default=10.0, gt=0, description="seconds one read may take")


class PriceUpdatesConfig(_Strict):
    """The genai-prices package's own updater: off unless turned on here (it fetches its data)."""

    enabled: bool = False
    interval: float = Field(default=3600.0, ge=60, description="seconds between two fetches")


class LoggingConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    content: bool = Field(default=False, description="add prompts and completions to the request lines")


class MetricsConfig(_Strict):
    enabled: bool = True
    require_admin_key: bool = Field(default=True, description="GET /metrics needs the admin key (Bearer)")


class DashboardConfig(_Strict):
    enabled: bool = True
    session_hours: float = Field(default=12.0, gt=0, description="a sign-in lasts this long")


class KeysConfig(_Strict):
    refresh_interval: float = Field(
        default=2.0, gt=0, description="seconds between key reloads: the bound on revocation and policy changes"
    )


class LongContextPrice(_Strict):
    """A tier for requests whose whole input exceeds `above_input_tokens`: all their tokens cost this."""

    above_input_tokens: int = Field(ge=1)
    input: Decimal = Field(ge=0, decimal_places=6)
    output: Decimal = Field(ge=0, decimal_places=6)
    cache_write_5m: Decimal = Field(ge=0, decimal_places=6)
    cache_write_1h: Decimal = Field(ge=0, decimal_places=6)
    cache_read: Decimal = Field(ge=0, decimal_places=6)


class PriceConfig(_Strict):
    """USD per million tokens for one (model, provider); replaces any other price of it."""

    model: str
    provider: str  # a configured provider's name, or a kind (every provider of that kind)
    long_context: LongContextPrice | None = None
    web_search_per_1000: Decimal | None = Field(default=None, ge=0, decimal_places=6, description="USD per 1,000")
    input: Decimal = Field(ge=0, decimal_places=6)
    output: Decimal = Field(ge=0, decimal_places=6)
    cache_write_5m: Decimal = Field(ge=0, decimal_places=6)
    cache_write_1h: Decimal = Field(ge=0, decimal_places=6)
    cache_read: Decimal = Field(ge=0, decimal_places=6)


class ResponseCacheConfig(_Strict):
    """Where the response cache (providerOptions.gateway.responseCache) keeps answers: Redis when
    `redis_url` is set, else a bounded store in each process."""

    shared: bool = Field(default=False, description="one entry serves every key (else each key has its own)")
    max_entries: int = Field(default=1000, ge=1, description="in-process store: answers kept, least recent out")
    max_bytes: int = Field(default=64 * 2**20, ge=1, description="in-process store: total bytes kept")
    max_answer_bytes: int = Field(default=4 * 2**20, ge=1, description="larger answers are not stored")


class StoredResponsesConfig(_Strict):
    """Responses the Responses API door keeps (`store`, `previous_response_id`, `background`)."""

    enabled: bool = Field(default=True, description="off: nothing is kept, previous_response_id only passes through")
    ttl: float = Field(default=30 * 86400.0, gt=0, description="seconds a stored response is kept")
    max_bytes_per_key: int = Field(
        default=256 * 2**20, ge=1, description="a key's stored responses (compressed); past it its oldest go"
    )


class Settings(_Strict):
    server: ServerConfig = ServerConfig()
    database_url: str | None = Field(default=None, repr=False)
    redis_url: str | None = Field(default=None, repr=False)
    redis_prefix: str = "aigw:"
    admin_key: str | None = Field(default=None, repr=False, min_length=16)
    providers: dict[str, ProviderConfig] = {}
    prices: list[PriceConfig] = []
    price_updates: PriceUpdatesConfig = PriceUpdatesConfig()
    models: dict[str, ModelRule] = {}
    listings: ListingsConfig = ListingsConfig()
    keys: KeysConfig = KeysConfig()
    ledger: LedgerConfig = LedgerConfig()
    routing: RoutingConfig = RoutingConfig()
    response_cache: ResponseCacheConfig = ResponseCacheConfig()
    stored_responses: StoredResponsesConfig = StoredResponsesConfig()
    catalog: list[CatalogEntry] = []
    logging: LoggingConfig = LoggingConfig()
    metrics: MetricsConfig = MetricsConfig()
    dashboard: DashboardConfig = DashboardConfig()
    # Not from the file: where the embedded store lives.
    data_dir: Path = Path("data")

    def provider_kind(self, name: str) -> str:
        return self.providers[name].type or name

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'aigateway.db'}"
