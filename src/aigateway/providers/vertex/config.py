"""The fields of a Vertex AI provider block beyond every provider's (settings.ProviderConfig)."""

from __future__ import annotations

from aigateway.settings import ProviderConfig


class VertexConfig(ProviderConfig):
    project: str | None = None  # the Google Cloud project
    location: str | None = None  # its region (e.g. us-east5), or global
    credentials_file: str | None = None  # a service-account JSON file; unset: the environment's
