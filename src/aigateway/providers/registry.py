"""Builds the configured providers by kind."""

from __future__ import annotations

from aigateway.providers.anthropic.client import AnthropicProvider
from aigateway.providers.base import Provider
from aigateway.settings import Settings

KINDS: dict[str, type[Provider]] = {"anthropic": AnthropicProvider}


def build_providers(settings: Settings) -> dict[str, Provider]:
    return {name: KINDS[settings.provider_kind(name)](name, cfg) for name, cfg in settings.providers.items()}
