"""Shared fixtures: one fake upstream and one real gateway process for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from tests.support.bedrock import AWS_ENV, BEDROCK_TOKEN
from tests.support.gateway import ISSUED_KEYS, GatewayProcess, free_port
from tests.support.upstream import FakeUpstream

UPSTREAM_KEY = "sk-ant-upstream-secret-0123456789"
ADMIN_KEY = "admin-secret-for-the-test-session-0123456789"
OPENAI_KINDS = ("openai", "deepseek", "groq", "mistral", "xai", "openrouter", "ollama", "together")


def gateway_config(upstream_url: str) -> str:
    return f"""
providers:
  anthropic:
    base_url: {upstream_url}
    api_key: ${{TEST_UPSTREAM_KEY}}
  deadend:             # nothing listens there: connection refused
    type: anthropic
    base_url: http://127.0.0.1:{free_port()}
    api_key: unused
  slowpoke:            # the fake upstream, with a short read timeout
    type: anthropic
    base_url: {upstream_url}
    api_key: ${{TEST_UPSTREAM_KEY}}
    timeouts: {{connect: 2, read: 0.5}}
  proxied:             # an upstream behind a path prefix, as corporate proxies are
    type: anthropic
    base_url: {upstream_url}/corp/anthropic/
    api_key: ${{TEST_UPSTREAM_KEY}}
{openai_family(upstream_url)}
{bedrock_family(upstream_url)}
ledger:
  flush_interval: 0.05
admin_key: ${{TEST_ADMIN_KEY}}
prices:  # test values for the config path (the shipped table holds Anthropic's published prices only)
  - {{model: openai/gpt-4o, provider: openai, input: 2.5, output: 10, cache_write_5m: 2.5, cache_write_1h: 2.5,
     cache_read: 1.25}}
routing:               # one upstream call per request, no breaker: tests count upstream calls;
  max_attempts: 1      # tests/routing runs gateways with the default routing settings
  breaker: {{failures: 1000000}}
"""


def openai_family(upstream_url: str) -> str:
    """One block per OpenAI-compatible kind, each at its own path on the fake upstream."""
    blocks = []
    for kind in OPENAI_KINDS:
        key = "" if kind == "ollama" else "\n    api_key: ${TEST_UPSTREAM_KEY}"  # ollama: keyless, as usually run
        blocks.append(f"  {kind}:\n    base_url: {upstream_url}/{kind}/v1{key}")
    azure = [f"base_url: {upstream_url}/azure", "api_key: ${TEST_UPSTREAM_KEY}", "api_version: 2024-10-21"]
    blocks.append("  azure:" + "".join("\n    " + line for line in azure))
    return "\n".join(blocks)


def bedrock_family(upstream_url: str) -> str:
    """Bedrock signing with the AWS_ENV credentials, and Bedrock with an API key."""
    return f"""  bedrock:
    base_url: {upstream_url}/bedrock
    region: us-east-1
  bedrock_key:
    type: bedrock
    base_url: {upstream_url}/bedrock-key
    region: eu-central-1
    api_key: ${{TEST_BEDROCK_TOKEN}}"""


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def _fresh_upstream(request: pytest.FixtureRequest) -> None:
    if "upstream" in request.fixturenames:
        request.getfixturevalue("upstream").reset()


@pytest.fixture(scope="session")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gw = GatewayProcess(
        gateway_config(upstream.url),
        tmp_path_factory.mktemp("gateway"),
        env={
            "TEST_UPSTREAM_KEY": UPSTREAM_KEY,
            "TEST_ADMIN_KEY": ADMIN_KEY,
            "TEST_BEDROCK_TOKEN": BEDROCK_TOKEN,
            **AWS_ENV,
        },
    )
    gw.start()
    yield gw
    gw.stop()
    # Every request of the session went through this process: no secret may be in its log.
    log = gw.log_text()
    assert '"msg":"request"' in log
    aws_secrets = (AWS_ENV["AWS_SECRET_ACCESS_KEY"], AWS_ENV["AWS_SESSION_TOKEN"], BEDROCK_TOKEN)
    for secret in (UPSTREAM_KEY, ADMIN_KEY, *ISSUED_KEYS, *aws_secrets):
        assert secret not in log, "a secret reached the gateway log"


@pytest.fixture(scope="session")
def api_key(gateway: GatewayProcess) -> str:
    return gateway.create_key("session")


@pytest.fixture
def client(gateway: GatewayProcess, api_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=api_key, max_retries=0)


@pytest.fixture
def direct(upstream: FakeUpstream) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=upstream.url, api_key=UPSTREAM_KEY, max_retries=0)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
