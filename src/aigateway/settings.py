"""Typed settings: one YAML file, `${ENV}` interpolation, defaults, env-only mode.

Every key is documented in `config.example.yaml` at the repository root. Resolution order for the
file and the data directory: command-line flag, then `AIGATEWAY_CONFIG` / `AIGATEWAY_DATA_DIR`,
then defaults (no file; `./data`). Without a file, each known provider whose standard key
variable is set (`ANTHROPIC_API_KEY`, ...) is enabled with its public base URL.

Errors are `ConfigError`s whose lines read `FILE:LINE: path.to.key: what is wrong`.
`AIGATEWAY_DATABASE_URL`, `AIGATEWAY_REDIS_URL` and `AIGATEWAY_ADMIN_KEY`, when set, take the place
of `database_url`, `redis_url` and `admin_key` from the file (secrets can stay out of it).
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aigateway.errors import InvalidRequest
from aigateway.providers.openai.profiles import PROFILES
from aigateway.routing.options import parse_options

# Provider kinds this build can talk to: kind -> (default base URL, standard key variable or None).
PROVIDER_KINDS: dict[str, tuple[str, str | None]] = {
    "anthropic": ("https://api.anthropic.com", "ANTHROPIC_API_KEY"),
    **{kind: (profile.base_url, profile.key_env) for kind, profile in PROFILES.items()},
    "gemini": ("https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY"),
    # {location} is filled from the provider's `location` (global: aiplatform.googleapis.com).
    "vertex": ("https://{location}-aiplatform.googleapis.com/v1", None),
}
# AWS Bedrock: `{region}` is filled from the block's `region`; without a Bedrock API key the
# standard AWS credential chain signs the requests, so no key is required.
PROVIDER_KINDS["bedrock"] = ("https://bedrock-runtime.{region}.amazonaws.com", "AWS_BEARER_TOKEN_BEDROCK")
# Servers people run themselves, usually without a key.
KEYLESS_KINDS = frozenset({"ollama", "vllm", "lmstudio", "openai_compatible"})
KEYLESS_KINDS |= {"bedrock"}  # AWS credentials come from the standard chain

_ENV_OVERRIDES = {
    "database_url": "AIGATEWAY_DATABASE_URL",
    "redis_url": "AIGATEWAY_REDIS_URL",
    "admin_key": "AIGATEWAY_ADMIN_KEY",
}
# Authenticated by Google credentials (a service-account file or the environment's), not a key.
CREDENTIAL_KINDS = frozenset({"vertex"})

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A config that cannot be used; `problems` are human-readable lines."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


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
    type: str | None = None
    base_url: str = ""  # empty: the kind's public endpoint
    api_key: str | None = Field(default=None, repr=False)
    api_keys: list[WeightedKey] = []  # several credentials, balanced by weight (instead of api_key)
    api_version: str | None = None  # azure only: the `api-version` query parameter
    region: str | None = None  # bedrock only: AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)
    headers: dict[str, str] = {}  # sent with every upstream request (e.g. OpenRouter's HTTP-Referer)
    timeouts: Timeouts = Timeouts()
    max_connections: int = Field(default=256, ge=1)
    # vertex only: the Google Cloud project and region, and a service-account JSON file (unset:
    # the environment's application-default credentials)
    project: str | None = None
    location: str | None = None
    credentials_file: str | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        problem = base_url_problem(value) if value else None
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("api_version", mode="before")
    @classmethod
    def _date_as_text(cls, value: object) -> object:
        """YAML reads an unquoted 2024-10-21 as a date; Azure's versions are exactly that shape."""
        return value.isoformat() if isinstance(value, datetime.date) else value

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
    max_connections: int = Field(default=4096, ge=1, description="open client connections; past it a 503 and close")


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


class CatalogEntry(_Strict):
    """A model added to (or replacing one of) the shipped catalog: routing/models.yaml's shape."""

    id: str
    display_name: str | None = None
    created_at: str | None = None
    aliases: list[str] = []
    providers: dict[str, str] = Field(min_length=1)


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
    input: Decimal = Field(ge=0, decimal_places=3)
    output: Decimal = Field(ge=0, decimal_places=3)
    cache_write_5m: Decimal = Field(ge=0, decimal_places=3)
    cache_write_1h: Decimal = Field(ge=0, decimal_places=3)
    cache_read: Decimal = Field(ge=0, decimal_places=3)


class PriceConfig(_Strict):
    """USD per million tokens for one (model, provider); replaces the shipped price if any."""

    model: str
    provider: str
    long_context: LongContextPrice | None = None
    input: Decimal = Field(ge=0, decimal_places=3)
    output: Decimal = Field(ge=0, decimal_places=3)
    cache_write_5m: Decimal = Field(ge=0, decimal_places=3)
    cache_write_1h: Decimal = Field(ge=0, decimal_places=3)
    cache_read: Decimal = Field(ge=0, decimal_places=3)


class Settings(_Strict):
    server: ServerConfig = ServerConfig()
    database_url: str | None = Field(default=None, repr=False)
    redis_url: str | None = Field(default=None, repr=False)
    redis_prefix: str = "aigw:"
    admin_key: str | None = Field(default=None, repr=False, min_length=16)
    providers: dict[str, ProviderConfig] = {}
    prices: list[PriceConfig] = []
    keys: KeysConfig = KeysConfig()
    ledger: LedgerConfig = LedgerConfig()
    routing: RoutingConfig = RoutingConfig()
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


