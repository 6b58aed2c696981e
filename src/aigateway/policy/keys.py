"""Gateway keys: creation, hashing, and the in-memory lookup the request path uses.

Invariants:
- a secret is shown once, at creation; only its sha256 is stored (secrets are 256-bit random,
  so a fast hash is enough; a slow KDF would only add latency to every request);
- the request path never waits on the database for a known key: keys live in memory, refreshed
  in the background every `refresh_interval` seconds, which bounds how long a revocation takes;
- an unknown key that looks like ours waits for one shared refresh, started at most every
  `miss_interval` seconds, so a key works as soon as it is created, and a flood of bad keys
  costs at most 1/`miss_interval` queries a second; anything else is refused without a query.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.observability.logging import log
from aigateway.store.tables import gateway_keys

SECRET_PREFIX = "agw_"
SECRET_LENGTH = len(SECRET_PREFIX) + 43  # token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class GatewayKey:
    id: str
    name: str
    secret_hash: str


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: str
    name: str
    hint: str
    created_at: float
    revoked_at: float | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_key(engine: AsyncEngine, name: str) -> tuple[KeyRow, str]:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = KeyRow(id="key_" + secrets.token_hex(8), name=name, hint=secret[-4:], created_at=time.time(), revoked_at=None)
    async with engine.begin() as conn:
        await conn.execute(
            gateway_keys.insert().values(
                id=row.id, name=name, secret_hash=hash_secret(secret), hint=row.hint, created_at=row.created_at
            )
        )
    return row, secret


async def list_keys(engine: AsyncEngine) -> list[KeyRow]:
    cols = gateway_keys.c
    async with engine.connect() as conn:
        result = await conn.execute(
            select(cols.id, cols.name, cols.hint, cols.created_at, cols.revoked_at).order_by(cols.created_at)
        )
        return [KeyRow(*r) for r in result]


async def revoke_key(engine: AsyncEngine, key_id: str) -> bool:
    cols = gateway_keys.c
    async with engine.begin() as conn:
        result = await conn.execute(
            update(gateway_keys).where(cols.id == key_id, cols.revoked_at.is_(None)).values(revoked_at=time.time())
        )
        return bool(result.rowcount)


class KeyCache:
    """Maps a presented secret to its key without touching the database on the hot path."""

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
            result = await conn.execute(select(cols.id, cols.name, cols.secret_hash).where(cols.revoked_at.is_(None)))
            self._by_hash = {r.secret_hash: GatewayKey(r.id, r.name, r.secret_hash) for r in result}

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
