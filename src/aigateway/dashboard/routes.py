"""The dashboard: `/dashboard` (sign-in page or the app), its static files, and its JSON API.

Invariants:
- every page and API call but the sign-in form needs a valid session (sessions.py); without an
  admin key configured nobody can sign in;
- state-changing calls (sign-out, key create / change / revoke) are POST, PATCH or DELETE with a
  JSON body and, when the browser sends `Origin`, an origin naming this host: with the
  SameSite=Strict cookie, another site cannot make them on the admin's behalf;
- everything served ships in the package (static/): no request leaves for the internet;
- pages carry a strict Content-Security-Policy (scripts and styles from this origin only);
- the API shows ledger rows and key views (hints, never secrets; a new key's secret once, in
  the answer to its creation, as the admin API does).
"""

from __future__ import annotations

import functools
import time
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

from aigateway.asgi import Request
from aigateway.dashboard import queries
from aigateway.dashboard.sessions import Sessions, clear_cookie, cookie_value, set_cookie
from aigateway.errors import AuthenticationFailed, InvalidRequest, NotFound, PermissionDenied
from aigateway.frontends.admin import keys as admin
from aigateway.gateway import Gateway
from aigateway.policy.keys import list_keys
from aigateway.policy.usage import parse_time

PREFIX = "/dashboard"
SESSIONS = Sessions()
_RANGES = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
_STATIC = {
    "app.js": b"text/javascript; charset=utf-8",
    "app.css": b"text/css; charset=utf-8",
    "favicon.svg": b"image/svg+xml",
}
_PAGE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
_HTML = b"text/html; charset=utf-8"


@functools.cache
def _asset(name: str) -> bytes:
    return resources.files("aigateway.dashboard").joinpath("static", name).read_bytes()


async def dispatch(gw: Gateway, req: Request) -> None:
    if not gw.settings.dashboard.enabled:
        raise NotFound(f"No route for {req.method} {req.path}")
    rest = req.path[len(PREFIX) :]
    if rest in ("", "/") and req.method == "GET":
        page = "index.html" if _signed_in(gw, req) else "login.html"
        await req.respond(200, _asset(page), list(_PAGE_HEADERS), _HTML)
    elif rest == "/login" and req.method == "POST":
        await _login(gw, req)
    elif rest.startswith("/static/") and req.method == "GET" and rest[8:] in _STATIC:
        await req.respond(200, _asset(rest[8:]), [(b"cache-control", b"no-cache")], _STATIC[rest[8:]])
    elif rest.startswith("/api/"):
        if not _signed_in(gw, req):
            raise AuthenticationFailed("Sign in to the dashboard first")
        if req.method != "GET":
            _check_origin(req)
        await _api(gw, req, rest[4:])
    else:
        raise NotFound(f"No route for {req.method} {req.path}")


def _signed_in(gw: Gateway, req: Request) -> bool:
    return SESSIONS.valid(cookie_value(req.headers.get(b"cookie")), gw.settings.admin_key)


def _check_origin(req: Request) -> None:
    origin = req.headers.get(b"origin")
    if origin is not None and urlsplit(origin.decode("latin-1")).netloc.encode() != req.headers.get(b"host"):
        raise PermissionDenied("Cross-origin request refused")
    if not req.headers.get(b"content-type", b"").startswith(b"application/json"):
        raise InvalidRequest("Send a JSON body (content-type: application/json)")


async def _login(gw: Gateway, req: Request) -> None:
    _check_same_origin_form(req)
    form = parse_qs((await req.body(8 * 1024)).decode("utf-8", "replace"))
    presented = (form.get("key") or [""])[0].strip()
    settings = gw.settings
    sid = SESSIONS.sign_in(presented, settings.admin_key, settings.dashboard.session_hours)
    if sid is None:
        message = b"Wrong admin key." if settings.admin_key else b"No admin key is configured: set admin_key first."
        page = _asset("login.html").replace(b'<p id="error" hidden></p>', b'<p id="error">' + message + b"</p>")
        await req.respond(401, page, list(_PAGE_HEADERS), _HTML)
        return
    secure = req.headers.get(b"x-forwarded-proto") == b"https"  # behind a TLS-terminating proxy
    cookie = set_cookie(sid, settings.dashboard.session_hours, secure=secure)
    headers = [(b"location", b"/dashboard"), (b"set-cookie", cookie)]
    await req.respond(303, b"", headers, None)


