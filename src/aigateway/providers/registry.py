"""Builds the configured providers by kind."""

from __future__ import annotations

from aigateway.providers.anthropic.client import AnthropicProvider
from aigateway.providers.base import Provider
from aigateway.providers.gemini.client import GeminiProvider
from aigateway.providers.openai.client import OpenAIProvider
from aigateway.providers.openai.profiles import PROFILES
from aigateway.settings import ProviderConfig, Settings


def build_provider(name: str, kind: str, config: ProviderConfig) -> Provider:
    if kind == "anthropic":
        return AnthropicProvider(name, config)
    if kind in PROFILES:
        return OpenAIProvider(name, config, kind)
    if kind == "bedrock":
        from aigateway.providers.bedrock.client import BedrockProvider  # botocore loads only when used

        return BedrockProvider(name, config)
    if kind == "gemini":
        return GeminiProvider(name, config)
    if kind == "vertex":
        from aigateway.providers.vertex.client import VertexProvider  # google-auth loads only when used

        return VertexProvider(name, config)
    raise ValueError(f"unknown provider kind {kind!r}")  # settings validation rules this out


def build_providers(settings: Settings) -> dict[str, Provider]:
    return {name: build_provider(name, settings.provider_kind(name), cfg) for name, cfg in settings.providers.items()}
