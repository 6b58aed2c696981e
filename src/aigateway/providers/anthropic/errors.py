"""An Anthropic error answer (`{"type": "error", "error": {"type", "message"}}`) in the gateway's
error tree, for a client of another protocol: status, type and wording kept, the retry headers
passed on. A refused credential is the gateway's own, never the client's: a 502 naming the
setting to fix. Used wherever Claude answers in Anthropic's format (Anthropic, Vertex)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from aigateway.errors import UpstreamError, anthropic_error_for
from aigateway.providers.errors import credential_refused

_FORWARDED_HEADERS = ("retry-after", "retry-after-ms", "x-should-retry", "request-id")


def error_type(body: bytes) -> str | None:
    """The error type an Anthropic error body names, else None (not such a body)."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    if not isinstance(data, dict) or data.get("type") != "error" or not isinstance(data.get("error"), dict):
        return None
    kind = data["error"].get("type")
    return kind if isinstance(kind, str) else "api_error"


def claude_error(provider: str, status: int, body: bytes, headers: Mapping[str, str], setting: str) -> UpstreamError:
    """`setting`: the config key under `providers.<provider>` an operator fixes when ours is refused."""
    try:
        error = msgspec.json.decode(body).get("error") or {}
    except (msgspec.DecodeError, AttributeError):
        error = {}
    kind, message = error.get("type"), error.get("message")
    kind = kind if isinstance(kind, str) else anthropic_error_for(status)[1]
    message = message if isinstance(message, str) else f"answered {status}"
    if status in (401, 403):  # the gateway's own credential was refused: not the client's fault
        return credential_refused(provider, status, str(status), setting)
    lowered = {k.lower(): v for k, v in headers.items()}
    return UpstreamError(
        f"{provider}: {message}",
        provider=provider,
        status=status,
        error_type=kind,
        headers={name: lowered[name] for name in _FORWARDED_HEADERS if name in lowered},
    )
