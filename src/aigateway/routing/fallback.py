"""Runs an attempt plan until one attempt reaches its commit point.

`start(attempt)` makes the upstream call and returns once the answer is safe to hand to the
client (the whole body, or a stream up to its first content-bearing event); it raises
`UpstreamError` otherwise. Around it this module applies, per attempt: the breaker of the
(provider, credential), the first-byte timeout, retries with backoff on transient errors
(`errors.classify`), and the move to the next attempt. Nothing here runs after the commit point:
once `run` returns, the answer belongs to the client and failures are the relay's to report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from aigateway.errors import UpstreamError, UpstreamUnavailable, classify
from aigateway.observability.logging import log
from aigateway.routing.health import Health
from aigateway.routing.plan import Attempt
from aigateway.routing.retry import RetryPolicy, backoff, retry_after

T = TypeVar("T")


@dataclass
class Tried:
    provider: str
    credential: str
    upstream_model: str
    outcome: str  # "ok", or the status / error type that ended the try
    started: float = 0.0  # time.monotonic() bounds of the try, for trace spans
    ended: float = 0.0


@dataclass
class Attempts(Generic[T]):
    plan: list[Attempt]
    policy: RetryPolicy
    health: Health
    started: float  # time.monotonic() of the request's arrival
    request_id: str
    tried: list[Tried] = field(default_factory=list)

    async def run(self, start: Callable[[Attempt], Awaitable[T]]) -> tuple[Attempt, T]:
        last: UpstreamError | None = None
        try:
            for i, attempt in enumerate(self.plan):
                more = i + 1 < len(self.plan)
                breaker = self.health.breaker(attempt.route.provider, attempt.lane.credential)
                for retry in range(self.policy.retries + 1):
                    if len(self.tried) >= self.policy.max_attempts or self._past_deadline(0):
                        raise last or _exhausted(attempt)
                    if not breaker.allow():
                        last = last or _circuit_open(attempt)
                        break
                    began = time.monotonic()
                    try:
                        result = await self._one(attempt, start)
                    except UpstreamError as exc:
                        last = exc
                        self._note(attempt, exc, began)
                        verdict = classify(exc, more_attempts=more)
                        if verdict.upstream_fault:
                            breaker.failure()
                        else:
                            breaker.success()
                        if verdict.action == "stop":
                            raise
                        if verdict.action == "next" or retry == self.policy.retries:
                            break
                        delay = backoff(self.policy, retry, retry_after(exc.headers))
                        if self._past_deadline(delay):
                            raise
                        await asyncio.sleep(delay)
                        continue
                    breaker.success()
                    route, credential = attempt.route, attempt.lane.credential
                    ok = Tried(route.provider, credential, route.upstream_model, "ok", began, time.monotonic())
                    self.tried.append(ok)
                    return attempt, result
            raise last or _exhausted(self.plan[-1])
        finally:
            last = None  # kept here, an error raised from this frame would hold it (and the body) in a cycle

    async def _one(self, attempt: Attempt, start: Callable[[Attempt], Awaitable[T]]) -> T:
        limit = attempt.first_byte_timeout
        if limit is None:
            return await start(attempt)
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                return await start(attempt)
        except (TimeoutError, UpstreamError):
            if not deadline.expired():
                raise
            # The clock ran out (the client library may report it as its own timeout).
            provider = attempt.route.provider
            raise UpstreamUnavailable(
                f"Upstream provider '{provider}' did not start answering within {limit:g} s",
                provider=provider,
                status=504,
                move_on=True,
            ) from None

    def _past_deadline(self, wait: float) -> bool:
        return time.monotonic() + wait - self.started > self.policy.deadline

    def _note(self, attempt: Attempt, exc: UpstreamError, began: float) -> None:
        route, outcome = attempt.route, f"{exc.upstream_status} {exc.error_type}"
        tried = Tried(route.provider, attempt.lane.credential, route.upstream_model, outcome, began, time.monotonic())
        self.tried.append(tried)
        fields = {"request_id": self.request_id, "provider": tried.provider, "credential": tried.credential}
        fields |= {"upstream_model": tried.upstream_model, "outcome": outcome}
        log.warning("attempt failed", extra={"fields": fields})


def _circuit_open(attempt: Attempt) -> UpstreamError:
    return _overloaded(attempt, "is failing and was not called (circuit open)")


def _exhausted(attempt: Attempt) -> UpstreamError:
    return _overloaded(attempt, "has no attempt left within the request's limits")


def _overloaded(attempt: Attempt, what: str) -> UpstreamError:
    provider = attempt.route.provider
    return UpstreamError(
        f"Upstream provider '{provider}' {what}", provider=provider, status=529, error_type="overloaded_error"
    )
