"""A Google API error to the gateway's error tree, by one table (spec §6, §10.4).

Google's envelope is `{"error": {"code", "message", "status", "details"}}` (sometimes inside a
one-element list), decoded as wire.py's `ErrorBody`; a body that is not one (HTML from a proxy,
a wrong shape) maps by its HTTP status alone, with its first 300 bytes as the message. The
client sees Anthropic's types and statuses:

| Google status (HTTP)                                 | to the client                            |
|------------------------------------------------------|------------------------------------------|
| INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE  | 400 invalid_request_error                |
| INVALID_ARGUMENT + ErrorInfo reason API_KEY_*,       | 502 api_error naming the provider,       |
|   UNAUTHENTICATED (401), PERMISSION_DENIED (403)     |   not retryable                          |
| NOT_FOUND (404)                                      | 404 not_found_error                      |
| RESOURCE_EXHAUSTED (429)                             | 429 rate_limit_error, `retry-after` from |
|                                                      |   `RetryInfo.retryDelay`                 |
| INTERNAL (500), UNKNOWN, CANCELLED                   | 500 api_error                            |
| UNAVAILABLE (503)                                    | 529 overloaded_error                     |
| DEADLINE_EXCEEDED (504)                              | 504 api_error                            |

A refused credential is the gateway's own fault, never the client's key, so it is a 502 without
the upstream's wording.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import msgspec

from aigateway.errors import UpstreamError, anthropic_error_for
from aigateway.providers.errors import credential_refused, own_credential_refused, upstream_error
from aigateway.providers.gemini.wire import ERROR, ErrorDetail, Status

_BY_STATUS: dict[str, tuple[int, str]] = {
    "INVALID_ARGUMENT": (400, "invalid_request_error"),
    "FAILED_PRECONDITION": (400, "invalid_request_error"),
    "OUT_OF_RANGE": (400, "invalid_request_error"),
    "NOT_FOUND": (404, "not_found_error"),
    "ALREADY_EXISTS": (409, "api_error"),
    "ABORTED": (409, "api_error"),
    "RESOURCE_EXHAUSTED": (429, "rate_limit_error"),
    "CANCELLED": (500, "api_error"),
    "UNKNOWN": (500, "api_error"),
    "INTERNAL": (500, "api_error"),
    "DATA_LOSS": (500, "api_error"),
    "UNIMPLEMENTED": (400, "invalid_request_error"),
    "UNAVAILABLE": (529, "overloaded_error"),
    "DEADLINE_EXCEEDED": (504, "api_error"),
}
_CREDENTIAL_STATUSES = {"UNAUTHENTICATED", "PERMISSION_DENIED"}
_NONE = Status()  # what a body that is not Google's envelope reads as


def google_error(body: bytes) -> Status:
    """The `error` object of a Google error body, or an empty Status when it is not one."""
    try:
        data = ERROR.decode(body)
    except msgspec.DecodeError:  # ValidationError too: not Google's envelope
        return _NONE
    if isinstance(data, list):
        data = data[0] if data else None
    return (data.error if data is not None else None) or _NONE


def map_error(
    provider: str,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    secret: str | None,
    credential: str,
    *,
    byok: bool = False,
) -> UpstreamError:
    """`credential` names the config key an operator must fix when Google refuses ours; `byok`:
    the key is the request's own, so its refusal is the client's."""
    error = google_error(body)
    code = error.status or ""
    if status in (401, 403) or code in _CREDENTIAL_STATUSES or _is_key_problem(error):
        if byok:
            return own_credential_refused(provider, status if status in (401, 403) else 401)
        return credential_refused(provider, status, f"{status} {code or 'error'}", credential)
    client = _BY_STATUS.get(code) or anthropic_error_for(status)
    detail = error.message or body[:300].decode("utf-8", "replace").strip()
    forwarded = {}
    delay = _retry_delay(error)
    if delay is not None:
        forwarded["retry-after"] = delay
    elif "retry-after" in headers:
        forwarded["retry-after"] = headers["retry-after"]
    return upstream_error(provider, status, client, detail, secret=secret, headers=forwarded)


def _details(error: Status) -> Sequence[ErrorDetail]:
    return error.details or ()


def _is_key_problem(error: Status) -> bool:
    """google.rpc.ErrorInfo reasons API_KEY_INVALID, API_KEY_EXPIRED, ...: our key, not the request."""
    return any((d.reason or "").startswith("API_KEY_") for d in _details(error))


def _retry_delay(error: Status) -> str | None:
    """google.rpc.RetryInfo.retryDelay is a Duration in JSON form ("34.4s"); retry-after wants seconds."""
    for detail in _details(error):
        if (detail.type or "").endswith("google.rpc.RetryInfo"):
            raw = detail.retry_delay or ""
            try:
                return str(max(1, math.ceil(float(raw.removesuffix("s")))))
            except ValueError:
                return None
    return None
