"""Admission: may this key make this request now, and what may it cost? Then settle the truth.

Invariants:
- `admit` runs before anything is sent upstream and raises (403 permission, 429 rate limit, 402
  budget) before any counter moves, or takes from every counter at once (see `counters`);
- a budgeted request reserves its worst case: `estimate_input_tokens(body)` at the dearest input
  rate of the price (a 1 h cache write; the long-context tier's when the estimate is above its
  threshold) plus `max_tokens` at the output rate, for whichever model (every model the config,
  the shipped table or genai-prices prices; routing/prices.py); `settle` replaces the reservation
  with the actual cost, so spend plus reservations never exceeds the budget, server-side tool
  fees (web searches, not known before the answer) aside;
- every admitted request is settled exactly once, whatever happened (`Ticket.settled`);
- a request runs as a plan of attempts (fallbacks): attempts the key may not make are dropped
  (`usable`), the reservation is the dearest worst case of those left, and the cost is settled
  at the price of the route that answered; per-model limits count the model asked for;
- count_tokens is free upstream: it is checked for allowed models/providers only;
- a budget counter the store lost is seeded from the ledger (`seeder`, policy/budget.py) before
  anything is taken from it; what this process has reserved and not yet settled is known
  (`reserved`), so the seed can count it.
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aigateway.errors import BudgetExhausted, GatewayError, PermissionDenied, RateLimited
from aigateway.ir.usage import Usage
from aigateway.observability.logging import log
from aigateway.policy.counters import BUDGET, UNSEEDED, Bucket, Counters, Spend, Verdict
from aigateway.policy.keys import GatewayKey, KeyPolicy
from aigateway.routing.catalog import Route
from aigateway.routing.prices import Price, PriceTable, Quote, usd

# Input tokens the API adds beyond the body (the tool-use system prompt is a few hundred tokens).
PREAMBLE_TOKENS = 1024
# A document or image given by URL or file id has no bytes in the body: count it as a full context.
REFERENCE_TOKENS = 200_000
_REFERENCE = re.compile(rb'"(?:url|file_id)"\s*:')  # a key, wherever it is nested


def estimate_input_tokens(body: bytes) -> int:
    """An upper bound on the input tokens of a Messages body, from its bytes alone.

    Every token the model reads covers at least one byte of the text it came from, and the JSON
    around that text only adds bytes, so the body's length bounds the tokens of everything inline
    (base64 images and PDFs cost far fewer tokens than bytes). What is not inline is added: the
    API's own preamble, and a whole context per URL or file reference.
    """
    refs = len(_REFERENCE.findall(body))
    return len(body) + PREAMBLE_TOKENS + refs * REFERENCE_TOKENS


_WINDOWS: dict[str, tuple[float, float, str]] = {}  # period -> (start, end, name) of the current window


def budget_window(period: str, now: float) -> tuple[str, float, int | None]:
    """(window name, window start as a timestamp, seconds to keep its counter) in UTC. The window
    is worked out once and reused until it ends (datetime arithmetic per request shows up in
    profiles)."""
    if period == "total":
        return "total", 0.0, None
    cached = _WINDOWS.get(period)
    if cached is not None and cached[0] <= now < cached[1]:
        start, end, name = cached
        return name, start, int(end - now) + 86_400
    name, start, keep = _budget_window(period, now)
    if keep is not None:
        _WINDOWS[period] = (start, now + keep - 86_400, name)
    return name, start, keep


def _budget_window(period: str, now: float) -> tuple[str, float, int | None]:
    t = datetime.fromtimestamp(now, UTC)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        start, end = day, day + timedelta(days=1)
    elif period == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif period == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        return "total", 0.0, None
    keep = int((end - t).total_seconds()) + 86_400  # a day past the end, for late settles
    return start.strftime("%Y-%m-%d"), start.timestamp(), keep


def budget_key(key_id: str, policy: KeyPolicy, now: float) -> tuple[str, float, int | None] | None:
    if policy.budget_nanousd is None or policy.budget_period is None:
        return None
    window, start, ttl = budget_window(policy.budget_period, now)
    return f"budget:{key_id}:{policy.budget_period}:{window}", start, ttl


@dataclass(slots=True)
class Ticket:
    """What one admitted request holds, to be settled once it is over."""

    buckets: list[Bucket]
    token_buckets: list[Bucket]
    spend: Spend | None
    reserved_tokens: int
    headers: list[tuple[bytes, bytes]]
    settled: bool = False


# (key id, counter name, window start, ttl) -> the counter exists, seeded from the ledger.
Seeder = Callable[[str, str, float, int | None], Awaitable[None]]


class Admission:
    def __init__(self, counters: Counters, prices: PriceTable):
        self.counters = counters
        self.prices = prices
        self._pending: set[asyncio.Task[None]] = set()
        self.seeder: Seeder | None = None  # set by BudgetSeeder
        self._reserved: dict[str, int] = {}  # budget counter -> reserved here, not yet settled
        self._limits: dict[tuple[str, str], _Limits] = {}  # (key id, model) -> its buckets
        # In-process counters settle in the caller's step: no task per request (counters.py).
        self._settle_now = getattr(counters, "settle_now", None)

    def reserved(self, name: str) -> int:
        return self._reserved.get(name, 0)

    def quote(self, route: Route) -> Quote | None:
        """The route's price now and where it comes from (routing/prices.py: PriceTable.quote)."""
        model = route.entry.id if route.entry is not None else route.model
        return self.prices.quote(model, route.provider, route.upstream_model)

    def price_for(self, route: Route) -> Price | None:
        quote = self.quote(route)
        return quote.price if quote is not None else None

    def refusal(self, key: GatewayKey, route: Route, *, spends: bool) -> str | None:
        """Why this key may not use this route, or None."""
        policy = key.policy
        allowed = policy.allowed_models
        if (
            allowed
            and route.model not in allowed
            and (route.entry is None or route.entry.id not in allowed)  # an alias's catalog id
        ):
            return f"This API key may not use model '{route.model}'"
        if policy.allowed_providers and route.provider not in policy.allowed_providers:
            return f"This API key may not use provider '{route.provider}'"
        if spends and policy.budget_nanousd is not None and self.price_for(route) is None:
            return f"Model '{route.model}' has no price on this gateway; a key with a budget cannot use it"
        return None

    def usable(self, key: GatewayKey, routes: list[Route], *, spends: bool) -> list[bool]:
        """Which routes of a plan the key may use; PermissionDenied (the first reason) if none."""
        policy = key.policy
        if not (policy.allowed_models or policy.allowed_providers) and (not spends or policy.budget_nanousd is None):
            return [True] * len(routes)  # nothing to refuse (most keys)
        reasons = [self.refusal(key, r, spends=spends) for r in routes]
        if routes and all(reasons):
            raise PermissionDenied(reasons[0] or "")
        return [reason is None for reason in reasons]

    async def admit(self, key: GatewayKey, routes: list[Route], body: bytes, max_tokens: int) -> Ticket:
        """Takes the key's rate limits and reserves the dearest worst case among `routes` (the plan)."""
        limits = self._limits_for(key, routes[0])
        if limits.nothing:  # nothing to count: no estimate, no round trip to the counters
            return Ticket([], [], None, 0, [])
        est_input = estimate_input_tokens(body)
        tokens = est_input + max_tokens
        buckets = [Bucket(name, limit, 1) for name, limit in limits.requests]
        token_buckets = [Bucket(name, limit, tokens) for name, limit in limits.tokens]
        spend = None
        budget = None
        if limits.budget is not None:
            window, start, ttl = budget_window(limits.budget[0], time.time())
            budget = limits.budget[1] + window, start, ttl
            prices = [p for p in map(self.price_for, routes) if p is not None]  # `usable` kept priced ones
            worst = max(p.worst_case(est_input, max_tokens) for p in prices)
            spend = Spend(budget[0], limits.budget[2], worst, ttl)
        all_buckets = buckets + token_buckets if token_buckets else buckets
        verdict = await self._acquire(key.id, all_buckets, spend, budget)
        headers = _limit_headers(all_buckets, len(buckets), verdict)
        if not verdict.ok:
            _refuse(all_buckets, spend, verdict, headers)
        if spend is not None:
            self._reserved[spend.name] = self._reserved.get(spend.name, 0) + spend.amount
        return Ticket(buckets, token_buckets, spend, tokens, headers)

    def _limits_for(self, key: GatewayKey, route: Route) -> _Limits:
        """The key's bucket names and limits for the route's model, built once per (key, model)
        and rebuilt when the key's policy changes (a refreshed key is a new object)."""
        model = route.entry.id if route.entry is not None else route.model  # aliases share one bucket
        cached = self._limits.get((key.id, model))
        if cached is not None and cached.policy is key.policy:
            return cached
        if len(self._limits) >= 4096:  # bounded: model ids come from clients
            self._limits.clear()
        limits = self._limits[(key.id, model)] = _Limits(key, model)
        return limits

    async def _acquire(
        self, key_id: str, buckets: list[Bucket], spend: Spend | None, budget: tuple[str, float, int | None] | None
    ) -> Verdict:
        """The counters' verdict; a lost budget counter is seeded from the ledger, then asked again."""
        try:
            verdict = await self.counters.acquire(buckets, spend)
            if verdict.failed == UNSEEDED and budget is not None and self.seeder is not None:
                await self.seeder(key_id, *budget)
                verdict = await self.counters.acquire(buckets, spend)
        except Exception:
            log.exception("rate-limit counters unavailable")
            raise unavailable() from None
        if verdict.failed == UNSEEDED:
            raise unavailable()
        return verdict

    def settle(self, ticket: Ticket, route: Route | None, usage: Usage | None) -> int | None:
        """Returns the request's cost (at the price of the route that answered); corrects the
        counters in the background."""
        cost = self.cost(route, usage)
        if ticket.settled:
            return cost
        ticket.settled = True
        actual_tokens = usage.total_tokens if usage is not None else 0
        corrections = [Bucket(b.name, b.limit, actual_tokens - ticket.reserved_tokens) for b in ticket.token_buckets]
        spend = None
        if ticket.spend is not None:
            spend = Spend(ticket.spend.name, ticket.spend.limit, (cost or 0) - ticket.spend.amount, ticket.spend.ttl)
        if (corrections or spend is not None) and self._settle_now is not None:
            self._settle_now(corrections, spend)
            if ticket.spend is not None:
                self._release(ticket.spend)
        elif corrections or spend is not None:
            task = asyncio.ensure_future(self._settle(corrections, spend, ticket.spend))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return cost

    def cost(self, route: Route | None, usage: Usage | None) -> int | None:
        if route is None or usage is None:
            return None
        price = self.price_for(route)
        return None if price is None else price.cost(usage)

    async def _settle(self, buckets: list[Bucket], spend: Spend | None, reservation: Spend | None) -> None:
        try:
            await self.counters.settle(buckets, spend)
        except Exception:
            log.exception("settling counters failed")
        finally:  # only now: a seed made before the settle landed must count the reservation
            if reservation is not None:
                self._release(reservation)

    def _release(self, reservation: Spend) -> None:
        left = self._reserved.get(reservation.name, 0) - reservation.amount
        if left:
            self._reserved[reservation.name] = left
        else:
            self._reserved.pop(reservation.name, None)

    async def aclose(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        await self.counters.aclose()


def unavailable() -> GatewayError:
    return GatewayError("Rate limits cannot be checked right now", status=503)


class _Limits:
    """What admission counts for one key and one model, worked out once: bucket names and limits
    (requests first, then tokens), and the budget's (period, counter name prefix, limit)."""

    __slots__ = ("budget", "nothing", "policy", "requests", "tokens")

    def __init__(self, key: GatewayKey, model: str):
        p = self.policy = key.policy
        self.requests: list[tuple[str, int]] = []
        self.tokens: list[tuple[str, int]] = []
        if p.rpm:
            self.requests.append((f"rpm:{key.id}", p.rpm))
        if p.rpm_per_model:
            self.requests.append((f"rpm:{key.id}:{model}", p.rpm_per_model))
        if p.tpm:
            self.tokens.append((f"tpm:{key.id}", p.tpm))
        if p.tpm_per_model:
            self.tokens.append((f"tpm:{key.id}:{model}", p.tpm_per_model))
        self.budget: tuple[str, str, int] | None = None
        if p.budget_nanousd is not None and p.budget_period is not None:
            self.budget = (p.budget_period, f"budget:{key.id}:{p.budget_period}:", p.budget_nanousd)
        self.nothing = not (self.requests or self.tokens) and p.budget_nanousd is None


def _limit_headers(buckets: list[Bucket], requests: int, verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """Anthropic's `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (spec §2),
    for the tightest bucket of each kind; reset is RFC 3339, when the bucket is full again.
    `buckets`: the request buckets (the first `requests`), then the token buckets."""
    headers: list[tuple[bytes, bytes]] = []
    if not buckets:
        return headers
    now = time.time()
    ok = verdict.ok
    for names, lo, hi in ((_REQUESTS, 0, requests), (_TOKENS, requests, len(buckets))):
        if lo == hi:
            continue
        best = lo
        if ok:
            remaining = verdict.remaining
            for i in range(lo + 1, hi):
                if remaining[i] < remaining[best]:
                    best = i
            left, reset = remaining[best], verdict.reset_ms[best]
        else:
            left, reset = 0, verdict.retry_after_ms
        headers += [
            (names[0], _decimal(buckets[best].limit)),
            (names[1], str(left).encode()),
            (names[2], _rfc3339(int(now + reset / 1000))),
        ]
    return headers


_REQUESTS, _TOKENS = (
    tuple(f"anthropic-ratelimit-{kind}-{part}".encode() for part in ("limit", "remaining", "reset"))
    for kind in ("requests", "tokens")
)


@functools.lru_cache(maxsize=1024)
def _decimal(limit: int) -> bytes:
    return str(limit).encode()


@functools.lru_cache(maxsize=256)
def _rfc3339(second: int) -> bytes:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()


def _refuse(buckets: list[Bucket], spend: Spend | None, verdict: Verdict, headers: list[tuple[bytes, bytes]]) -> None:
    if verdict.failed == BUDGET and spend is not None:
        left = max(0, spend.limit - (verdict.spent or 0))
        raise BudgetExhausted(
            f"This request may cost up to ${usd(spend.amount)} (max_tokens at the output price); this API key "
            f"has ${usd(left)} of its budget left for the current period"
        )
    bucket = buckets[verdict.failed or 0]
    kind = "requests" if bucket.name.startswith("rpm:") else "tokens"
    seconds = max(1, -(-verdict.retry_after_ms // 1000))
    headers.append((b"retry-after", str(seconds).encode()))
    raise RateLimited(f"This API key has exceeded its rate limit of {bucket.limit} {kind} per minute", headers)
