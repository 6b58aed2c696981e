"""Google's Gemini API, with the key in the `x-goog-api-key` header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigateway.providers.descriptor import Descriptor
from aigateway.settings import ProviderConfig

if TYPE_CHECKING:
    from aigateway.providers.base import Provider


def _build(name: str, config: ProviderConfig) -> Provider:
    from aigateway.providers.gemini.client import GeminiProvider

    return GeminiProvider(name, config)


DESCRIPTORS = [
    Descriptor(
        kind="gemini",
        base_url="https://generativelanguage.googleapis.com/v1beta",
        key_env="GEMINI_API_KEY",
        auth="key",
        build=_build,
        telemetry_name="gcp.gemini",
        prices_id="google",
        lists_models=True,  # GET models
    )
]
