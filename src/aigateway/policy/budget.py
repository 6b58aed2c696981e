"""Budget counters: seeded from the ledger off the request path, and read as a balance.

Invariants:
- the request path never queries the database for spend while its counter exists: counters live
  in memory or Redis (`counters`); this module fills a counter from the ledger once per budget
  window, at start-up and in the background refresh loop, before or beside the requests that use it;
- seeding never overwrites a live counter (in Redis: SET NX), so replicas that start late or
  restart cannot roll shared spend back;
- a counter Redis lost (a restart without persistence, an eviction) is seeded again, once per
  process at a time, by the first request that needs it: the ledger's committed rows, plus the
  rows this process has not written yet, plus what it has reserved and not settled. Spend plus
  reservations therefore never falls below the truth on one replica; with several, a replica's
  requests in flight at the moment of the loss are counted once their rows are in the ledger
  and the counter is seeded again;
- start-up does not need Redis: keys without limits never touch it, and a counter that could not
  be seeded at start-up is seeded by the refresh loop or by its first request.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.errors import GatewayError
from aigateway.observability.logging import log
from aigateway.policy.admission import Admission, budget_key, unavailable
from aigateway.policy.keys import GatewayKey, KeyCache
from aigateway.policy.ledger import Ledger
from aigateway.routing.prices import usd
from aigateway.store.tables import ledger as ledger_table


class BudgetSeeder:
    def __init__(self, engine: AsyncEngine, admission: Admission, ledger: Ledger):
        self._engine = engine
        self._admission = admission
        self._ledger = ledger
        self._seeded: set[str] = set()
        self._seeding: dict[str, asyncio.Lock] = {}
        admission.seeder = self.seed_one

    async def seed(self, keys: list[GatewayKey]) -> None:
        """Every budgeted key's counter for its current window, unless already seeded here."""
        now = time.time()
        for key in keys:
            window = budget_key(key.id, key.policy, now)
            if window is not None and window[0] not in self._seeded:
                await self._admission.counters.seed(window[0], await self._ledger_spend(key.id, window[1]), window[2])
                self._seeded.add(window[0])

    async def seed_one(self, key_id: str, name: str, start: float, ttl: int | None) -> None:
        """A counter the store lost: seeded from what this process knows, one seed at a time."""
        lock = self._seeding.setdefault(name, asyncio.Lock())
        async with lock:
            if await self._admission.counters.spent(name) is None:
                # Rows not yet written and reservations first: a row written meanwhile is
                # counted twice (too much, never too little).
                unwritten = self._ledger.unwritten_cost(key_id, start) + self._admission.reserved(name)
                value = unwritten + await self._ledger_spend(key_id, start)
                await self._admission.counters.seed(name, value, ttl)
                log.warning("budget counter seeded again", extra={"fields": {"key_id": key_id, "counter": name}})
        if not lock.locked():
            self._seeding.pop(name, None)

    async def _ledger_spend(self, key_id: str, start: float) -> int:
        cols = ledger_table.c
        async with self._engine.connect() as conn:  # one indexed range read (ix_ledger_key_created)
            result = await conn.execute(
                select(func.coalesce(func.sum(cols.cost_nanousd), 0)).where(
                    cols.key_id == key_id, cols.created_at >= start
                )
            )
            return int(result.scalar_one())

    async def run(self, keys: KeyCache) -> None:
        while True:
            await asyncio.sleep(keys.refresh_interval)
            try:
                await self.seed(keys.keys)
            except Exception as exc:  # the store or Redis is down: the next round tries again
                log.warning("budget seeding failed", extra={"fields": {"error": type(exc).__name__}})


async def balance(admission: Admission, key: GatewayKey) -> dict[str, Any]:
    """A credits-style view of a key's budget; spend includes requests still in flight."""
    window = budget_key(key.id, key.policy, time.time())
    budget = key.policy.budget_nanousd
    if window is None or budget is None:
        return {"type": "balance", "key_id": key.id, "budget_usd": None, "period": None}
    try:
        spent = await admission.counters.spent(window[0])
        if spent is None and admission.seeder is not None:
            await admission.seeder(key.id, *window)
            spent = await admission.counters.spent(window[0])
    except GatewayError:
        raise
    except Exception:
        log.exception("budget counter unavailable")
        raise unavailable() from None
    spent = spent or 0
    return {
        "type": "balance",
        "key_id": key.id,
        "period": key.policy.budget_period,
        "period_start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(window[1])),
        "budget_usd": usd(budget),
        "spent_usd": usd(spent),
        "remaining_usd": usd(max(0, budget - spent)),
    }
