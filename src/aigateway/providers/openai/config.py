"""The fields of an Azure OpenAI provider block beyond every provider's (settings.ProviderConfig)."""

from __future__ import annotations

from pydantic import field_validator

from aigateway.settings import ProviderConfig, date_as_text


class AzureConfig(ProviderConfig):
    api_version: str | None = None  # the `api-version` query parameter

    _date_as_text = field_validator("api_version", mode="before")(date_as_text)
