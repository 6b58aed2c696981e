"""Anthropic's own API: Messages passed through, and the translated side for other doors."""

from __future__ import annotations

import re

from aigateway.providers.descriptor import Descriptor, client

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
        build=client("aigateway.providers.anthropic.client:AnthropicProvider"),
        telemetry_name="anthropic",
        prices_id="anthropic",
        spell=spell,
        lists_models=True,  # GET /v1/models
    )
]
