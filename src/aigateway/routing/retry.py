"""What to do after a failed attempt, and how long to wait before the next one.

`decide(error, attempts_left)`:
- `retry` the same attempt: connection reset, timeouts, 408, 409, 5xx, 529, an `overloaded_error`
  inside a stream before any content (these pass with time);
- `next` attempt (another credential, provider or fallback model): connection refused, no first
  content within the first-byte timeout (the point of that timeout is to fail over), 429 when
  another attempt exists (a 429 on one credential moves to the next), a refused gateway
  credential, 404 (the model may exist elsewhere);
- `stop`: the request itself is wrong (other 4xx); every other upstream would refuse it too.

Backoff is exponential with full jitter (AWS architecture blog, "Exponential Backoff And
Jitter"); an upstream's `retry-after-ms` / `retry-after` (seconds or an HTTP date) is honoured
exactly, and a wait that would pass the request's deadline is not taken.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal

from aigateway.errors import UpstreamError, UpstreamUnavailable

Decision = Literal["retry", "next", "stop"]


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2  # extra tries of one attempt
    max_attempts: int = 6  # upstream calls per request, all attempts together
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    deadline: float = 120.0  # seconds from the request's arrival; no retry starts after it


def decide(error: UpstreamError, *, more_attempts: bool) -> Decision:
    if isinstance(error, UpstreamUnavailable):
        return "next" if error.move_on and more_attempts else "retry"
    if error.credential_refused:
        return "next"
    status = error.upstream_status
    if status == 429:
        return "next" if more_attempts else "retry"
    if status == 404:
        return "next"
    if status in (408, 409) or status >= 500:
        return "retry"
    return "stop"


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the upstream asked us to wait, if it said."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms), 0.0) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def backoff(policy: RetryPolicy, retry: int, asked: float | None) -> float:
    """Seconds before retry number `retry` (0-based)."""
    if asked is not None:
        return asked
    return random.uniform(0, min(policy.backoff_max, policy.backoff_base * 2**retry))