def resolve_paths(config: str | None, data_dir: str | None) -> tuple[Path | None, Path]:
    cfg = config or os.environ.get("AIGATEWAY_CONFIG") or None
    data = data_dir or os.environ.get("AIGATEWAY_DATA_DIR") or "data"
    return (Path(cfg) if cfg else None), Path(data)


def load_settings(config: Path | None, data_dir: Path, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    if config is None:
        raw = _from_env(env)
        lines: dict[tuple[Any, ...], int] = {}
        label = "(environment)"
    else:
        try:
            text = config.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError([f"{config}: cannot read: {exc.strerror}"]) from None
        raw, lines = _parse_yaml(text, str(config))
        raw = _interpolate(raw, (), env, lines, str(config))
        label = str(config)
    if not isinstance(raw, dict):
        raise ConfigError([f"{label}:1: the top level must be a mapping"])
    if "data_dir" in raw:
        raise ConfigError([f"{label}:{lines.get(('data_dir',), 1)}: data_dir: set it with --data-dir"])
    for name, var in _ENV_OVERRIDES.items():
        if env.get(var):
            raw[name] = env[var]
    try:
        settings = Settings.model_validate({**raw, "data_dir": data_dir})
    except ValidationError as exc:
        raise ConfigError([_describe(err, lines, label) for err in exc.errors()]) from None
    problems = [
        f"{label}:{lines.get(('providers', name), 1)}: providers.{name}: {problem}"
        for name, problem in _provider_problems(settings)
    ]
    problems += [f"{label}:{lines.get(path, 1)}: {problem}" for path, problem in _routing_problems(settings)]
    if problems:
        raise ConfigError(problems)
    return _with_default_urls(settings)


def _with_default_urls(settings: Settings) -> Settings:
    providers = {
        name: cfg
        if cfg.base_url
        else cfg.model_copy(update={"base_url": PROVIDER_KINDS[settings.provider_kind(name)][0]})
        for name, cfg in settings.providers.items()
    }
    return settings.model_copy(update={"providers": providers})


def _provider_problems(settings: Settings) -> list[tuple[str, str]]:
    problems = []
    for name in settings.providers:
        kind = settings.provider_kind(name)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            problems.append((name, "a provider name must be lower snake case (it is the prefix of model ids)"))
        elif kind not in PROVIDER_KINDS:
            known = ", ".join(sorted(PROVIDER_KINDS))
            problems.append((name, f"unknown provider type {kind!r} (known: {known}); set `type:` to one of them"))
        else:
            cfg = settings.providers[name]
            if cfg.api_key is None and not cfg.api_keys and kind not in KEYLESS_KINDS | CREDENTIAL_KINDS:
                problems.append((name, "api_key: Field required"))
            if cfg.api_key is not None and cfg.api_keys:
                problems.append((name, "set api_key or api_keys, not both"))
            if kind == "vertex" and not (cfg.project and cfg.location):
                problems.append((name, "vertex needs project and location (e.g. us-east5, or global)"))
            if kind == "azure" and not (cfg.base_url and cfg.api_version):
                problems.append((name, "azure needs base_url (https://RESOURCE.openai.azure.com) and api_version"))
    return problems


def _routing_problems(settings: Settings) -> list[tuple[tuple[Any, ...], str]]:
    """Routing defaults use the request's `providerOptions.gateway` vocabulary, checked the same way."""
    routing = settings.routing
    tables: list[tuple[tuple[str, ...], dict[str, Any]]] = [(("routing", "defaults"), routing.defaults)]
    tables += [(("routing", "models", m), v) for m, v in routing.models.items()]
    tables += [(("routing", "keys", k), v) for k, v in routing.keys.items()]
    problems = []
    for path, value in tables:
        try:
            parse_options(value, ".".join(path))
        except InvalidRequest as exc:
            problems.append((path, exc.message))
    return problems


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    providers = {}
    for kind, (base_url, key_var) in PROVIDER_KINDS.items():
        if key_var and env.get(key_var):
            providers[kind] = {"base_url": base_url, "api_key": env[key_var]}
    return {"providers": providers}


def _parse_yaml(text: str, label: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else {}
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{label}:{mark.line + 1}" if mark else label
        raise ConfigError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data, lines


def _index_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            _index_lines(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), lines)


def _interpolate(
    value: Any, path: tuple[Any, ...], env: Mapping[str, str], lines: dict[tuple[Any, ...], int], label: str
) -> Any:
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            line = lines.get(path, 1)
            dotted = ".".join(str(p) for p in path)
            raise ConfigError([f"{label}:{line}: {dotted}: environment variable {name} is not set"])

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), env, lines, label) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), env, lines, label) for i, v in enumerate(value)]
    return value


def _describe(err: Any, lines: dict[tuple[Any, ...], int], label: str) -> str:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    line = 1
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            line = lines[loc[:n]]
            break
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    # Never echo values: they may be secrets.
    return f"{label}:{line}: {dotted}: {msg}"
