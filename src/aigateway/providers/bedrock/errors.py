"""Bedrock errors to the gateway's error tree, by one table (Bedrock API reference, "Errors";
botocore's bedrock-runtime service model for each exception's HTTP status).

A Bedrock error is `{"message": ...}` with the exception's name in the `x-amzn-errortype`
header (`ValidationException:http://...`); inside a stream it is a frame whose
`:exception-type` is the same name in lowerCamelCase. Neither is an Anthropic body, so the
client always gets Anthropic's envelope. A refused credential (AccessDenied, UnrecognizedClient,
an expired or invalid token or signature) is the gateway's fault, not the client's: a 502
naming the provider, not worth retrying, without AWS's wording (it names accounts and roles).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from aigateway.errors import UpstreamError
from aigateway.providers.bedrock import wire

# exception name -> (status to the client, Anthropic error type)
EXCEPTIONS: dict[str, tuple[int, str]] = {
    "ValidationException": (400, "invalid_request_error"),
    "ConflictException": (409, "invalid_request_error"),
    "ResourceNotFoundException": (404, "not_found_error"),
    "ThrottlingException": (429, "rate_limit_error"),
    "ServiceQuotaExceededException": (429, "rate_limit_error"),
    "ModelTimeoutException": (504, "timeout_error"),
    "InternalServerException": (500, "api_error"),
    "ModelErrorException": (502, "api_error"),
    "ModelStreamErrorException": (502, "api_error"),
    "ServiceUnavailableException": (529, "overloaded_error"),
    "ModelNotReadyException": (529, "overloaded_error"),
}
CREDENTIAL_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "InvalidClientTokenId",
    }
)
# When the exception name is missing (some proxies and recorders drop the header): by status.
BY_STATUS: dict[int, str] = {
    400: "ValidationException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


def exception_name(status: int, headers: Mapping[str, str]) -> str:
    raw = headers.get("x-amzn-errortype", "")
    name = raw.split(":", 1)[0].strip()
    if name:
        return name
    if status in (401, 403):
        return "AccessDeniedException"
    return BY_STATUS.get(status, "InternalServerException" if status >= 500 else "ValidationException")


def map_error(provider: str, status: int, body: bytes, headers: Mapping[str, str]) -> UpstreamError:
    name = exception_name(status, {k.lower(): v for k, v in headers.items()})
    return _error(provider, name, _message(body), {k: v for k, v in headers.items() if k.lower() == "retry-after"})


def stream_exception(provider: str, name: str, payload: bytes, headers: Mapping[str, Any]) -> UpstreamError:
    """An `exception` (or `error`) frame inside a 200 stream."""
    message = _message(payload) or str(headers.get(":error-message") or "")
    return _error(provider, name[:1].upper() + name[1:], message, {})


def _error(provider: str, name: str, message: str, forwarded: dict[str, str]) -> UpstreamError:
    if name in CREDENTIAL_ERRORS:
        return UpstreamError(
            f"The gateway's AWS credentials for provider '{provider}' were refused ({name}); an operator "
            "must fix them or grant access to the model",
            provider=provider,
            status=502,
            retryable=False,
            credential_refused=True,
        )
    status, error_type = EXCEPTIONS.get(name, (502, "api_error"))
    detail = f"{name}: {message}" if message else name
    return UpstreamError(
        f"{provider}: {detail}",
        provider=provider,
        status=status,
        error_type=error_type,
        headers={k.lower(): v for k, v in forwarded.items()},
    )


def _message(body: bytes) -> str:
    """The body's message; the start of its text when it is not JSON (a proxy's page)."""
    try:
        error = wire.decode_error(body)
    except msgspec.ValidationError:  # JSON of another shape: nothing to quote
        return ""
    except msgspec.DecodeError:
        return body[:300].decode("utf-8", "replace").strip()
    return error.message or error.Message or ""
