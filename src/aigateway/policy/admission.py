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
        names = {route.model, route.entry.id if route.entry else route.model}
        if policy.allowed_models and not names & set(policy.allowed_models):
            return f"This API key may not use model '{route.model}'"
        if policy.allowed_providers and route.provider not in policy.allowed_providers:
            return f"This API key may not use provider '{route.provider}'"
        if spends and policy.budget_nanousd is not None and self.price_for(route) is None:
            return f"Model '{route.model}' has no price on this gateway; a key with a budget cannot use it"
        return None

    def usable(self, key: GatewayKey, routes: list[Route], *, spends: bool) -> list[bool]:
        """Which routes of a plan the key may use; PermissionDenied (the first reason) if none."""
        reasons = [self.refusal(key, r, spends=spends) for r in routes]
        if routes and all(reasons):
            raise PermissionDenied(reasons[0] or "")
        return [reason is None for reason in reasons]

    async def admit(self, key: GatewayKey, routes: list[Route], body: bytes, max_tokens: int) -> Ticket:
        """Takes the key's rate limits and reserves the dearest worst case among `routes` (the plan)."""
        policy = key.policy
        if not (policy.rpm or policy.tpm or policy.rpm_per_model or policy.tpm_per_model) and (
            policy.budget_nanousd is None
        ):  # nothing to count: no estimate, no round trip to the counters
            return Ticket([], [], None, 0, [])
        est_input = estimate_input_tokens(body)
        tokens = est_input + max_tokens
        buckets, token_buckets = _buckets(key, routes[0], tokens)
        spend = None
        budget = budget_key(key.id, policy, time.time())
        if budget is not None:
            prices = [p for p in map(self.price_for, routes) if p is not None]  # `usable` kept priced ones
            worst = max(p.worst_case(est_input, max_tokens) for p in prices)
            spend = Spend(budget[0], policy.budget_nanousd or 0, worst, budget[2])
        all_buckets = buckets + token_buckets
        verdict = await self._acquire(key.id, all_buckets, spend, budget)
        headers = _limit_headers(all_buckets, verdict)
        if not verdict.ok:
            _refuse(all_buckets, spend, verdict, headers)
        if spend is not None:
            self._reserved[spend.name] = self._reserved.get(spend.name, 0) + spend.amount
        return Ticket(buckets, token_buckets, spend, tokens, headers)

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
        if corrections or spend is not None:
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


def _buckets(key: GatewayKey, route: Route, tokens: int) -> tuple[list[Bucket], list[Bucket]]:
    p = key.policy
    model = route.entry.id if route.entry is not None else route.model  # aliases share one bucket
    requests, token_buckets = [], []
    if p.rpm:
        requests.append(Bucket(f"rpm:{key.id}", p.rpm, 1))
    if p.rpm_per_model:
        requests.append(Bucket(f"rpm:{key.id}:{model}", p.rpm_per_model, 1))
    if p.tpm:
        token_buckets.append(Bucket(f"tpm:{key.id}", p.tpm, tokens))
    if p.tpm_per_model:
        token_buckets.append(Bucket(f"tpm:{key.id}:{model}", p.tpm_per_model, tokens))
    return requests, token_buckets


def _limit_headers(buckets: list[Bucket], verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """Anthropic's `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (spec §2),
    for the tightest bucket of each kind; reset is RFC 3339, when the bucket is full again."""
    headers: list[tuple[bytes, bytes]] = []
    now = time.time()
    for kind in ("requests", "tokens"):
        prefix = "rpm:" if kind == "requests" else "tpm:"
        best: tuple[int, int, Bucket] | None = None
        for i, b in enumerate(buckets):
            if not b.name.startswith(prefix):
                continue
            remaining = verdict.remaining[i] if verdict.ok else 0
            reset = verdict.reset_ms[i] if verdict.ok else verdict.retry_after_ms
            if best is None or remaining < best[0]:
                best = (remaining, reset, b)
        if best is None:
            continue
        remaining, reset, b = best
        limit, left, at = _HEADER_NAMES[kind]
        headers += [
            (limit, str(b.limit).encode()),
            (left, str(remaining).encode()),
            (at, _rfc3339(int(now + reset / 1000))),
        ]
    return headers


_HEADER_NAMES = {
    kind: tuple(f"anthropic-ratelimit-{kind}-{part}".encode() for part in ("limit", "remaining", "reset"))
    for kind in ("requests", "tokens")
}


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
