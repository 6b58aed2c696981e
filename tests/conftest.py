"""Shared fixtures: one fake upstream and one real gateway process for the whole session."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest

from tests.support import fixtures
from tests.support.bedrock import AWS_ENV, BEDROCK_TOKEN
from tests.support.config import gateway_config
from tests.support.gateway import ISSUED_KEYS, GatewayProcess
from tests.support.google import TOKEN_PATH, ServiceAccount
from tests.support.upstream import FakeUpstream

UPSTREAM_KEY = "sk-ant-upstream-secret-0123456789"
ADMIN_KEY = "admin-secret-for-the-test-session-0123456789"
GOOGLE_KEYS: list[str] = []  # a line of each service account's private key, to search logs for
VERTEX_SHORT_LIFETIME = 227  # google-auth refreshes 225 s before expiry: stale after 2 s


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "recordings: reads the recorded provider traffic (skipped where it is absent)")


def pytest_report_header() -> str:
    state = "found" if fixtures.FOUND else "not found: the tests that read them are skipped"
    if fixtures.REQUIRED and not fixtures.FOUND:
        state = "not found, and AIGATEWAY_REQUIRE_FIXTURES is set: the tests that read them fail"
    return f"recordings: {fixtures.ROOT} ({state})"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without the recordings, a parametrization over them is empty: its one placeholder item
    is skipped (or failed) for that reason rather than pytest's generic 'empty parameter set'."""
    if fixtures.FOUND:
        return
    for item in items:
        empty = [m for m in item.own_markers if m.name == "skip" and _empty_parameter_set(m)]
        if empty:
            item.own_markers[:] = [m for m in item.own_markers if m not in empty]
            item.add_marker(pytest.mark.recordings)


def _empty_parameter_set(mark: pytest.Mark) -> bool:
    return str(mark.kwargs.get("reason", "")).startswith("got empty parameter set")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("recordings"):
        fixtures.need_recordings()  # before its fixtures: a placeholder item has no parameters to set up


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup() -> Generator[None, object, object]:
    return (yield from _recording_not_found())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call() -> Generator[None, None, None]:
    return (yield from _recording_not_found())


def _recording_not_found() -> Generator[None, Any, Any]:
    """A recording read straight from ROOT that is not there: skipped (or failed) like the rest."""
    try:
        return (yield)
    except FileNotFoundError as exc:
        if not fixtures.FOUND and fixtures.is_recording(exc.filename):
            fixtures.need_recordings()
        raise


def assert_no_secrets_logged(gw: GatewayProcess, upstream: FakeUpstream) -> None:
    log = gw.log_text()
    if fixtures.FOUND:  # without the recordings, the tests that use this gateway may all have been skipped
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
    gw = GatewayProcess(
        gateway_config(upstream.url, gemini=True),
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
    """Vertex with real service accounts whose tokens the fake upstream issues (`vertex_short`
    gets tokens google-auth counts as stale two seconds later). A gateway of its own: with
    Vertex configured, the catalog's Claude models may also be served (and failed over) there."""
    workdir, credentials = tmp_path_factory.mktemp("google"), {}
    for name, lifetime in (("vertex", 3600), ("vertex_short", VERTEX_SHORT_LIFETIME)):
        account = ServiceAccount(f"{name}@test-project.iam.gserviceaccount.com")
        upstream.tokens.add(account, expires_in=lifetime)
        GOOGLE_KEYS.append(account.pem.splitlines()[5])
        credentials[name] = account.write(workdir / f"{name}.json", upstream.url + TOKEN_PATH)
    config = gateway_config(upstream.url, "vertex", vertex_credentials=credentials)
    gw = GatewayProcess(config, tmp_path_factory.mktemp("vertex-gateway"), env={"TEST_ADMIN_KEY": ADMIN_KEY})
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
