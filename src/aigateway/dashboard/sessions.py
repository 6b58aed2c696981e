"""Dashboard sign-in sessions: a signed random id in an HttpOnly, SameSite=Strict cookie.

Invariants:
- the cookie holds `id.expiry.mac`: a random id (192 bits), its expiry (Unix seconds) and an
  HMAC-SHA256 of both under a key derived from the admin key; never the admin key itself;
- any process holding the same admin key verifies it (every `serve --workers` worker, every
  replica), with no shared store; changing the admin key ends every session;
- signing out removes the cookie from the browser and records the id as ended in this process
  (until its expiry); a copy of the cookie kept elsewhere stays valid on other processes until it
  expires (`dashboard.session_hours`);
- the admin key and every MAC are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

COOKIE = "aigw_session"


def _mac(admin_key: str, sid: str, expiry: int) -> str:
    key = hashlib.sha256(b"aigateway dashboard session\0" + admin_key.encode()).digest()
    return hmac.new(key, f"{sid}.{expiry}".encode(), hashlib.sha256).hexdigest()


class Sessions:
    def __init__(self) -> None:
        self._ended: dict[str, float] = {}  # ids signed out here -> their expiry

    def sign_in(self, presented: str, admin_key: str | None, hours: float) -> str | None:
        """A new session token when `presented` is the admin key, else None."""
        if not admin_key or not hmac.compare_digest(presented.encode(), admin_key.encode()):
            return None
        sid, expiry = secrets.token_urlsafe(24), int(time.time() + hours * 3600)
        return f"{sid}.{expiry}.{_mac(admin_key, sid, expiry)}"

    def valid(self, token: str | None, admin_key: str | None) -> bool:
        return self._check(token, admin_key) is not None

    def _check(self, token: str | None, admin_key: str | None) -> tuple[str, int] | None:
        if not token or not admin_key:
            return None
        sid, _, rest = token.partition(".")
        expiry_text, _, mac = rest.partition(".")
        if not expiry_text.isdigit() or int(expiry_text) <= time.time():
            return None
        expiry = int(expiry_text)
        # As bytes: compare_digest refuses str with non-ASCII characters, which a cookie may hold.
        if not hmac.compare_digest(mac.encode(), _mac(admin_key, sid, expiry).encode()) or sid in self._ended:
            return None
        return sid, expiry

    def sign_out(self, token: str | None, admin_key: str | None) -> None:
        found = self._check(token, admin_key)
        if found is not None:
            now = time.time()
            self._ended = {s: t for s, t in self._ended.items() if t > now}
            self._ended[found[0]] = found[1]


def cookie_value(header: bytes | None) -> str | None:
    """Our session token from a `Cookie` header."""
    if not header:
        return None
    for part in header.decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value or None
    return None


def set_cookie(sid: str, hours: float, *, secure: bool = False) -> bytes:
    age = int(hours * 3600)
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={sid}; Path=/dashboard; Max-Age={age}; HttpOnly; SameSite=Strict{flags}".encode()


def clear_cookie() -> bytes:
    return f"{COOKIE}=; Path=/dashboard; Max-Age=0; HttpOnly; SameSite=Strict".encode()
