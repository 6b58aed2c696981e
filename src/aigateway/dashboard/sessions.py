"""Dashboard sign-in sessions: a random id in an HttpOnly, SameSite=Strict cookie.

Invariants:
- the cookie holds a random session id (256 bits) and never the admin key; the id maps to an
  expiry time in this process's memory, so signing out (or a restart) ends it, and each replica
  has its own sessions (behind a load balancer, use sticky sessions or sign in on each);
- the admin key is compared in constant time; sessions are capped in number, oldest dropped.
"""

from __future__ import annotations

import hmac
import secrets
import time

COOKIE = "aigw_session"
_MAX = 1000


class Sessions:
    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}

    def sign_in(self, presented: str, admin_key: str | None, hours: float) -> str | None:
        """A new session id when `presented` is the admin key, else None."""
        if not admin_key or not hmac.compare_digest(presented.encode(), admin_key.encode()):
            return None
        now = time.time()
        self._expiry = {s: t for s, t in self._expiry.items() if t > now}
        while len(self._expiry) >= _MAX:
            self._expiry.pop(next(iter(self._expiry)))
        sid = secrets.token_urlsafe(32)
        self._expiry[sid] = now + hours * 3600
        return sid

    def valid(self, sid: str | None) -> bool:
        if not sid:
            return False
        expiry = self._expiry.get(sid)
        if expiry is None:
            return False
        if expiry <= time.time():
            del self._expiry[sid]
            return False
        return True

    def sign_out(self, sid: str | None) -> None:
        if sid:
            self._expiry.pop(sid, None)


def cookie_value(header: bytes | None) -> str | None:
    """Our session id from a `Cookie` header."""
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
