"""A Chat Completions error response to the gateway's error tree, by the shared status table (errors.py).

The client sees Anthropic's types and statuses. A 401 or 403 means the gateway's own credential
for the provider was refused (providers/errors.py): a 502 naming the provider, without the
upstream's wording (which echoes part of the key); with BYOK it is the client's own 401 or 403.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from aigateway.errors import UpstreamError, anthropic_error_for
from aigateway.providers.errors import credential_refused, own_credential_refused, upstream_error
from aigateway.providers.openai import wire

_FORWARDED = ("retry-after", "retry-after-ms")


def map_error(
    provider: str, status: int, body: bytes, headers: Mapping[str, str], secret: str | None, *, byok: bool = False
) -> UpstreamError:
    """`byok`: the credential is the request's own, so its refusal is the client's."""
    if status in (401, 403):
        if byok:
            return own_credential_refused(provider, status)
        return credential_refused(provider, status, str(status), "api_key")
    forwarded = {name: headers[name] for name in _FORWARDED if name in headers}
    return upstream_error(
        provider, status, anthropic_error_for(status), _message(body), secret=secret, headers=forwarded
    )


def _message(body: bytes) -> str:
    try:
        data = wire.decode_error(body)
    except (msgspec.DecodeError, UnicodeDecodeError):  # the latter: invalid UTF-8 inside a string
        return body[:300].decode("utf-8", "replace").strip()
    if data is None:
        return ""
    error = data.error
    if isinstance(error, wire.ErrorObject):
        message = error.message or ""
        raw = error.metadata.raw if error.metadata else None
        return f"{message}: {raw}" if raw else message
    if isinstance(error, str):
        return error
    return str(data.message or data.detail or "")
