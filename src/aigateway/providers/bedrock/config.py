"""The fields of a Bedrock provider block beyond every provider's (settings.ProviderConfig)."""

from __future__ import annotations

from aigateway.settings import ProviderConfig


class BedrockConfig(ProviderConfig):
    region: str | None = None  # AWS region (default: AWS_REGION / AWS_DEFAULT_REGION)
