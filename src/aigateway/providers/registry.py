"""Every provider kind this build knows: one line per provider package.

Adding a provider is a new folder under providers/ with a `descriptor.py` and its converters,
one line here, and its models in the catalog (routing/models.yaml).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigateway.providers.anthropic import descriptor as anthropic
from aigateway.providers.bedrock import descriptor as bedrock
from aigateway.providers.descriptor import Descriptor
from aigateway.providers.gemini import descriptor as gemini
from aigateway.providers.openai import descriptor as openai
from aigateway.providers.vertex import descriptor as vertex
from aigateway.routing.prices import PriceBook
from aigateway.settings import ProviderConfig, Settings

if TYPE_CHECKING:
    from aigateway.providers.base import Provider

DESCRIPTORS: dict[str, Descriptor] = {
    d.kind: d
    for d in (
        *anthropic.DESCRIPTORS,
        *openai.DESCRIPTORS,
        *gemini.DESCRIPTORS,
        *vertex.DESCRIPTORS,
        *bedrock.DESCRIPTORS,
    )
}


def build_provider(name: str, kind: str, config: ProviderConfig) -> Provider:
    return DESCRIPTORS[kind].build(name, config)


def build_providers(settings: Settings) -> dict[str, Provider]:
    return {name: build_provider(name, settings.provider_kind(name), cfg) for name, cfg in settings.providers.items()}


def price_books(settings: Settings) -> dict[str, PriceBook]:
    """How each configured provider is priced, from its kind's descriptor and its config block."""
    books = {}
    for name, config in settings.providers.items():
        d = DESCRIPTORS[settings.provider_kind(name)]
        books[name] = PriceBook(d.kind, d.prices_id, d.self_hosted, d.priced_as(config))
    return books
