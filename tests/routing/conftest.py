"""A gateway with the default routing behaviour (retries, failover) over several providers, all
served by the session's fake upstream at their own paths."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.support.config import OAI_KEYS, gateway_config
from tests.support.gateway import ISSUED_KEYS, GatewayProcess
from tests.support.upstream import FakeUpstream

BYOK_KEY = "sk-byok-request-credential-333"


def _start(upstream: FakeUpstream, workdir, **kw) -> GatewayProcess:
    config = gateway_config(upstream.url, "routing", **kw)
    gw = GatewayProcess(config, workdir, env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY})
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
