"""The dashboard in a real browser, over ledger rows made by real requests through the gateway."""

from __future__ import annotations

import time

import anthropic
import httpx
import pytest
from playwright.sync_api import Page, expect

from aigateway.store.rollups import EDGES
from tests.conftest import ADMIN_KEY
from tests.dashboard.conftest import SHOTS
from tests.policy.test_limits import make_key
from tests.support import fixtures
from tests.support.gateway import ISSUED_KEYS
from tests.support.upstream import Reply

MODEL = "anthropic/claude-sonnet-4"
PROMPT = [{"role": "user", "content": "Hello"}]


def sign_in(page: Page) -> None:
    page.goto("/dashboard")
    page.fill("#key", ADMIN_KEY)
    page.click("#sign-in")
    expect(page.locator("header nav")).to_be_visible()


def wait_rows(gateway, key_id: str, n: int) -> list[dict]:
    deadline = time.monotonic() + 5
    while True:
        rows = gateway.ledger_rows("key_id = ?", (key_id,))
        if len(rows) >= n or time.monotonic() > deadline:
            assert len(rows) == n
            return rows
        time.sleep(0.05)


@pytest.fixture(scope="module")
def traffic(gateway, upstream) -> tuple[str, str, list[dict]]:
    """Three answered requests and one refused, all by a key of their own."""
    key_id, secret = make_key(gateway, allowed_models=[MODEL])
    name = f"chart-{key_id[-6:]}"
    httpx.patch(gateway.url + f"/admin/keys/{key_id}", json={"name": name}, headers={"x-api-key": ADMIN_KEY})
    client = anthropic.Anthropic(base_url=gateway.url, api_key=secret, max_retries=0)
    upstream.expect(*[Reply.replay(fixtures.exchange("anthropic", "text-sync"))] * 3)
    for _ in range(3):
        client.messages.create(model=MODEL, max_tokens=64, messages=PROMPT)
    with pytest.raises(anthropic.PermissionDeniedError):
        client.messages.create(model="anthropic/claude-haiku-4.5", max_tokens=64, messages=PROMPT)
    return key_id, name, wait_rows(gateway, key_id, 4)


def test_sign_in_sets_a_session_cookie_not_the_key(page: Page, gateway):
    page.goto("/dashboard")
    expect(page.locator("#sign-in")).to_be_visible()
    page.fill("#key", "not-the-admin-key-0123456789")
    page.click("#sign-in")
    expect(page.locator("#error")).to_have_text("Wrong admin key.")
    page.screenshot(path=SHOTS / "login.png")
    sign_in(page)
    (cookie,) = page.context.cookies()
    assert cookie["name"] == "aigw_session" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert ADMIN_KEY not in cookie["value"] and len(cookie["value"]) >= 40
    assert page.evaluate("document.cookie") == ""  # not readable by scripts
    page.click("#sign-out")
    expect(page.locator("#sign-in")).to_be_visible()


def test_overview_charts_show_the_ledger(page: Page, gateway, traffic):
    _, name, rows = traffic
    sign_in(page)
    page.select_option("#group", "key")
    chart = page.locator('#chart-requests svg[data-chart="requests"]')
    dots = chart.locator(f'circle[data-series="{name}"]')
    expect(dots.first).to_be_attached()
    assert sum(float(v) for v in dots.evaluate_all("ds => ds.map(d => d.dataset.value)")) == 4
    expect(page.locator(f'#chart-requests [data-legend="{name}"]')).to_have_text(f"{name} 4")
    spend = page.locator(f'#chart-cost circle[data-series="{name}"]')
    cost = sum(float(v) for v in spend.evaluate_all("ds => ds.map(d => d.dataset.value)"))
    assert cost == pytest.approx(sum(r["cost_nanousd"] or 0 for r in rows) / 1e9) and cost > 0
    expect(page.locator('#chart-latency svg circle[data-series="p95"]').first).to_be_attached()
    expect(page.locator("#breakdown td", has_text=name)).to_be_visible()
    # The key's median latency, from the rollups' histogram: within a bin (25%) of its rows' range.
    p50 = page.locator(f'#breakdown tr[data-group="{name}"] td[data-p50]').inner_text()
    value = float(p50[:-2]) if p50.endswith("ms") else float(p50[:-1]) * 1000
    latencies = [r["latency_ms"] for r in rows]
    # The first bin holds everything under EDGES[0] (5 ms): below that the histogram says "< 5 ms".
    high = max(max(latencies) * 1.25, EDGES[0])
    assert min(min(latencies), EDGES[0]) / 1.25 - 1 <= value <= high + 1, (p50, latencies)
    page.screenshot(path=SHOTS / "overview.png", full_page=True)


