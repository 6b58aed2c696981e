"""A gateway with default routing (retries, failover) that exports traces to a real OTLP receiver."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.observability.otlp import OtlpReceiver
from tests.support.config import gateway_config
from tests.support.gateway import ISSUED_KEYS, GatewayProcess
from tests.support.upstream import FakeUpstream

ADMIN = "observability-admin-key-0123456789"


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    r = OtlpReceiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def traced(
    upstream: FakeUpstream, receiver: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    env = {
        "TEST_UPSTREAM_KEY": UPSTREAM_KEY,
        "AIGATEWAY_ADMIN_KEY": ADMIN,
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_SERVICE_NAME": "aigateway-under-test",
    }
    config = gateway_config(upstream.url, "routing")
    gw = GatewayProcess(config, tmp_path_factory.mktemp("traced"), env=env).start()
    yield gw
    gw.stop()
    log = gw.log_text()
    for secret in (UPSTREAM_KEY, ADMIN, *ISSUED_KEYS):
        assert secret not in log, "a secret reached the gateway log"


@pytest.fixture(scope="module")
def traced_key(traced: GatewayProcess) -> str:
    return traced.create_key("traced")


@pytest.fixture
def tclient(traced: GatewayProcess, traced_key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=traced.url, api_key=traced_key, max_retries=0)
