"""Signed dashboard sessions: any worker with the admin key accepts them; tampering, expiry,
another admin key and signing out end them."""

from __future__ import annotations

import time

import httpx

from aigateway.dashboard.sessions import Sessions
from tests.support.gateway import BIN, GatewayProcess

KEY = "sessions-admin-key-0123456789"


def test_tokens_verify_only_as_issued():
    here, elsewhere = Sessions(), Sessions()
    assert here.sign_in("wrong-key-0123456789", KEY, 1) is None
    assert here.sign_in(KEY, None, 1) is None
    token = here.sign_in(KEY, KEY, 1)
    assert token is not None and KEY not in token
    assert elsewhere.valid(token, KEY)  # another process with the same admin key
    assert not elsewhere.valid(token, KEY + "-rotated")
    sid, expiry, mac = token.split(".")
    assert not here.valid(f"{sid}.{int(expiry) + 3600}.{mac}", KEY)  # a longer life cannot be forged
    assert not here.valid(f"{sid}x.{expiry}.{mac}", KEY)
    assert not here.valid(f"{sid}.{int(time.time()) - 1}.{mac}", KEY)
    assert not here.valid("garbage", KEY) and not here.valid(None, KEY)
    assert not here.valid(f"{sid}.{expiry}.{mac[:-1]}é", KEY)  # a cookie may carry any byte: no crash
    past = here.sign_in(KEY, KEY, -1)
    assert not here.valid(past, KEY)  # expired
    here.sign_out(token, KEY)
    assert not here.valid(token, KEY)


def test_a_session_holds_across_workers(upstream, tmp_path):
    config = f"providers:\n  anthropic:\n    base_url: {upstream.url}\n    api_key: unused\n"
    command = [str(BIN / "aigateway"), "serve", "--workers", "2"]
    gw = GatewayProcess(config, tmp_path, command=command, env={"AIGATEWAY_ADMIN_KEY": KEY}).start()
    try:
        time.sleep(1.0)  # both workers listening
        login = httpx.post(gw.url + "/dashboard/login", data={"key": KEY}, timeout=10)
        assert login.status_code == 303
        cookie = login.cookies["aigw_session"]
        for _ in range(30):  # fresh connections, spread across the workers by the kernel
            with httpx.Client(base_url=gw.url, cookies={"aigw_session": cookie}, timeout=10) as c:
                resp = c.get("/dashboard/api/options")
                assert resp.status_code == 200, resp.text
    finally:
        gw.stop()
