"""Shared counters in Redis for several replicas: the same arithmetic as `policy.counters`.

Invariants:
- each `acquire` and `settle` is one Lua script, so a check and its take are atomic across all
  replicas; the clock is Redis's own (`TIME`), so replicas with skewed clocks agree;
- every key starts with the configured prefix; bucket keys expire once they would be full again
  anyway (a missing bucket is a full one), budget keys when their period is over;
- a Redis error is raised to the caller: limits fail closed, never silently open;
- a budget key that is missing (Redis restarted empty, or evicted it) is never read as zero:
  `acquire` answers UNSEEDED without taking anything, `settle` does not create it, `spent` says
  None; the caller seeds it from the ledger (SET NX), then asks again.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from aigateway.policy.counters import SCALE, Bucket, Spend, Verdict

# The start of both scripts: the ARGV header, Redis's clock in ms, and a bucket's level now
# (refilled at `limit` per ms since it was written, never above `cap`; a missing bucket is full).
_PRELUDE = """
local scale = tonumber(ARGV[1])
local nb = tonumber(ARGV[2])
local has_budget = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function level_of(i, limit, cap)
  local st = redis.call('HMGET', KEYS[i], 'l', 't')
  if not st[1] then return cap end
  return math.min(cap, tonumber(st[1]) + math.max(0, now - tonumber(st[2])) * limit)
end
"""

# KEYS: bucket keys, then the budget key if any. ARGV: scale, bucket count, has-budget flag,
# then (limit, amount) per bucket, then (limit, amount, ttl) for the budget.
_ACQUIRE = (
    _PRELUDE
    + """
local levels = {}
for i = 1, nb do
  local limit = tonumber(ARGV[2 + 2 * i])
  local need = tonumber(ARGV[3 + 2 * i]) * scale
  local cap = limit * scale
  local level = level_of(i, limit, cap)
  if need > level and level < cap then
    return {0, i - 1, math.ceil((math.min(need, cap) - level) / limit), -1}
  end
  levels[i] = level - need
end
local spent = -1
if has_budget == 1 then
  local base = 4 + 2 * nb
  local limit = tonumber(ARGV[base])
  local amount = tonumber(ARGV[base + 1])
  local ttl = tonumber(ARGV[base + 2])
  local current = redis.call('GET', KEYS[nb + 1])
  if not current then return {0, -2, 0, -1} end
  spent = tonumber(current)
  if spent + amount > limit then return {0, -1, 0, spent} end
  spent = redis.call('INCRBY', KEYS[nb + 1], amount)
  if ttl > 0 then redis.call('EXPIRE', KEYS[nb + 1], ttl) end
end
local out = {1, 0, 0, spent}
for i = 1, nb do
  local limit = tonumber(ARGV[2 + 2 * i])
  redis.call('HSET', KEYS[i], 'l', levels[i], 't', now)
  redis.call('PEXPIRE', KEYS[i], 2 * scale)
  out[#out + 1] = math.max(0, math.floor(levels[i] / scale))
  out[#out + 1] = math.ceil((limit * scale - levels[i]) / limit)
end
return out
"""
)

# Same KEYS and ARGV layout; amounts are signed corrections.
_SETTLE = (
    _PRELUDE
    + """
for i = 1, nb do
  local limit = tonumber(ARGV[2 + 2 * i])
  local delta = tonumber(ARGV[3 + 2 * i]) * scale
  local cap = limit * scale
  local level = level_of(i, limit, cap)
  redis.call('HSET', KEYS[i], 'l', math.min(cap, level - delta), 't', now)
  redis.call('PEXPIRE', KEYS[i], 2 * scale)
end
if has_budget == 1 and redis.call('EXISTS', KEYS[nb + 1]) == 1 then
  local base = 4 + 2 * nb
  redis.call('INCRBY', KEYS[nb + 1], ARGV[base + 1])
  local ttl = tonumber(ARGV[base + 2])
  if ttl > 0 then redis.call('EXPIRE', KEYS[nb + 1], ttl) end
end
return 1
"""
)


def _args(prefix: str, buckets: list[Bucket], spend: Spend | None) -> tuple[list[str], list[int]]:
    keys = [prefix + b.name for b in buckets]
    argv = [SCALE, len(buckets), 0 if spend is None else 1]
    for b in buckets:
        argv += [b.limit, b.amount]
    if spend is not None:
        keys.append(prefix + spend.name)
        argv += [spend.limit, spend.amount, spend.ttl or 0]
    return keys, argv


class RedisCounters:
    def __init__(self, url: str, prefix: str):
        # A Redis that does not answer a connect within 2 s is down: requests that need it get
        # a 503 then, instead of waiting on the operating system's connect timeout. One retry on
        # a fresh connection: a restarted Redis leaves every pooled connection dead. (Were the
        # first try executed after all, a reservation is taken twice: too much, never too little.)
        retry = Retry(NoBackoff(), retries=1)
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=2, retry=retry)
        self._prefix = prefix
        self._acquire: Any = self._redis.register_script(_ACQUIRE)
        self._settle: Any = self._redis.register_script(_SETTLE)

    async def acquire(self, buckets: list[Bucket], spend: Spend | None) -> Verdict:
        keys, argv = _args(self._prefix, buckets, spend)
        ok, failed, wait, spent, *rest = [int(x) for x in await self._acquire(keys=keys, args=argv)]
        spent_value = None if spent < 0 else spent
        if not ok:
            return Verdict(False, failed, wait, (), (), spent_value)
        return Verdict(True, None, 0, tuple(rest[0::2]), tuple(rest[1::2]), spent_value)

    async def settle(self, buckets: list[Bucket], spend: Spend | None) -> None:
        keys, argv = _args(self._prefix, buckets, spend)
        await self._settle(keys=keys, args=argv)

    async def spent(self, name: str) -> int | None:
        value = await self._redis.get(self._prefix + name)
        return None if value is None else int(value)

    async def seed(self, name: str, value: int, ttl: int | None) -> None:
        # NX: a counter the replicas already share is the truth; the ledger only fills a gap.
        await self._redis.set(self._prefix + name, value, nx=True, ex=ttl or None)

    async def aclose(self) -> None:
        await self._redis.aclose()
