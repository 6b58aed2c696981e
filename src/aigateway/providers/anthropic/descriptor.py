"""Anthropic's own API: Messages passed through, and the translated side for other doors."""

from __future__ import annotations

from aigateway.providers.descriptor import Descriptor, client

DESCRIPTORS = [
    Descriptor(
        kind="anthropic",
        base_url="https://api.anthropic.com",
        key_env="ANTHROPIC_API_KEY",
        auth="key",
        build=client("aigateway.providers.anthropic.client:AnthropicProvider"),
        telemetry_name="anthropic",
        tokenizer=False,  # usage comes in Anthropic's shape; count_tokens is Anthropic's own
    )
]
