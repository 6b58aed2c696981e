"""Provider health: a circuit breaker per (provider, credential), and live speed measurements.

Breaker states: `closed` (traffic flows) -> after `failures` consecutive failures -> `open`
(skipped for `cooldown` seconds) -> `half_open` (one probe request may pass; success closes,
failure re-opens). Only failures that say something about the upstream count: connection
errors, timeouts, 5xx/529, 429 and refused credentials; a client's bad request does not.

A request's own credentials (BYOK) get a breaker each, labelled by a digest of the key (never
the key), so one tenant's failing key never moves another tenant's requests; there are at most
`max_byok` of them, the least recently used forgotten first (a forgotten key starts closed).

`Speed` keeps an exponentially weighted mean of time to first token and output tokens per
second per (provider, upstream model), for `sort: ttft | tps`. All state is in-process: each
replica learns its own view of the upstreams, which is what its own traffic experiences.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Literal

State = Literal["closed", "open", "half_open"]
_ALPHA = 0.3  # weight of the newest measurement


@dataclass
class Breaker:
    threshold: int
    cooldown: float
    state: State = "closed"
    failures: int = 0
    opened_at: float = 0.0
    probing: bool = False

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self.state == "closed":
            return True
        if self.state == "open" and now - self.opened_at >= self.cooldown:
            self.state = "half_open"
            self.probing = False
        if self.state == "half_open" and not self.probing:
            self.probing = True  # exactly one probe at a time
            return True
        return False

    def success(self) -> None:
        self.state, self.failures, self.probing = "closed", 0, False

    def failure(self, now: float | None = None) -> None:
        self.failures += 1
        self.probing = False
        if self.state == "half_open" or self.failures >= self.threshold:
            self.state = "open"
            self.opened_at = time.monotonic() if now is None else now


@dataclass
class Speed:
    ttft: float | None = None  # seconds
    tps: float | None = None  # output tokens per second after the first token
    samples: int = 0

    def add(self, ttft: float | None, tps: float | None) -> None:
        self.samples += 1
        if ttft is not None:
            self.ttft = ttft if self.ttft is None else (1 - _ALPHA) * self.ttft + _ALPHA * ttft
        if tps is not None:
            self.tps = tps if self.tps is None else (1 - _ALPHA) * self.tps + _ALPHA * tps


BYOK_PREFIX = "byok:"


def byok_label(api_key: str) -> str:
    """A request credential's label for breakers, logs and /health: stable, and not the secret."""
    return BYOK_PREFIX + hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass
class Health:
    threshold: int = 5
    cooldown: float = 30.0
    max_byok: int = 1024
    breakers: dict[tuple[str, str], Breaker] = field(default_factory=dict)
    speeds: dict[tuple[str, str], Speed] = field(default_factory=dict)
    _byok: dict[tuple[str, str], Breaker] = field(default_factory=dict)  # least recently used first

    def breaker(self, provider: str, credential: str) -> Breaker:
        key = (provider, credential)
        if credential.startswith(BYOK_PREFIX):
            return self._byok_breaker(key)
        found = self.breakers.get(key)
        if found is None:
            found = self.breakers[key] = Breaker(self.threshold, self.cooldown)
        return found

    def _byok_breaker(self, key: tuple[str, str]) -> Breaker:
        found = self._byok.pop(key, None)
        if found is None:
            found = Breaker(self.threshold, self.cooldown)
            if len(self._byok) >= self.max_byok:
                del self._byok[next(iter(self._byok))]
        self._byok[key] = found  # now the most recently used
        return found

    def speed(self, provider: str, upstream_model: str) -> Speed:
        return self.speeds.setdefault((provider, upstream_model), Speed())

    def snapshot(self) -> dict[str, Any]:
        """For `/health`: breaker state per provider and credential (credentials by label only)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for (provider, credential), b in sorted({**self.breakers, **self._byok}.items()):
            out.setdefault(provider, []).append({"credential": credential, "state": b.state, "failures": b.failures})
        return out
