"""Remakes docs/dashboard.png: a gateway whose ledger holds a day of synthetic traffic, its
overview in headless Chromium (the test setup: Debian's chromium driven by Playwright).

Usage: .venv/bin/python docs/screenshot.py [--rows 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from aigateway.policy.ledger import Ledger
from aigateway.store.sql import open_store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from dashboard import synthetic  # noqa: E402


async def fill(data_dir: Path, rows: int) -> None:
    engine = await open_store(f"sqlite+aiosqlite:///{data_dir / 'aigateway.db'}")
    writer = Ledger(engine)
    batch = synthetic(rows, time.time() - 86400, 86400)
    for i in range(0, len(batch), 500):
        await writer._write_all(batch[i : i + 500])
    await engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        asyncio.run(fill(data, args.rows))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        admin = "adm_" + secrets.token_hex(16)
        env = {**os.environ, "AIGATEWAY_ADMIN_KEY": admin}
        argv = [str(ROOT / ".venv/bin/aigateway"), "serve", "--data-dir", str(data), "--port", str(port)]
        server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(url + "/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"], headless=True)
                page = browser.new_page(base_url=url, viewport={"width": 1400, "height": 900})
                page.goto("/dashboard")
                page.fill("#key", admin)
                page.click("#sign-in")
                page.wait_for_selector('#chart-requests svg[data-chart="requests"]')
                page.wait_for_selector("#breakdown tbody tr")
                page.screenshot(path=ROOT / "docs" / "dashboard.png", full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
