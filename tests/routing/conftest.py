"""A gateway with the default routing behaviour (retries, failover) over several providers, all
served by the session's fake upstream at their own paths."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support.gateway import ISSUED_KEYS, GatewayProcess, free_port
from tests.support.upstream import FakeUpstream

OAI_KEYS = ("sk-oai-first-credential-111", "sk-oai-second-credential-222")
BYOK_KEY = "sk-byok-request-credential-333"


def routing_config(url: str, *, breaker_failures: int = 1000000) -> str:
    return f"""
providers:
  primary:
    type: anthropic
    base_url: {url}/primary
    api_key: ${{TEST_UPSTREAM_KEY}}
    timeouts: {{first_byte: 1.0, read: 2.0}}
  secondary:
    type: anthropic
    base_url: {url}/secondary
    api_key: ${{TEST_UPSTREAM_KEY}}
  oai:
    type: openai
    base_url: {url}/oai/v1
    api_keys: [{{key: {OAI_KEYS[0]}}}, {{key: {OAI_KEYS[1]}}}]
  dead:
    type: anthropic
    base_url: http://127.0.0.1:{free_port()}
    api_key: unused
listings: {{enabled: false}}  # tests count upstream calls: no background reads of model lists
catalog:
  - id: test/sonnet
    providers: {{primary: claude-sonnet-4-0, secondary: claude-sonnet-4-0}}
  - id: test/gpt
    providers: {{oai: gpt-4o}}
  - id: test/everywhere
    providers: {{dead: claude-sonnet-4-0, primary: claude-sonnet-4-0, secondary: claude-sonnet-4-0}}
  - id: test/sonnet-secondary-first
    providers: {{primary: claude-sonnet-4-0, secondary: claude-sonnet-4-0}}
prices:  # test values: secondary is the cheaper way to serve test/sonnet
  - {{model: test/sonnet, provider: primary, input: 3, output: 15,
     cache_write_5m: 3.75, cache_write_1h: 6, cache_read: 0.3}}
  - {{model: test/sonnet, provider: secondary, input: 1, output: 5,
     cache_write_5m: 1.25, cache_write_1h: 2, cache_read: 0.1}}
routing:
  models:
    test/sonnet-secondary-first: {{order: [secondary]}}
  keys:
    prefers-secondary: {{order: [secondary]}}
  backoff_base: 0.01
  backoff_max: 0.05
  breaker: {{failures: {breaker_failures}, cooldown: 1.0}}
ledger:
  flush_interval: 0.05
"""


def _start(upstream: FakeUpstream, workdir, **kw) -> GatewayProcess:
    gw = GatewayProcess(routing_config(upstream.url, **kw), workdir, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY})
    return gw.start()


def _stop(gw: GatewayProcess) -> None:
    gw.stop()
    log = gw.log_text()
    for secret in (UPSTREAM_KEY, *OAI_KEYS, BYOK_KEY, *ISSUED_KEYS):
        assert secret not in log, "a secret reached the gateway log"


@pytest.fixture(scope="module")
def router(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gw = _start(upstream, tmp_path_factory.mktemp("router"))
    yield gw
    _stop(gw)


@pytest.fixture(scope="module")
def router_key(router: GatewayProcess) -> str:
    return router.create_key("routing")


@pytest.fixture
def rclient(router: GatewayProcess, router_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=router.url, api_key=router_key, max_retries=0)


@pytest.fixture
def breaker_gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    gw = _start(upstream, tmp_path_factory.mktemp("breaker"), breaker_failures=2)
    yield gw
    _stop(gw)