def _check_same_origin_form(req: Request) -> None:
    origin = req.headers.get(b"origin")
    if origin not in (None, b"null") and urlsplit(origin.decode("latin-1")).netloc.encode() != req.headers.get(b"host"):
        raise PermissionDenied("Cross-origin request refused")


async def _api(gw: Gateway, req: Request, rest: str) -> None:
    params = {k: v[-1] for k, v in parse_qs(req.query.decode("latin-1")).items()}
    if rest == "/summary" and req.method == "GET":
        start, end = _range(params)
        group = params.get("group", "model")
        if group not in queries.GROUPS:
            raise InvalidRequest("group: must be one of model, provider, key")
        step = queries.pick_step(end - start)
        body = await queries.series(gw.engine, start, end, step, group)
        await _json(req, {"from": start, "to": end, **body})
    elif rest == "/requests" and req.method == "GET":
        await _requests(gw, req, params)
    elif rest.startswith("/requests/") and req.method == "GET":
        row = await queries.one_row(gw.engine, rest[len("/requests/") :])
        if row is None:
            raise NotFound("No ledger row with that request id")
        await _json(req, row)
    elif rest == "/options" and req.method == "GET":
        await _json(req, await _options(gw))
    elif rest == "/logout" and req.method == "POST":
        SESSIONS.sign_out(cookie_value(req.headers.get(b"cookie")), gw.settings.admin_key)
        await req.respond(200, b"{}", [(b"set-cookie", clear_cookie())])
    elif rest == "/keys" or rest.startswith("/keys/"):
        await admin.keys_api(gw, req, rest[len("/keys") :])
    else:
        raise NotFound(f"No route for {req.method} {req.path}")


def _range(params: dict[str, str]) -> tuple[float, float]:
    try:
        end = parse_time(params["to"], "to") if "to" in params else time.time()
        if "from" in params:
            start = parse_time(params["from"], "from")
        else:
            span = _RANGES.get(params.get("range", "24h"))
            if span is None:
                raise ValueError("range: must be one of " + ", ".join(_RANGES))
            start = end - span
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    if start >= end:
        raise InvalidRequest("from: must be before to")
    return start, end


async def _requests(gw: Gateway, req: Request, params: dict[str, str]) -> None:
    start, end = _range(params)
    status = params.get("status", "")
    if status not in ("", "ok", "error") and not (status.isdigit() and len(status) == 3):
        raise InvalidRequest("status: must be ok, error or an HTTP status code")
    before = None
    if params.get("before"):
        at, _, rid = params["before"].partition("~")
        try:
            before = (float(at), rid)
        except ValueError:
            raise InvalidRequest("before: not a cursor this API gave") from None
    try:
        limit = min(max(int(params.get("limit", "50")), 1), 500)
    except ValueError:
        raise InvalidRequest("limit: must be a whole number") from None
    filters = {k: params[k] for k in ("model", "provider", "key", "status") if params.get(k)}
    rows, cursor = await queries.request_log(gw.engine, start, end, filters, before, limit)
    await _json(req, {"data": rows, "next": None if cursor is None else f"{cursor[0]!r}~{cursor[1]}"})


async def _options(gw: Gateway) -> dict[str, Any]:
    rows = await list_keys(gw.engine)
    return {
        "providers": sorted(gw.providers),
        "models": sorted(m.id for m in gw.catalog.models),
        "keys": [{"id": r.id, "name": r.name, "revoked": r.revoked_at is not None} for r in rows],
    }


async def _json(req: Request, doc: Any) -> None:
    await req.respond(200, msgspec.json.encode(doc), [(b"cache-control", b"no-store")])
