"""Per-request routing options: `providerOptions.gateway` in the client's JSON body.

The object belongs to the gateway, never to an upstream: it is taken out of the body before
anything is forwarded. Every front door calls `take_gateway_options` on the decoded body.
"""

from __future__ import annotations

from typing import Any

from aigateway.errors import InvalidRequest


def take_gateway_options(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Removes `providerOptions` from `raw` and returns its `gateway` object, if any."""
    options = raw.pop("providerOptions", None)
    if options is None:
        return None
    if not isinstance(options, dict):
        raise InvalidRequest("providerOptions: must be an object")
    gateway = options.get("gateway")
    if gateway is not None and not isinstance(gateway, dict):
        raise InvalidRequest("providerOptions.gateway: must be an object")
    return gateway
