"""Anthropic's own API: Messages passed through, and the translated side for other doors."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aigateway.providers.descriptor import Descriptor
from aigateway.settings import ProviderConfig

if TYPE_CHECKING:
    from aigateway.providers.base import Provider


def _build(name: str, config: ProviderConfig) -> Provider:
    from aigateway.providers.anthropic.client import AnthropicProvider

    return AnthropicProvider(name, config)


_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")


def spell(model: str) -> str:
    """Anthropic's ids have dashes where versions have dots elsewhere: claude-sonnet-5.5 -> claude-sonnet-5-5."""
    return _VERSION_DOT.sub("-", model)


DESCRIPTORS = [
    Descriptor(
        kind="anthropic",
        base_url="https://api.anthropic.com",
        key_env="ANTHROPIC_API_KEY",
        auth="key",
        build=_build,
        telemetry_name="anthropic",
        tokenizer=False,  # usage comes in Anthropic's shape; count_tokens is Anthropic's own
        prices_id="anthropic",
        spell=spell,
        lists_models=True,  # GET /v1/models
    )
]
