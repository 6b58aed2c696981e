"""The Chat Completions kinds: one descriptor per profile (profiles.py), one adapter for all.

Azure OpenAI addresses a deployment (the model id) under the resource's own base URL with an
`api-version`, so its config block has that field and both are required.
"""

from __future__ import annotations

from aigateway.providers.descriptor import Descriptor, client, no_aliases, no_checks
from aigateway.providers.openai.config import AzureConfig
from aigateway.providers.openai.profiles import PROFILES
from aigateway.settings import ProviderConfig

# OpenTelemetry's registered `gen_ai.provider.name` values; other kinds are named as they are.
_TELEMETRY = {"azure": "azure.ai.openai", "mistral": "mistral_ai", "xai": "x_ai"}
# genai-prices' provider id of each kind it prices; other kinds are unpriced unless self-hosted.
_PRICES = (
    {"xai": "x-ai"}
    | {k: k for k in ("openai", "azure", "deepseek", "groq", "mistral", "together")}
    | {k: k for k in ("fireworks", "cerebras", "openrouter")}
)
_SELF_HOSTED = ("ollama", "vllm", "lmstudio")  # the operator's own hardware: no bill
# Every kind here but Azure (whose deployments are the resource's own) lists its models at GET /models.
_LISTS = set(PROFILES) - {"azure"}


def _azure_models(config: ProviderConfig) -> dict[str, str]:
    """An Azure deployment is priced as the model it serves (`deployments: {name: {model: ...}}`)."""
    if not isinstance(config, AzureConfig):
        return {}
    return {name: deployment.model for name, deployment in config.deployments.items()}


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
        prices_id=_PRICES.get(kind),
        self_hosted=kind in _SELF_HOSTED,
        priced_as=_azure_models if kind == "azure" else no_aliases,
        lists_models=kind in _LISTS,
    )
    for kind, profile in PROFILES.items()
]
