"""Gateway keys: creation, hashing, and the in-memory lookup the request path uses.

Invariants:
- a secret is shown once, at creation; only its sha256 is stored (secrets are 256-bit random,
  so a fast hash is enough; a slow KDF would only add latency to every request);
- the request path never waits on the database for a known key: keys live in memory, refreshed
  in the background every `refresh_interval` seconds, which bounds how long a revocation takes;
- an unknown key costs one indexed lookup, and the answer is cached briefly, so a flood of bad
  keys cannot turn into a flood of queries.
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

from aigateway.store.tables import gateway_keys

SECRET_PREFIX = "agw_"


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

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        refresh_interval: float = 2.0,
        negative_ttl: float = 2.0,
        negative_max: int = 10_000,
    ):
        self._engine = engine
        self._by_hash: dict[str, GatewayKey] = {}
        self._misses: dict[str, float] = {}
        self._negative_ttl = negative_ttl
        self._negative_max = negative_max
        self.refresh_interval = refresh_interval

    async def refresh(self) -> None:
        cols = gateway_keys.c
        async with self._engine.connect() as conn:
            result = await conn.execute(select(cols.id, cols.name, cols.secret_hash).where(cols.revoked_at.is_(None)))
            self._by_hash = {r.secret_hash: GatewayKey(r.id, r.name, r.secret_hash) for r in result}
        self._misses.clear()

    async def run_refresher(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await self.refresh()
            except Exception:  # a database blip must not stop refreshing
                from aigateway.observability.logging import log

                log.exception("key refresh failed")

    async def lookup(self, secret: str) -> GatewayKey | None:
        digest = hash_secret(secret)
        key = self._by_hash.get(digest)
        if key is not None:
            # The dict lookup found it by digest; compare in constant time all the same.
            return key if hmac.compare_digest(key.secret_hash, digest) else None
        now = time.monotonic()
        expiry = self._misses.get(digest)
        if expiry is not None and expiry > now:
            return None
        key = await self._load(digest)
        if key is None:
            if len(self._misses) >= self._negative_max:
                self._misses.clear()
            self._misses[digest] = now + self._negative_ttl
        else:
            self._by_hash[digest] = key
        return key

    async def _load(self, digest: str) -> GatewayKey | None:
        cols = gateway_keys.c
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(cols.id, cols.name, cols.secret_hash).where(
                        cols.secret_hash == digest, cols.revoked_at.is_(None)
                    )
                )
            ).first()
        if row is None or not hmac.compare_digest(row.secret_hash, digest):
            return None
        return GatewayKey(row.id, row.name, row.secret_hash)
