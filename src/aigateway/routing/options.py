"""Per-request routing options: `providerOptions.gateway` in the client's JSON body.

The vocabulary is the one users of hosted gateways already write (order, only, models, sort,
byok, providerTimeouts, user, tags), `caching` (pipeline/caching.py) and `responseCache`
(pipeline/response_cache.py). The object belongs to
the gateway, never to an upstream: every front door takes it out of the decoded body
(`take_gateway_options`) before anything is forwarded. Unknown keys are a 400 naming the key.
Defaults come from the config, per model and per key; a request's own options win field by field
(`merged`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from aigateway.errors import InvalidRequest


class ByokCredential(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """A request-scoped credential for one provider (`{"apiKey": "..."}`)."""

    api_key: str = msgspec.field(name="apiKey")

    def __repr__(self) -> str:  # never print the key
        return "ByokCredential(apiKey=[redacted])"


class ProviderTimeouts(msgspec.Struct, forbid_unknown_fields=True):
    """Milliseconds to the first content of an attempt: `byok` for request credentials, else the
    provider's own name for attempts with the gateway's credentials."""

    byok: dict[str, int] = {}
    gateway: dict[str, int] = {}


class ResponseCacheOption(msgspec.Struct, forbid_unknown_fields=True):
    """`{"ttl": seconds}`: identical requests within `ttl` are answered from the response cache.
    Whether keys share entries is the operator's choice (`response_cache.shared`), never a request's."""

    ttl: Annotated[float, msgspec.Meta(gt=0, le=86400 * 30)]


class GatewayOptions(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, rename="camel"):
    order: list[str] | None = None
    only: list[str] | None = None
    models: list[str] | None = None
    sort: Literal["cost", "ttft", "tps"] | None = None
    byok: dict[str, list[ByokCredential]] | None = None
    provider_timeouts: ProviderTimeouts | None = None
    user: str | None = None
    tags: list[str] | None = None
    # "auto": prompt-cache breakpoints on Claude (pipeline/caching.py); unset: only for requests
    # with OpenAI's `prompt_cache_key`
    caching: Literal["auto", "off"] | None = None
    response_cache: ResponseCacheOption | None = None  # opt-in; off unless set

    def merged(self, defaults: GatewayOptions | None) -> GatewayOptions:
        """These options over `defaults`, field by field."""
        if defaults is None:
            return self
        mine = {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not None}
        return msgspec.structs.replace(defaults, **mine)

    def timeout_for(self, provider: str, *, byok: bool) -> float | None:
        """Seconds to the first content for an attempt, or None for the provider's default."""
        if self.provider_timeouts is None:
            return None
        table = self.provider_timeouts.byok if byok else self.provider_timeouts.gateway
        ms = table.get(provider)
        return None if ms is None else max(ms, 1) / 1000


NO_OPTIONS = GatewayOptions()


def parse_options(value: Any, where: str = "providerOptions.gateway") -> GatewayOptions:
    try:
        return msgspec.convert(value, GatewayOptions)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$")
        field = path.rstrip("`")
        raise InvalidRequest(f"{where}{field}: {message}") from None


def take_gateway_options(raw: dict[str, Any]) -> GatewayOptions | None:
    """Removes `providerOptions` from `raw` and returns its `gateway` object, if any."""
    options = raw.pop("providerOptions", None)
    if options is None:
        return None
    if not isinstance(options, dict):
        raise InvalidRequest("providerOptions: must be an object")
    unknown = sorted(set(options) - {"gateway"})
    if unknown:
        raise InvalidRequest(f"providerOptions.{unknown[0]}: unknown key (only `gateway` is read here)")
    gateway = options.get("gateway")
    return None if gateway is None else parse_options(gateway)
