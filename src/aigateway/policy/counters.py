"""Rate-limit buckets and budget counters: one algorithm, in process or in Redis.

Invariants:
- `acquire` checks every bucket and the budget and takes from all of them, or from none, in one
  atomic step (one event-loop step here, one Lua script in Redis): two requests can never both
  see the last unit, on one replica or many;
- the in-process `LocalCounters` and `policy.redis_counters.RedisCounters` implement the same arithmetic,
  so the code that reads a counter is the code that writes it (never "read local, write shared");
- a bucket holds `limit` units a minute, refilled continuously (token bucket, as Anthropic's own
  limits): its level is kept in 1/60000 units so that one millisecond refills exactly `limit`
  and everything stays an integer; a take larger than the whole bucket is allowed only from a
  full bucket (and leaves it in debt), so big requests are slowed, not refused forever;
- `settle` corrects a bucket or budget by a signed delta (actual minus reserved); a bucket may go
  negative (debt), a budget counter is spent plus still-reserved nano-dollars;
- a budget counter that does not exist is never taken from as if it were zero: `acquire` answers
  `UNSEEDED` (nothing taken) and the caller seeds it from the ledger first (policy/budget.py), and
  `settle` leaves a missing counter missing. Only Redis loses counters (a restart without
  persistence, an eviction); the in-process counters keep theirs for the life of the process.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple, Protocol

SCALE = 60_000  # milliseconds in a minute: a bucket of `limit`/minute refills `limit` units a ms
BUDGET = -1  # Verdict.failed: the budget refused
UNSEEDED = -2  # Verdict.failed: the budget counter does not exist; seed it, then ask again


class Bucket(NamedTuple):  # tuples: built several times per request, cheaper than frozen dataclasses
    name: str
    limit: int  # per minute, >= 1
    amount: int  # taken now (acquire) or signed correction (settle)


class Spend(NamedTuple):
    name: str
    limit: int  # nano-dollars
    amount: int  # reserved now (acquire) or signed correction (settle)
    ttl: int | None = None  # seconds to keep the counter after its last change; None: forever


class Verdict(NamedTuple):
    ok: bool
    failed: int | None  # index of the refusing bucket, or BUDGET, or UNSEEDED
    retry_after_ms: int
    remaining: tuple[int, ...]  # per bucket, whole units left after this acquire
    reset_ms: tuple[int, ...]  # per bucket, milliseconds until it is full again
    spent: int | None  # budget counter after this acquire (or as it stands, if refused)


class Counters(Protocol):
    async def acquire(self, buckets: list[Bucket], spend: Spend | None) -> Verdict: ...

    async def settle(self, buckets: list[Bucket], spend: Spend | None) -> None: ...

    async def spent(self, name: str) -> int | None:
        """The budget counter, or None when it does not exist (to be seeded)."""

    async def seed(self, name: str, value: int, ttl: int | None) -> None: ...

    async def aclose(self) -> None: ...


def refill(level: float | None, stamp: int, now: int, limit: int) -> int:
    cap = limit * SCALE
    if level is None:
        return cap
    return int(min(cap, level + max(0, now - stamp) * limit))


def refusal(level: int, need: int, limit: int) -> int:
    """Milliseconds until `need` fits, or 0 if it fits now."""
    cap = limit * SCALE
    if need <= level or level >= cap:
        return 0
    return math.ceil((min(need, cap) - level) / limit)


class LocalCounters:
    """The counters of one process. Correct for one replica; use Redis for more."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[int, int]] = {}  # name -> (level, stamp ms)
        self._spend: dict[str, int] = {}

    async def acquire(self, buckets: list[Bucket], spend: Spend | None) -> Verdict:
        # No await below: the check and the take are one step of the event loop. `refill` and
        # `refusal` inlined (this runs on every request).
        now = int(time.time() * 1000)
        levels = []
        stored = self._buckets
        for i, b in enumerate(buckets):
            limit = b.limit
            cap = limit * SCALE
            held = stored.get(b.name)
            if held is None:
                current = cap
            else:  # levels are whole numbers here: no int() needed
                level, stamp = held
                current = level + (now - stamp) * limit if now > stamp else level
                if current > cap:
                    current = cap
            need = b.amount * SCALE
            if need > current and current < cap:
                return Verdict(False, i, math.ceil((min(need, cap) - current) / limit), (), (), None)
            levels.append(current)
        spent = None
        if spend is not None:
            spent = self._spend.get(spend.name, 0)
            if spent + spend.amount > spend.limit:
                return Verdict(False, BUDGET, 0, (), (), spent)
            spent = self._spend[spend.name] = spent + spend.amount
        remaining, resets = [], []
        for b, current in zip(buckets, levels, strict=True):
            level = current - b.amount * SCALE
            stored[b.name] = (level, now)
            remaining.append(level // SCALE if level > 0 else 0)
            resets.append(-((level - b.limit * SCALE) // b.limit))  # ceil((cap - level) / limit)
        return Verdict(True, None, 0, tuple(remaining), tuple(resets), spent)

    async def settle(self, buckets: list[Bucket], spend: Spend | None) -> None:
        self.settle_now(buckets, spend)

    def settle_now(self, buckets: list[Bucket], spend: Spend | None) -> None:
        """`settle` in the caller's step, no task: admission calls it directly (policy/admission.py)."""
        now = int(time.time() * 1000)
        for b in buckets:
            level, stamp = self._buckets.get(b.name, (None, now))
            current = refill(level, stamp, now, b.limit)
            self._buckets[b.name] = (min(b.limit * SCALE, current - b.amount * SCALE), now)
        if spend is not None:
            self._spend[spend.name] = self._spend.get(spend.name, 0) + spend.amount

    async def spent(self, name: str) -> int | None:
        return self._spend.get(name)

    async def seed(self, name: str, value: int, ttl: int | None) -> None:
        self._spend.setdefault(name, value)

    async def aclose(self) -> None:
        return None
