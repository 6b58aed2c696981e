"""A headless Chromium (Debian's, driven by Playwright) signed in to the session gateway's dashboard.

Screenshots of each page are written under ARTIFACTS (printed at the end of the run; gitignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("AIGATEWAY_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
SHOTS = ARTIFACTS / "dashboard"


@pytest.fixture(scope="module")  # Playwright's sync API holds an event loop: never across async tests
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, gateway) -> Iterator[Page]:
    context = browser.new_context(base_url=gateway.url, viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    # Nothing may be fetched from anywhere but the gateway itself.
    foreign: list[str] = []
    pg.on("request", lambda r: None if r.url.startswith(gateway.url) else foreign.append(r.url))
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not foreign, f"the dashboard fetched {foreign}"
    assert not errors, f"script errors: {errors}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SHOTS.is_dir() and any(SHOTS.iterdir()):
        terminalreporter.write_line(f"dashboard screenshots: {SHOTS}")


from tests.policy.conftest import engine  # noqa: E402, F401  (both stores, for the query tests)
from tests.policy.test_migrations import empty_url  # noqa: E402, F401
