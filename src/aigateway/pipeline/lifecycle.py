"""What an answer says about the model's lifecycle and the operator's redirects.

Invariants:
- the gateway never refuses a model on the catalog's word: a deprecated or retired model is
  still sent upstream (an account may keep access); its answer carries `deprecation` (RFC 9745,
  the announcement's date, or the retirement's where the announcement's is not known) and
  `sunset` (RFC 8594, the retirement date) headers, and a warning is logged, at most once per
  model and provider every `_WARN_EVERY` seconds (every request would flood the log);
- an upstream's 404 for a model the catalog knows as retired on that provider names the
  successor in its message, in the gateway's message and in a passed-through error body alike;
- a redirected request's answer says so in `x-aigateway-redirected-from` (the id asked for).
"""

from __future__ import annotations

import calendar
import datetime as dt
import time
from email.utils import formatdate

import msgspec

from aigateway.errors import UpstreamError
from aigateway.gateway import Gateway
from aigateway.observability.logging import log
from aigateway.routing.catalog import Lifecycle, Route

_WARN_EVERY = 600.0
_warned: dict[tuple[str, str], float] = {}


def answer_headers(gw: Gateway, route: Route, asked: str) -> list[tuple[bytes, bytes]]:
    headers = [*_notices(gw, route, dt.datetime.now(dt.UTC).date())]  # a list of its own: callers add to it
    if asked != route.model:
        headers.insert(0, (b"x-aigateway-redirected-from", asked.encode()))
    return headers


def _notices(gw: Gateway, route: Route, today: dt.date) -> tuple[tuple[bytes, bytes], ...]:
    """The route's `deprecation` / `sunset` headers on `today`, built once per route and day: every
    request asks."""
    key = (route.provider, route.upstream_model, route.model, today)
    headers = gw.notices.get(key)
    if headers is None:
        if len(gw.notices) >= 4096:  # bounded: model ids come from clients
            gw.notices.clear()
        built: list[tuple[bytes, bytes]] = []
        life = gw.lifecycle(route)
        if life.status(today) != "active":
            announced = life.deprecated or life.retires
            if announced is not None:
                built.append((b"deprecation", f"@{_epoch(announced)}".encode()))
            if life.retires is not None:
                built.append((b"sunset", formatdate(_epoch(life.retires), usegmt=True).encode()))
        headers = gw.notices[key] = tuple(built)
    if headers:
        _warn(route, gw.lifecycle(route), today)
    return headers


def _epoch(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def _warn(route: Route, life: Lifecycle, today: dt.date) -> None:
    key = (route.provider, route.upstream_model)
    now = time.monotonic()
    if now - _warned.get(key, -_WARN_EVERY) < _WARN_EVERY:
        return
    _warned[key] = now
    status = life.status(today)
    fields: dict[str, str | None] = {"model": route.model, "provider": route.provider, "status": status}
    fields |= {"retires": str(life.retires) if life.retires else None, "successor": life.successor}
    log.warning(f"model is {status} on its provider", extra={"fields": fields})


def with_successor(gw: Gateway, exc: UpstreamError, route: Route | None) -> UpstreamError:
    """A 404 for a model retired on that provider, its message naming the successor."""
    if route is None or exc.upstream_status != 404:
        return exc
    life = gw.lifecycle(route)
    if life.retires is None or life.status(dt.datetime.now(dt.UTC).date()) != "retired":
        return exc
    note = f" ('{route.model}' was retired on {life.retires}" + (
        f"; use '{life.successor}' instead)" if life.successor else ")"
    )
    exc.message += note
    if exc.passthrough_body is not None:
        exc.passthrough_body = _noted(exc.passthrough_body, note)
    return exc


def _noted(body: bytes, note: str) -> bytes:
    """The upstream's error body with `note` added to its `error.message`; unchanged if it has none."""
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return body
    error["message"] += note
    return msgspec.json.encode(doc)
