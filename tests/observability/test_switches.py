"""The settings that open or remove the observability routes, on an in-process gateway."""

from __future__ import annotations

import httpx
import pytest

from aigateway.app import App, start_gateway
from aigateway.config import load_settings


@pytest.fixture
async def make(tmp_path):
    apps: list[App] = []

    async def build(yaml: str) -> httpx.AsyncClient:
        (tmp_path / "c.yaml").write_text(yaml)
        app = App(load_settings(tmp_path / "c.yaml", tmp_path / "data"))
        app.gw = await start_gateway(app.settings)
        apps.append(app)
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")

    yield build
    for app in apps:
        assert app.gw is not None
        await app.gw.aclose()


async def test_open_metrics_and_no_dashboard(make):
    client = await make("metrics: {require_admin_key: false}\ndashboard: {enabled: false}\n")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "aigateway_requests_in_flight 0.0" in metrics.text
    gone = await client.get("/dashboard")
    assert gone.status_code == 404 and gone.json()["error"]["type"] == "not_found_error"


async def test_no_metrics_and_no_sign_in_without_an_admin_key(make):
    client = await make("metrics: {enabled: false}\n")
    assert (await client.get("/metrics")).status_code == 404
    login = await client.post("/dashboard/login", data={"key": "anything-at-all-0123456789"})
    assert login.status_code == 401 and "No admin key is configured" in login.text
