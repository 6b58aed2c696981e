"""`config check` refuses a provider `base_url` that no request could ever reach: every upstream
path is appended to it, so it must be an absolute http(s) URL with a host and nothing after its path."""

from __future__ import annotations

import pytest

from aigateway.config import ConfigError, load_settings
from tests.support.gateway import cli

UNUSABLE = [
    ("http://host/v1?key=x", "must not have a query or fragment"),
    ("https://host/v1#frag", "must not have a query or fragment"),
    ("http://host:99999/v1", "is not a valid URL"),
    ("http:///v1", "has no host"),
    ("http://ho st/v1", "must not contain spaces"),
]


@pytest.mark.parametrize(("url", "problem"), UNUSABLE)
def test_config_check_refuses_a_base_url_no_request_could_use(tmp_path, url, problem):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"providers:\n  openai:\n    base_url: {url}\n    api_key: k\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg, tmp_path)
    [line] = info.value.problems
    assert line.startswith(f"{cfg}:3: providers.openai.base_url: {problem}")
    out = cli("config", "check", "--config", str(cfg), "--data-dir", str(tmp_path), check=False)
    assert out.returncode == 2 and problem in out.stderr
    assert "key=x" not in out.stderr  # values are never echoed: a query may hold a secret


@pytest.mark.parametrize(
    "url", ["https://api.example.test/v1/", "http://127.0.0.1:8080", "https://bedrock-runtime.{region}.amazonaws.com"]
)
def test_usable_base_urls_still_load(tmp_path, url):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"providers:\n  openai:\n    base_url: {url}\n    api_key: k\n")
    assert load_settings(cfg, tmp_path).providers["openai"].base_url == url.rstrip("/")
