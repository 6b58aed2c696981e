"""How long to wait before retrying a failed attempt (what to do after one: `errors.classify`).

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


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2  # extra tries of one attempt
    max_attempts: int = 6  # upstream calls per request, all attempts together
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    deadline: float = 120.0  # seconds from the request's arrival; no retry starts after it


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
