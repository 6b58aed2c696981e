"""The fields of an Azure OpenAI provider block beyond every provider's (settings.ProviderConfig)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from aigateway.settings import ProviderConfig, date_as_text


class AzureDeployment(BaseModel):
    """One deployment of the resource: its name is the model id clients send."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1, description="the OpenAI model it serves, as priced (e.g. gpt-5)")


class AzureConfig(ProviderConfig):
    api_version: str | None = None  # the `api-version` query parameter
    deployments: dict[str, AzureDeployment] = {}  # deployment name -> what it serves

    _date_as_text = field_validator("api_version", mode="before")(date_as_text)
