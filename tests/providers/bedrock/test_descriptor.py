"""Configuring Bedrock: the example block, env-only mode, region and base URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigateway.config import load_settings
from aigateway.providers.bedrock.client import BedrockProvider
from aigateway.providers.registry import build_providers
from tests.support.bedrock import AWS_ENV


@pytest.fixture(autouse=True)
def _test_credentials(monkeypatch):
    """The credential chain sees the test's static keys, never this machine's (or its metadata service)."""
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


def test_example_bedrock_block_loads_and_builds(repo_root, tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    lines = (repo_root / "config.example.yaml").read_text().splitlines()
    start = lines.index("  # bedrock:")
    block = [
        line.replace("  # ", "  ", 1) for line in lines[start:] if line.startswith("  #   ") or line == lines[start]
    ]
    text = "providers:\n" + "\n".join(line.split("  # ", 1)[0].rstrip() for line in block) + "\n"
    path = tmp_path / "c.yaml"
    path.write_text(text)
    settings = load_settings(path, tmp_path, env={"AWS_BEARER_TOKEN_BEDROCK": "tok"})
    cfg = settings.providers["bedrock"]
    assert cfg.region == "us-east-1" and cfg.api_key == "tok"
    provider = build_providers(settings)["bedrock"]
    assert isinstance(provider, BedrockProvider)
    assert provider.config.base_url == "https://bedrock-runtime.us-east-1.amazonaws.com"


def test_no_key_needed_and_the_region_fills_the_default_url(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    path = tmp_path / "c.yaml"
    path.write_text("providers:\n  bedrock: {}\n  tokyo:\n    type: bedrock\n    region: ap-northeast-1\n")
    providers = build_providers(load_settings(path, tmp_path, env={}))
    assert providers["bedrock"].config.base_url == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert providers["tokyo"].config.base_url == "https://bedrock-runtime.ap-northeast-1.amazonaws.com"
    assert providers["tokyo"].wire_for("us.anthropic.claude-sonnet-4-5-20250929-v1:0") == "anthropic"
    assert providers["tokyo"].wire_for("us.amazon.nova-pro-v1:0") == "bedrock"


def test_env_only_mode_enables_bedrock_with_an_api_key(tmp_path):
    settings = load_settings(None, Path(tmp_path), env={"AWS_BEARER_TOKEN_BEDROCK": "tok"})
    assert settings.providers["bedrock"].api_key == "tok"
    assert settings.providers["bedrock"].base_url == "https://bedrock-runtime.{region}.amazonaws.com"