def test_request_log_filters_and_shows_the_ledger_row(page: Page, gateway, traffic):
    key_id, _, rows = traffic
    sign_in(page)
    page.click('[data-nav="requests"]')
    page.select_option("#f-key", key_id)
    page.click('#log-filters button[type="submit"]')
    log_rows = page.locator("#log tbody tr")
    expect(log_rows).to_have_count(4)
    ids = set(log_rows.evaluate_all("rs => rs.map(r => r.dataset.requestId)"))
    assert ids == {r["request_id"] for r in rows}
    page.select_option('#log-filters select[name="status"]', "error")
    page.click('#log-filters button[type="submit"]')
    expect(log_rows).to_have_count(1)
    refused = next(r for r in rows if r["status"] >= 400)
    log_rows.first.click()
    expect(page.locator('#detail-row dd[data-field="request_id"]')).to_have_text(refused["request_id"])
    expect(page.locator('#detail-row dd[data-field="status"]')).to_have_text(str(refused["status"]))
    expect(page.locator('#detail-row dd[data-field="error_type"]')).to_have_text(refused["error_type"])
    page.screenshot(path=SHOTS / "requests.png", full_page=True)


def test_create_limit_and_revoke_a_key(page: Page, gateway, upstream):
    sign_in(page)
    page.click('[data-nav="keys"]')
    name = f"browser-{time.time_ns()}"
    page.fill('#key-form input[name="name"]', name)
    page.fill('#key-form input[name="rpm"]', "7")
    page.fill('#key-form input[name="budget_usd"]', "5")
    page.click("#key-submit")
    secret = page.locator("#new-secret").inner_text()
    ISSUED_KEYS.append(secret)
    row = page.locator(f'#keys-table tr[data-key-name="{name}"]')
    expect(row).to_contain_text("$5 / month")
    expect(row.locator("td").nth(3)).to_have_text("7")
    page.screenshot(path=SHOTS / "keys.png", full_page=True)

    client = anthropic.Anthropic(base_url=gateway.url, api_key=secret, max_retries=0)
    upstream.expect(Reply.replay(fixtures.exchange("anthropic", "text-sync")))
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=16, messages=PROMPT)
    assert raw.headers["anthropic-ratelimit-requests-limit"] == "7"

    row.locator('[data-action="edit"]').click()
    page.fill('#key-form input[name="tpm"]', "12345")
    page.click("#key-submit")
    expect(row.locator("td").nth(4)).to_have_text("12345")

    row.locator('[data-action="revoke"]').click()
    row.locator('[data-action="revoke"]').click()  # the second click confirms
    expect(row.locator('[data-field="state"]')).to_have_text("revoked")
    deadline = time.monotonic() + 10
    while not _gone(client):  # the gateway learns of revocations within keys.refresh_interval
        assert time.monotonic() < deadline, "a revoked key still works"
        time.sleep(0.2)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=MODEL, max_tokens=16, messages=PROMPT)


def _gone(client: anthropic.Anthropic) -> bool:
    try:
        client.models.list()
    except anthropic.AuthenticationError:
        return True
    return False
