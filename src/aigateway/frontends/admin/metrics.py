"""`GET /metrics`: the Prometheus text exposition of `observability/metrics.py`.

Invariant: with `metrics.require_admin_key` (the default) the route answers only requests that
carry the admin key (`Authorization: Bearer`, as Prometheus' `authorization` scrape setting sends
it): its labels name keys, models and spend. With `metrics.enabled: false` it does not exist.
Under `serve --workers N` it answers with the sum over all workers (observability/snapshots.py).
"""

from __future__ import annotations

from aigateway.asgi import Request
from aigateway.errors import NotFound
from aigateway.frontends.admin.keys import require_admin
from aigateway.gateway import Gateway
from aigateway.observability import metrics


async def get_metrics(gw: Gateway, req: Request) -> None:
    settings = gw.settings.metrics
    if not settings.enabled:
        raise NotFound(f"No route for {req.method} {req.path}")
    if settings.require_admin_key:
        require_admin(gw, req)
    view = (gw.metrics, metrics.breakers(gw.health)) if gw.shared is None else gw.shared.merged()
    body = metrics.render(metrics.registry(*view))
    await req.respond(200, body, content_type=metrics.CONTENT_TYPE)
