"""The gateway's running state: settings, catalog, providers, keys, ledger, store, admission, token counts."""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.asgi import Request
from aigateway.errors import AuthenticationFailed
from aigateway.policy.admission import Admission
from aigateway.policy.keys import GatewayKey, KeyCache
from aigateway.policy.ledger import Ledger
from aigateway.providers.base import Provider
from aigateway.routing.catalog import Catalog
from aigateway.settings import Settings
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
    token_counts: TokenCountCache = field(default_factory=TokenCountCache)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

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
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.ledger.close()
        await self.admission.aclose()
        for provider in self.providers.values():
            await provider.aclose()
        await self.engine.dispose()
