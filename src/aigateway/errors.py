"""The one error tree of the gateway.

    GatewayError                      status, error type, message: rendered by each front door
    ├── ClientError                   the caller's request is wrong
    │   ├── InvalidRequest            400 invalid_request_error (names the field)
    │   ├── AuthenticationFailed      401 authentication_error
    │   ├── BudgetExhausted           402 billing_error (the key's budget for the period is spent)
    │   ├── PermissionDenied          403 permission_error (model, provider or admin route not allowed)
    │   ├── NotFound                  404 not_found_error
    │   ├── RequestTimeout            408 timeout_error (the body did not arrive in time)
    │   ├── RequestTooLarge           413 request_too_large
    │   └── RateLimited               429 rate_limit_error, with retry-after and the limit headers
    ├── Overloaded                    529 overloaded_error: the gateway holds too many bodies now
    └── UpstreamError                 an upstream call failed: provider, status, upstream body, retryable
        └── UpstreamUnavailable       no answer at all (connect error, timeout): api_error

Front doors render a GatewayError into their own envelope. An `UpstreamError` that carries the
upstream's own body (`passthrough_body`) is sent unchanged when the client speaks the upstream's
protocol, because clients match on its wording.
What a failed upstream call means is decided in one place, `classify`: retry the same attempt,
go to the next (another credential, provider or fallback model), or stop and answer; and
whether it counts against the (provider, credential)'s breaker. Retries, fallbacks, breakers
and the `x-should-retry` header the client gets (`is_retryable_status`) all read it.
`response_headers` are extra headers the front door sends with the error (retry-after, limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# An upstream's HTTP status -> (status to the client, Anthropic error type), for upstreams whose
# error bodies are not Anthropic's (spec §6). 503 is Anthropic's 529 (overloaded).
_FOR_STATUS: dict[int, tuple[int, str]] = {
    400: (400, "invalid_request_error"),
    404: (404, "not_found_error"),
    408: (504, "api_error"),
    409: (409, "api_error"),
    413: (413, "request_too_large"),
    422: (400, "invalid_request_error"),
    429: (429, "rate_limit_error"),
    500: (500, "api_error"),
    502: (502, "api_error"),
    503: (529, "overloaded_error"),
    504: (504, "api_error"),
    529: (529, "overloaded_error"),  # Anthropic's own overloaded status, from a body we cannot read
}


def anthropic_error_for(status: int) -> tuple[int, str]:
    """(status, Anthropic error type) the client gets for an upstream error status."""
    found = _FOR_STATUS.get(status)
    if found is not None:
        return found
    return (502, "api_error") if status >= 500 else (400, "invalid_request_error")


Action = Literal["retry", "next", "stop"]


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    upstream_fault: bool  # says the upstream (or our credential for it) is unwell: the breaker counts it


def _by_status(status: int, *, more_attempts: bool) -> Verdict:
    """- 429: another credential or provider may have room, else it passes with time;
    - 404: the model may exist elsewhere (not the upstream's fault);
    - 408 and 5xx (529 too): these pass with time; 409 (a conflict) too, though not a fault;
    - any other 4xx: the request itself is wrong, and every other upstream would refuse it too."""
    if status == 429:
        return Verdict("next" if more_attempts else "retry", True)
    if status == 404:
        return Verdict("next", False)
    if status == 408 or status >= 500:
        return Verdict("retry", True)
    if status == 409:
        return Verdict("retry", False)
    return Verdict("stop", False)


def classify(error: UpstreamError, *, more_attempts: bool) -> Verdict:
    """What to do after a failed attempt; `more_attempts`: whether the plan has another."""
    if isinstance(error, UpstreamUnavailable):
        # Nothing listens there, or it was too slow to start: retrying the same one is pointless.
        return Verdict("next" if error.move_on and more_attempts else "retry", True)
    if error.credential_refused:
        return Verdict("next", True)
    return _by_status(error.upstream_status, more_attempts=more_attempts)


def is_retryable_status(status: int) -> bool:
    """The rule the Anthropic SDKs themselves apply (spec §6.3), which `classify` agrees with:
    408, 409, 429 and 5xx (529 too) pass with time; 404 and other 4xx do not."""
    return _by_status(status, more_attempts=False).action == "retry"


class GatewayError(Exception):
    status: int = 500
    error_type: str = "api_error"
    response_headers: tuple[tuple[bytes, bytes], ...] = ()

    def __init__(self, message: str, *, status: int | None = None, error_type: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if error_type is not None:
            self.error_type = error_type


class ClientError(GatewayError):
    status = 400
    error_type = "invalid_request_error"


class InvalidRequest(ClientError):
    pass


class AuthenticationFailed(ClientError):
    status = 401
    error_type = "authentication_error"


class NotFound(ClientError):
    status = 404
    error_type = "not_found_error"


class RequestTooLarge(ClientError):
    status = 413
    error_type = "request_too_large"


class RequestTimeout(ClientError):
    status = 408
    error_type = "timeout_error"


class PermissionDenied(ClientError):
    status = 403
    error_type = "permission_error"


class BudgetExhausted(ClientError):
    status = 402
    error_type = "billing_error"


class RateLimited(ClientError):
    status = 429
    error_type = "rate_limit_error"

    def __init__(self, message: str, headers: list[tuple[bytes, bytes]]):
        super().__init__(message)
        self.response_headers = tuple(headers)


class Overloaded(GatewayError):
    status = 529
    error_type = "overloaded_error"
    response_headers = ((b"retry-after", b"1"),)


class UpstreamError(GatewayError):
    """The upstream answered with an error status (or not at all, see the subclass)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int,
        error_type: str = "api_error",
        passthrough_body: bytes | None = None,
        headers: dict[str, str] | None = None,
        retryable: bool | None = None,
        upstream_status: int | None = None,
        credential_refused: bool = False,
    ):
        super().__init__(message, status=status, error_type=error_type)
        self.provider = provider
        self.passthrough_body = passthrough_body
        self.headers = headers or {}
        self.retryable = is_retryable_status(status) if retryable is None else retryable
        self.upstream_status = status if upstream_status is None else upstream_status
        self.credential_refused = credential_refused  # the gateway's key for this provider was refused


def credential_refused(provider: str, status: int) -> UpstreamError:
    """The upstream refused the gateway's own credential (401, 403): the operator's fault, never
    the client's key, so a 502 naming the provider and the config key, not worth retrying."""
    return UpstreamError(
        f"The gateway's credential for provider '{provider}' was refused ({status}); "
        f"an operator must fix providers.{provider}.api_key",
        provider=provider,
        status=502,
        retryable=False,
        upstream_status=status,
        credential_refused=True,
    )


class UpstreamUnavailable(UpstreamError):
    """Connect failure, reset or timeout: the upstream gave no usable answer."""

    def __init__(self, message: str, *, provider: str, status: int = 502, move_on: bool = False):
        super().__init__(message, provider=provider, status=status, error_type="api_error")
        # Retrying the same upstream is pointless (nothing listens there; it was too slow to start).
        self.move_on = move_on
