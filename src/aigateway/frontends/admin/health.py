"""`GET /health` (and HEAD): up, and the breaker of every (provider, credential).

Open to everyone, as load balancers and orchestrators probe it; it names providers and
credential labels, never a secret.
"""

from __future__ import annotations

import msgspec

from aigateway.asgi import Request
from aigateway.gateway import Gateway


async def get_health(gw: Gateway, req: Request) -> None:
    body = msgspec.json.encode({"status": "ok", "providers": gw.health.snapshot()})
    await req.respond(200, body if req.method == "GET" else b"")
