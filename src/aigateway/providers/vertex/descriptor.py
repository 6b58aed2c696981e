"""Vertex AI: Gemini translated, Claude passed through, authenticated by Google credentials
(a service-account file, or the environment's application-default credentials), never a key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigateway.providers.descriptor import Descriptor
from aigateway.providers.vertex.config import VertexConfig
from aigateway.settings import ProviderConfig

if TYPE_CHECKING:
    from aigateway.providers.base import Provider


def _checks(config: ProviderConfig) -> list[str]:
    if isinstance(config, VertexConfig) and config.project and config.location:
        return []
    return ["vertex needs project and location (e.g. us-east5, or global)"]


def _build(name: str, config: ProviderConfig) -> Provider:
    from aigateway.providers.vertex.client import VertexProvider  # google-auth loads only when used

    assert isinstance(config, VertexConfig)
    return VertexProvider(name, config)


DESCRIPTORS = [
    Descriptor(
        kind="vertex",
        # {location} is filled from the provider's `location` (global: aiplatform.googleapis.com).
        base_url="https://{location}-aiplatform.googleapis.com/v1",
        key_env=None,
        auth="google",
        build=_build,
        telemetry_name="gcp.vertex_ai",
        config=VertexConfig,
        checks=_checks,
        prices_id="google",  # Gemini and Claude (`claude-opus-4-5@20251101`) ids alike
    )
]
