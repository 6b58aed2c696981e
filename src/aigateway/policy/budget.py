"""Budget counters: seeded from the ledger off the request path, and read as a balance.

Invariants:
- the request path never queries the database for spend: counters live in memory or Redis
  (`counters`); this module fills a counter from the ledger once per budget window, at start-up
  and in the background refresh loop, before or beside the requests that use it;
- seeding never overwrites a live counter (in Redis: SET NX), so replicas that start late or
  restart cannot roll shared spend back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aigateway.observability.logging import log
from aigateway.policy.admission import Admission, budget_key
from aigateway.policy.keys import GatewayKey, KeyCache
from aigateway.routing.prices import usd
from aigateway.store.tables import ledger


class BudgetSeeder:
    def __init__(self, engine: AsyncEngine, admission: Admission):
        self._engine = engine
        self._admission = admission
        self._seeded: set[str] = set()

    async def seed(self, keys: list[GatewayKey]) -> None:
        now = time.time()
        todo: dict[str, tuple[str, float, int | None]] = {}
        for key in keys:
            window = budget_key(key.id, key.policy, now)
            if window is not None and window[0] not in self._seeded:
                todo[key.id] = window
        if not todo:
            return
        cols = ledger.c
        async with self._engine.connect() as conn:
            for key_id, (name, start, ttl) in todo.items():
                # One indexed range read per new window (ix_ledger_key_created).
                result = await conn.execute(
                    select(func.coalesce(func.sum(cols.cost_nanousd), 0)).where(
                        cols.key_id == key_id, cols.created_at >= start
                    )
                )
                await self._admission.counters.seed(name, int(result.scalar_one()), ttl)
                self._seeded.add(name)

    async def run(self, keys: KeyCache) -> None:
        while True:
            await asyncio.sleep(keys.refresh_interval)
            try:
                await self.seed(keys.keys)
            except Exception:
                log.exception("budget seeding failed")


async def balance(admission: Admission, key: GatewayKey) -> dict[str, Any]:
    """A credits-style view of a key's budget; spend includes requests still in flight."""
    window = budget_key(key.id, key.policy, time.time())
    budget = key.policy.budget_nanousd
    if window is None or budget is None:
        return {"type": "balance", "key_id": key.id, "budget_usd": None, "period": None}
    spent = await admission.counters.spent(window[0])
    return {
        "type": "balance",
        "key_id": key.id,
        "period": key.policy.budget_period,
        "period_start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(window[1])),
        "budget_usd": usd(budget),
        "spent_usd": usd(spent),
        "remaining_usd": usd(max(0, budget - spent)),
    }
