"""Shared fixtures: one fake upstream and one real gateway process for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest

from tests.support.bedrock import AWS_ENV, BEDROCK_TOKEN
from tests.support.gateway import ISSUED_KEYS, GatewayProcess, free_port
from tests.support.google import TOKEN_PATH, ServiceAccount
from tests.support.upstream import FakeUpstream

UPSTREAM_KEY = "sk-ant-upstream-secret-0123456789"
ADMIN_KEY = "admin-secret-for-the-test-session-0123456789"
GOOGLE_KEYS: list[str] = []  # a line of each service account's private key, to search logs for
VERTEX_SHORT_LIFETIME = 227  # google-auth refreshes 225 s before expiry: stale after 2 s
OPENAI_KINDS = ("openai", "deepseek", "groq", "mistral", "xai", "openrouter", "ollama", "together")


def gateway_config(upstream_url: str, more_providers: str = "") -> str:
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
{more_providers}
ledger:
  flush_interval: 0.05
listings: {{enabled: false}}  # tests count upstream calls: no background reads of model lists
models:  # an operator's redirect (tests/test_model_catalog.py)
  anthropic/claude-opus-4.1: {{redirect: anthropic/claude-opus-4.8}}
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


def vertex_config(upstream: FakeUpstream, workdir: Path) -> str:
    """Vertex with real service accounts whose tokens the fake upstream issues (`vertex_short`
    gets tokens google-auth counts as stale two seconds later). A gateway of its own: with
    Vertex configured, the catalog's Claude models may also be served (and failed over) there."""
    blocks = []
    for name, lifetime in (("vertex", 3600), ("vertex_short", VERTEX_SHORT_LIFETIME)):
        account = ServiceAccount(f"{name}@test-project.iam.gserviceaccount.com")
        upstream.tokens.add(account, expires_in=lifetime)
        GOOGLE_KEYS.append(account.pem.splitlines()[5])
        path = account.write(workdir / f"{name}.json", upstream.url + TOKEN_PATH)
        lines = ["type: vertex", f"base_url: {upstream.url}/{name}/v1", "project: test-project"]
        lines += ["location: us-east5", f"credentials_file: {path}"]
        blocks.append(f"  {name}:" + "".join("\n    " + line for line in lines))
    return "providers:\n" + "\n".join(blocks) + "\nledger:\n  flush_interval: 0.05\nrouting:\n  max_attempts: 1\n"


def assert_no_secrets_logged(gw: GatewayProcess, upstream: FakeUpstream) -> None:
    log = gw.log_text()
    assert '"msg":"request"' in log
    aws_secrets = (AWS_ENV["AWS_SECRET_ACCESS_KEY"], AWS_ENV["AWS_SESSION_TOKEN"], BEDROCK_TOKEN)
    google_secrets = (*GOOGLE_KEYS, *(t.token for t in upstream.tokens.issued))
    for secret in (UPSTREAM_KEY, ADMIN_KEY, *ISSUED_KEYS, *aws_secrets, *google_secrets):
        assert secret not in log, "a secret reached the gateway log"


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
    gemini = f"  gemini:\n    base_url: {upstream.url}/gemini/v1beta\n    api_key: ${{TEST_UPSTREAM_KEY}}"
    gw = GatewayProcess(
        gateway_config(upstream.url, gemini),
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
    assert_no_secrets_logged(gw, upstream)


@pytest.fixture(scope="session")
def vertex_gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    config = vertex_config(upstream, tmp_path_factory.mktemp("google"))
    gw = GatewayProcess(config, tmp_path_factory.mktemp("vertex-gateway"))
    gw.start()
    yield gw
    gw.stop()
    assert_no_secrets_logged(gw, upstream)


@pytest.fixture(scope="session")
def vertex_key(vertex_gateway: GatewayProcess) -> str:
    return vertex_gateway.create_key("session")


@pytest.fixture
def vertex_client(vertex_gateway: GatewayProcess, vertex_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=vertex_gateway.url, api_key=vertex_key, max_retries=0)


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
