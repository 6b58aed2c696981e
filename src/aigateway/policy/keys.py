"""Gateway keys: creation, hashing, and the in-memory lookup the request path uses.

Invariants:
- a secret is shown once, at creation; only its sha256 is stored (secrets are 256-bit random,
  so a fast hash is enough; a slow KDF would only add latency to every request);
- the request path never waits on the database for a known key: keys live in memory, refreshed
  in the background every `refresh_interval` seconds, which bounds how long a revocation takes;
- an unknown key that looks like ours waits for one shared refresh, started at most every
  `miss_interval` seconds, so a key works as soon as it is created, and a flood of bad keys
  costs at most 1/`miss_interval` queries a second; anything else is refused without a query;
- a key's policy (allowed models and providers, limits, budget, expiry, tags) travels with it in
  the cache, so policy changes and revocations reach every replica within `refresh_interval`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.observability.logging import log
from aigateway.store.tables import gateway_keys

SECRET_PREFIX = "agw_"
SECRET_LENGTH = len(SECRET_PREFIX) + 43  # token_urlsafe(32)


_MAXIMA = {"rpm": 10**9, "tpm": 10**9, "rpm_per_model": 10**9, "tpm_per_model": 10**9, "budget_nanousd": 10**15}

BudgetPeriod = Literal["day", "week", "month", "total"]
BUDGET_PERIODS: tuple[BudgetPeriod, ...] = ("day", "week", "month", "total")


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """What a key may do. None (or an empty tuple for the lists) means unlimited."""

    allowed_models: tuple[str, ...] = ()
    allowed_providers: tuple[str, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    rpm_per_model: int | None = None
    tpm_per_model: int | None = None
    budget_nanousd: int | None = None
    budget_period: BudgetPeriod | None = None
    expires_at: float | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm", "rpm_per_model", "tpm_per_model", "budget_nanousd"):
            value = getattr(self, name)
            least = 0 if name == "budget_nanousd" else 1
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
                raise ValueError(f"{name}: must be a whole number >= {least}")
            # Counters are exact below 2**53 (Redis scripts compute in doubles): keep far under it.
            if value is not None and value > _MAXIMA[name]:
                raise ValueError(
                    f"{name}: at most {_MAXIMA[name]}" if name != "budget_nanousd" else "budget: at most $1000000"
                )
        if self.budget_nanousd is not None and self.budget_period is None:
            raise ValueError("budget_period: required with a budget (day, week, month or total)")
        if self.budget_period is not None and self.budget_period not in BUDGET_PERIODS:
            raise ValueError("budget_period: must be one of day, week, month, total")

    def columns(self) -> dict[str, Any]:
        values = asdict(self)
        for name in _LIST_COLUMNS:
            values[name] = json.dumps(list(values[name])) if values[name] else None
        return values

    @classmethod
    def from_columns(cls, row: Mapping[Any, Any]) -> KeyPolicy:
        values = {f.name: row[f.name] for f in fields(cls)}
        for name in _LIST_COLUMNS:
            values[name] = tuple(json.loads(values[name])) if values[name] else ()
        return cls(**values)

    def view(self, to_usd: Callable[[int], str]) -> dict[str, Any]:
        """As shown by the admin API and the CLI: lists as lists, the budget in dollars."""
        values = asdict(self)
        for name in _LIST_COLUMNS:
            values[name] = list(values[name])
        budget = values.pop("budget_nanousd")
        values["budget_usd"] = None if budget is None else to_usd(budget)
        return values


_LIST_COLUMNS = ("allowed_models", "allowed_providers", "tags")
_POLICY_COLUMNS = tuple(f.name for f in fields(KeyPolicy))


@dataclass(frozen=True, slots=True)
class GatewayKey:
    id: str
    name: str
    secret_hash: str
    policy: KeyPolicy = field(default_factory=KeyPolicy)


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: str
    name: str
    hint: str
    created_at: float
    revoked_at: float | None
    policy: KeyPolicy = field(default_factory=KeyPolicy)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_key(engine: AsyncEngine, name: str, policy: KeyPolicy | None = None) -> tuple[KeyRow, str]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    policy = policy or KeyPolicy()
    row = KeyRow(
        id="key_" + secrets.token_hex(8),
        name=name,
        hint=secret[-4:],
        created_at=time.time(),
        revoked_at=None,
        policy=policy,
    )
    async with engine.begin() as conn:
        await conn.execute(
            gateway_keys.insert().values(
                id=row.id,
                name=name,
                secret_hash=hash_secret(secret),
                hint=row.hint,
                created_at=row.created_at,
                **policy.columns(),
            )
        )
    return row, secret


_ROW_COLUMNS = ("id", "name", "hint", "created_at", "revoked_at", *_POLICY_COLUMNS)


def _key_row(r: Mapping[Any, Any]) -> KeyRow:
    return KeyRow(r["id"], r["name"], r["hint"], r["created_at"], r["revoked_at"], KeyPolicy.from_columns(r))


async def list_keys(engine: AsyncEngine) -> list[KeyRow]:
    cols = gateway_keys.c
    async with engine.connect() as conn:
        result = await conn.execute(select(*(cols[c] for c in _ROW_COLUMNS)).order_by(cols.created_at))
        return [_key_row(r._mapping) for r in result]


async def get_key(engine: AsyncEngine, key_id: str) -> KeyRow | None:
    cols = gateway_keys.c
    async with engine.connect() as conn:
        result = await conn.execute(select(*(cols[c] for c in _ROW_COLUMNS)).where(cols.id == key_id))
        r = result.first()
        return None if r is None else _key_row(r._mapping)


async def update_key(engine: AsyncEngine, key_id: str, policy: KeyPolicy, name: str | None = None) -> bool:
    """Replaces the policy of an active key (and its name, if given)."""
    cols = gateway_keys.c
    values: dict[str, Any] = {**policy.columns(), "updated_at": time.time()}
    if name is not None:
        values["name"] = name
    async with engine.begin() as conn:
        result = await conn.execute(
            update(gateway_keys).where(cols.id == key_id, cols.revoked_at.is_(None)).values(**values)
        )
        return bool(result.rowcount)


async def revoke_key(engine: AsyncEngine, key_id: str) -> bool:
    cols = gateway_keys.c
    async with engine.begin() as conn:
        result = await conn.execute(
            update(gateway_keys).where(cols.id == key_id, cols.revoked_at.is_(None)).values(revoked_at=time.time())
        )
        return bool(result.rowcount)


class KeyCache:
    """Maps a presented secret to its key without touching the database on the hot path."""

    @property
    def keys(self) -> list[GatewayKey]:
        return list(self._by_hash.values())

    def __init__(self, engine: AsyncEngine, *, refresh_interval: float = 2.0, miss_interval: float = 0.1):
        self._engine = engine
        self._by_hash: dict[str, GatewayKey] = {}
        self.refresh_interval = refresh_interval
        self._miss_interval = miss_interval
        self._pending: asyncio.Task[None] | None = None
        self._last_start = -1e9

    async def refresh(self) -> None:
        self._last_start = time.monotonic()
        cols = gateway_keys.c
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(cols.id, cols.name, cols.secret_hash, *(cols[c] for c in _POLICY_COLUMNS)).where(
                    cols.revoked_at.is_(None)
                )
            )
            self._by_hash = {
                r.secret_hash: GatewayKey(r.id, r.name, r.secret_hash, KeyPolicy.from_columns(r._mapping))
                for r in result
            }

    async def run_refresher(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await self.refresh()
            except Exception:  # a database blip must not stop refreshing
                log.exception("key refresh failed")

    async def lookup(self, secret: str) -> GatewayKey | None:
        digest = hash_secret(secret)
        key = self._by_hash.get(digest)
        if key is None and _looks_like_ours(secret):
            await self._refresh_after_miss()
            key = self._by_hash.get(digest)
        # Found by digest; compare in constant time all the same.
        return key if key is not None and hmac.compare_digest(key.secret_hash, digest) else None

    async def _refresh_after_miss(self) -> None:
        """Waits for a refresh that started after this miss arrived, shared by all waiting misses."""
        arrived = time.monotonic()
        while self._last_start < arrived:
            if self._pending is None or self._pending.done():
                self._pending = asyncio.ensure_future(self._delayed_refresh())
            try:
                await asyncio.shield(self._pending)
            except Exception:
                log.exception("key lookup failed")
                return

    async def _delayed_refresh(self) -> None:
        wait = self._last_start + self._miss_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        await self.refresh()


def _looks_like_ours(secret: str) -> bool:
    return secret.startswith(SECRET_PREFIX) and len(secret) == SECRET_LENGTH


_INT_FIELDS = ("rpm", "tpm", "rpm_per_model", "tpm_per_model")


def change_policy(base: KeyPolicy, changes: Mapping[str, Any]) -> KeyPolicy:
    """`base` with `changes` applied, as the admin API and the CLI give them.

    Keys: allowed_models, allowed_providers, tags (lists of strings), rpm, tpm, rpm_per_model,
    tpm_per_model (whole numbers >= 1), budget_usd (decimal dollars, as a string or number),
    budget_period (day | week | month | total), expires_at (RFC 3339 or Unix seconds). A null
    value removes that limit. Raises ValueError naming the field.
    """
    values = asdict(base)
    for name, value in changes.items():
        if name in _LIST_COLUMNS:
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"{name}: must be a list of strings")
            values[name] = tuple(value or ())
        elif name in _INT_FIELDS:
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{name}: must be a whole number >= 1")
            values[name] = value
        elif name == "budget_usd":
            values["budget_nanousd"] = None if value is None else _budget(value)
        elif name == "budget_period":
            values["budget_period"] = value
        elif name == "expires_at":
            values["expires_at"] = None if value is None else _timestamp(value)
        else:
            raise ValueError(f"{name}: unknown field")
    if values["budget_nanousd"] is None:
        values["budget_period"] = None
    return KeyPolicy(**values)


def _budget(value: object) -> int:
    from aigateway.routing.prices import to_nano

    try:
        nano = to_nano(str(value))
    except (ValueError, ArithmeticError):
        raise ValueError("budget_usd: must be a decimal number of dollars") from None
    if nano < 0 or isinstance(value, bool):
        raise ValueError("budget_usd: must be a number >= 0")
    return nano


def _timestamp(value: object) -> float:
    from datetime import datetime

    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()
    raise ValueError("expires_at: must be an RFC 3339 time or Unix seconds")
