"""The Chat Completions kinds: one descriptor per profile (profiles.py), one adapter for all.

Azure OpenAI addresses a deployment (the model id) under the resource's own base URL with an
`api-version`, so its config block has that field and both are required.
"""

from __future__ import annotations

from aigateway.providers.descriptor import Descriptor, client, no_checks
from aigateway.providers.openai.config import AzureConfig
from aigateway.providers.openai.profiles import PROFILES
from aigateway.settings import ProviderConfig

# OpenTelemetry's registered `gen_ai.provider.name` values; other kinds are named as they are.
_TELEMETRY = {"azure": "azure.ai.openai", "mistral": "mistral_ai", "xai": "x_ai"}


def _azure_checks(config: ProviderConfig) -> list[str]:
    if isinstance(config, AzureConfig) and config.base_url and config.api_version:
        return []
    return ["azure needs base_url (https://RESOURCE.openai.azure.com) and api_version"]


DESCRIPTORS = [
    Descriptor(
        kind=kind,
        base_url=profile.base_url,
        key_env=profile.key_env,
        auth="key" if profile.key_env or kind == "azure" else "optional",
        build=client("aigateway.providers.openai.client:OpenAIProvider", kind),
        telemetry_name=_TELEMETRY.get(kind, kind),
        config=AzureConfig if kind == "azure" else ProviderConfig,
        checks=_azure_checks if kind == "azure" else no_checks,
    )
    for kind, profile in PROFILES.items()
]
