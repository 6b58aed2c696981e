"""What the gateway knows of a provider kind before it builds one: one `Descriptor` per kind.

Each provider package declares its descriptors in `descriptor.py` (light: no client code is
imported until `build` runs), and `registry.py` collects them. Config loading (config.py),
tracing and start-up read a kind's facts from here, never from a table of their own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from aigateway.settings import ProviderConfig

if TYPE_CHECKING:
    from aigateway.providers.base import Provider

# How a kind authenticates: an API key it cannot work without; a key it may do without
# (servers people run themselves, AWS's standard credential chain); Google credentials.
Auth = Literal["key", "optional", "google"]


def no_checks(config: ProviderConfig) -> list[str]:
    return []


def no_aliases(config: ProviderConfig) -> dict[str, str]:
    return {}


def as_given(model: str) -> str:
    return model


def client(
    path: str, *args: str, config: type[ProviderConfig] = ProviderConfig
) -> Callable[[str, ProviderConfig], Provider]:
    """A `build` for the client class at `path` ("package.module:Class"), called with the name,
    the config block (of type `config`) and `args`. The module is imported by the first build, so
    that reading the descriptors loads no client code (nor botocore, google-auth)."""
    module, _, name = path.partition(":")

    def build(provider: str, block: ProviderConfig) -> Provider:
        assert isinstance(block, config), f"{type(block).__name__} is not a {config.__name__}"
        cls: Callable[..., Provider] = getattr(importlib.import_module(module), name)
        return cls(provider, block, *args)

    return build


@dataclass(frozen=True, slots=True)
class Descriptor:
    kind: str
    base_url: str  # the public endpoint; `{region}` / `{location}` are filled from the config block
    key_env: str | None  # the variable that enables this kind in env-only mode, holding its key
    auth: Auth
    build: Callable[[str, ProviderConfig], Provider]  # imports the client on first use (`client`)
    telemetry_name: str  # OpenTelemetry's `gen_ai.provider.name` for it
    config: type[ProviderConfig] = ProviderConfig  # its config block, with its own fields
    checks: Callable[[ProviderConfig], list[str]] = no_checks  # what the fields cannot say alone
    # Pricing: genai-prices' provider id for this kind (None: the package does not price it), whether
    # it runs on the operator's own hardware (zero cost unless config gives a price), and upstream
    # ids the package knows under another model id (an Azure deployment -> the model it serves).
    prices_id: str | None = None
    self_hosted: bool = False
    priced_as: Callable[[ProviderConfig], dict[str, str]] = no_aliases
    # How the provider spells a model id the catalog does not know (`claude-sonnet-5.5` ->
    # `claude-sonnet-5-5` for Anthropic), when its live model list does not say.
    spell: Callable[[str], str] = as_given
    # Whether the provider lists its models (Provider.list_models) for the background listing.
    lists_models: bool = False
