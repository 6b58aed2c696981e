"""Anthropic's own API: Messages passed through, and the translated side for other doors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigateway.providers.descriptor import Descriptor
from aigateway.settings import ProviderConfig

if TYPE_CHECKING:
    from aigateway.providers.base import Provider


def _build(name: str, config: ProviderConfig) -> Provider:
    from aigateway.providers.anthropic.client import AnthropicProvider

    return AnthropicProvider(name, config)


DESCRIPTORS = [
    Descriptor(
        kind="anthropic",
        base_url="https://api.anthropic.com",
        key_env="ANTHROPIC_API_KEY",
        auth="key",
        build=_build,
        telemetry_name="anthropic",
        tokenizer=False,  # usage comes in Anthropic's shape; count_tokens is Anthropic's own
    )
]
