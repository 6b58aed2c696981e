"""`client`, the `build` of every descriptor: the client class named by a path, imported on the
first build only."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aigateway.providers.bedrock.config import BedrockConfig
from aigateway.providers.descriptor import client
from aigateway.providers.openai.config import AzureConfig
from aigateway.providers.registry import DESCRIPTORS
from aigateway.settings import ProviderConfig

CLIENTS = ("anthropic", "bedrock", "gemini", "openai", "vertex")


def test_reading_the_descriptors_imports_no_client():
    probe = (
        "import sys, aigateway.providers.registry\n"
        f"loaded = [m for m in {CLIENTS!r} if f'aigateway.providers.{{m}}.client' in sys.modules]\n"
        "assert not loaded and 'botocore' not in sys.modules, loaded"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_a_build_passes_name_config_and_the_extra_arguments():
    config = AzureConfig(base_url="https://r.openai.azure.com", api_key="k", api_version="2024-10-21")
    provider = DESCRIPTORS["azure"].build("team-azure", config)
    assert (type(provider).__name__, provider.name, provider.kind) == ("OpenAIProvider", "team-azure", "azure")


def test_a_config_block_of_another_kind_is_refused():
    build = client("aigateway.providers.bedrock.client:BedrockProvider", config=BedrockConfig)
    with pytest.raises(AssertionError, match="ProviderConfig is not a BedrockConfig"):
        build("b", ProviderConfig(base_url="http://127.0.0.1:9"))
