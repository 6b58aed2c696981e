"""From the model a client asked for to the ordered list of upstream attempts.

Resolution of one model id (`candidates`):
- an id the catalog lists (`anthropic/claude-sonnet-4.5`) can be served by every configured
  provider whose kind (or name) the entry lists, in the entry's order, each with its own
  upstream id (Anthropic, Bedrock and Vertex ids differ);
- otherwise the first part must name a configured provider, which gets the rest as its model id
  (`openai/gpt-6-preview`, `mybox/qwen3`), mapped through the catalog entry of the provider's kind
  when there is one (`eu/claude-sonnet-4.5` on an Anthropic-kind provider named `eu`), else in
  the provider's own spelling (`spell`: its live model list, else its kind's rule);
- anything else is a 400 (not `provider/model`) or a 404 (no such provider).

A plan (`build_plan`) takes the primary model and then each fallback in `models`; per model the
candidates are filtered by `only`, ranked by `sort` (unmeasured providers first, so they get
measured), then put in `order` (listed first, in that order); per provider, request credentials
(`byok`) come first, then the provider's own credentials in a weighted random order. A slug in
`only`, `order`, `byok` or a catalog entry names the configured provider of that name, or, when
there is none, every configured provider of that kind (`bedrock` finds a block named `aws-east`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aigateway.errors import GatewayError, InvalidRequest, NotFound
from aigateway.providers.base import Provider
from aigateway.routing.catalog import Catalog, Route
from aigateway.routing.health import Health, byok_label
from aigateway.routing.options import GatewayOptions


@dataclass(frozen=True, slots=True)
class Lane:
    """One way to call a provider: the provider object carrying one credential."""

    provider: Provider
    credential: str  # a label for breakers, logs and /health: "default", "#2", "byok:<digest>"
    weight: float = 1.0
    byok: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    route: Route
    lane: Lane
    first_byte_timeout: float | None  # seconds to the first content, then fail over


def build_lanes(providers: Mapping[str, Provider]) -> dict[str, list[Lane]]:
    lanes: dict[str, list[Lane]] = {}
    for name, provider in providers.items():
        keys = provider.config.api_keys
        if keys:
            lanes[name] = [Lane(provider.with_api_key(k.key), f"#{i}", k.weight) for i, k in enumerate(keys, start=1)]
        else:
            lanes[name] = [Lane(provider, "default")]
    return lanes


MODEL_ID_MAX = 1024
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def check_model_id(model: str, where: str = "model") -> None:
    """A model id is printable text of bounded length: it is echoed in response headers
    (`x-aigateway-upstream-model`), where a CR, LF or NUL could only break the answer after the
    upstream was called and billed."""
    if len(model) > MODEL_ID_MAX:
        raise InvalidRequest(f"{where}: a model id has at most {MODEL_ID_MAX} characters")
    if _UNPRINTABLE.search(model):
        raise InvalidRequest(f"{where}: a model id must not contain control characters")


def _as_given(provider: str, model: str) -> str:
    return model


def candidates(
    model: str, kinds: Mapping[str, str], catalog: Catalog, spell: Callable[[str, str], str] = _as_given
) -> list[Route]:
    check_model_id(model)
    entry = catalog.get(model)
    if entry is not None:
        served: dict[str, Route] = {}
        for key, upstream in entry.providers.items():
            for name in matching(key, kinds):
                served.setdefault(name, Route(model, name, upstream, entry))
        if served:
            return list(served.values())
    prefix, sep, rest = model.partition("/")
    if not sep or not prefix or not rest:
        raise InvalidRequest(
            f"model: '{model}' is not of the form 'provider/model' (for example 'anthropic/claude-sonnet-4.5')"
        )
    if prefix not in kinds:
        if entry is not None:
            raise NotFound(f"model: '{model}' is served by {', '.join(entry.providers)}; none is configured")
        raise NotFound(f"model: provider '{prefix}' is not configured on this gateway")
    kind_entry = catalog.get(f"{kinds[prefix]}/{rest}")
    mapped = kind_entry.providers.get(kinds[prefix]) if kind_entry else None
    return [Route(model, prefix, mapped or spell(prefix, rest), kind_entry)]


def build_plan(
    model: str,
    options: GatewayOptions,
    *,
    kinds: Mapping[str, str],
    lanes: Mapping[str, list[Lane]],
    catalog: Catalog,
    health: Health,
    cost: Callable[[Route], float | None] = lambda route: None,
    signed_history: bool = False,
    spell: Callable[[str, str], str] = _as_given,
) -> list[Attempt]:
    """`signed_history`: the conversation carries signed reasoning, which only the model that
    signed it accepts (known-gateway-bugs row 13), so fallback models are left out; other
    providers of the same model remain."""
    attempts: list[Attempt] = []
    first_error: GatewayError | None = None
    models = [model] if signed_history else [model, *(options.models or [])]
    for i, name in enumerate(models):
        try:
            routes = candidates(name, kinds, catalog, spell)
        except GatewayError as exc:
            if i == 0:
                first_error = exc  # the primary cannot be served; its fallbacks may
            continue
        routes = _arrange(routes, options, kinds, health, cost)
        for route in routes:
            attempts += _attempts(route, options, kinds, lanes)
    if not attempts:
        if first_error is not None:
            try:
                raise first_error
            finally:
                first_error = None  # else this frame and the error hold each other (and the body) until a full GC
        raise NotFound(f"model: no configured provider serves '{model}' within providerOptions.gateway.only")
    return attempts


def matching(slug: str, kinds: Mapping[str, str]) -> list[str]:
    """The configured providers a slug names: the one of that name, else every one of that kind."""
    if slug in kinds:
        return [slug]
    return [name for name, kind in kinds.items() if kind == slug]


def _slug_matches(slugs: list[str], provider: str, kinds: Mapping[str, str]) -> bool:
    return any(provider in matching(slug, kinds) for slug in slugs)


def _arrange(
    routes: list[Route],
    options: GatewayOptions,
    kinds: Mapping[str, str],
    health: Health,
    cost: Callable[[Route], float | None],
) -> list[Route]:
    if options.only is not None:
        routes = [r for r in routes if _slug_matches(options.only, r.provider, kinds)]
    if options.sort is not None:
        routes = sorted(routes, key=lambda r: _rank(r, options.sort, health, cost))
    if options.order:
        order = options.order

        def position(r: Route) -> int:
            return next((i for i, slug in enumerate(order) if r.provider in matching(slug, kinds)), len(order))

        routes = sorted(routes, key=position)
    return routes


def _rank(route: Route, sort: str | None, health: Health, cost: Callable[[Route], float | None]) -> tuple[int, float]:
    if sort == "cost":
        price = cost(route)
        return (0, price) if price is not None else (1, 0.0)
    speed = health.speed(route.provider, route.upstream_model)
    value = speed.ttft if sort == "ttft" else (-speed.tps if speed.tps is not None else None)
    return (1, value) if value is not None else (0, 0.0)  # unmeasured first: they get measured


def _attempts(
    route: Route, options: GatewayOptions, kinds: Mapping[str, str], lanes: Mapping[str, list[Lane]]
) -> list[Attempt]:
    own = lanes[route.provider]
    out: list[Attempt] = []
    for slug, creds in (options.byok or {}).items():
        if route.provider in matching(slug, kinds):
            for cred in creds:
                provider = own[0].provider.with_api_key(cred.api_key, byok=True)
                lane = Lane(provider, byok_label(cred.api_key), byok=True)
                out.append(Attempt(route, lane, options.timeout_for(route.provider, byok=True)))
    timeout = options.timeout_for(route.provider, byok=False)
    for lane in _weighted_order(own):
        out.append(Attempt(route, lane, timeout or lane.provider.config.timeouts.first_byte))
    return out


def _weighted_order(lanes: list[Lane]) -> list[Lane]:
    """Random order where heavier lanes tend to come first (Efraimidis and Spirakis, 2006)."""
    if len(lanes) == 1:
        return lanes
    return sorted(lanes, key=lambda lane: -(random.random() ** (1 / lane.weight)))


def check_byok(options: GatewayOptions, kinds: Mapping[str, str]) -> None:
    """A request credential for a provider this gateway does not have is a 400, not ignored."""
    for slug in options.byok or {}:
        if not matching(slug, kinds):
            raise InvalidRequest(f"providerOptions.gateway.byok.{slug}: no provider '{slug}' is configured")
