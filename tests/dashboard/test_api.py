"""The dashboard's sign-in and API over HTTP: sessions, CSRF guards, errors in the API's envelope."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN_KEY


def signed_in(gateway) -> httpx.Client:
    client = httpx.Client(base_url=gateway.url, timeout=10)
    resp = client.post("/dashboard/login", data={"key": ADMIN_KEY})
    assert resp.status_code == 303 and resp.headers["location"] == "/dashboard"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
    assert ADMIN_KEY not in cookie
    return client


def test_pages_and_api_need_a_session(gateway):
    page = httpx.get(gateway.url + "/dashboard", timeout=10)
    assert page.status_code == 200 and 'action="/dashboard/login"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    api = httpx.get(gateway.url + "/dashboard/api/summary", timeout=10)
    assert api.status_code == 401 and api.json()["error"]["type"] == "authentication_error"
    # The admin key as a header is not a session: the dashboard API takes cookies only.
    keyed = httpx.get(gateway.url + "/dashboard/api/keys", headers={"x-api-key": ADMIN_KEY}, timeout=10)
    assert keyed.status_code == 401
    wrong = httpx.post(gateway.url + "/dashboard/login", data={"key": "x" * 40}, timeout=10)
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers and "Wrong admin key." in wrong.text


def test_session_reads_summary_and_log_then_signs_out(gateway):
    client = signed_in(gateway)
    assert 'src="/dashboard/static/app.js"' in client.get("/dashboard").text
    summary = client.get("/dashboard/api/summary?range=1h&group=provider").json()
    assert summary["step"] == 60 and summary["to"] - summary["from"] == 3600
    page = client.get("/dashboard/api/requests?limit=2").json()
    assert len(page["data"]) <= 2
    if page["next"]:
        after = client.get("/dashboard/api/requests", params={"limit": 2, "before": page["next"]}).json()
        assert not {r["request_id"] for r in after["data"]} & {r["request_id"] for r in page["data"]}
    assert client.post("/dashboard/api/logout", json={}).status_code == 200
    assert client.get("/dashboard/api/summary").status_code == 401


def test_bad_parameters_are_400_not_500(gateway):
    client = signed_in(gateway)
    for query in ("range=2y", "group=color", "from=yesterday", "from=2030-01-01"):
        resp = client.get("/dashboard/api/summary?" + query)
        assert resp.status_code == 400, query
        assert resp.json()["error"]["type"] == "invalid_request_error"
    for query in ("status=maybe", "limit=many", "before=nope"):
        assert client.get("/dashboard/api/requests?" + query).status_code == 400, query
    assert client.get("/dashboard/api/requests/req_nope").status_code == 404
    assert client.get("/dashboard/static/../../settings.py").status_code == 404


def test_state_changes_refuse_other_origins_and_forms(gateway):
    client = signed_in(gateway)
    evil = client.post("/dashboard/api/keys", json={"name": "evil"}, headers={"origin": "https://evil.example"})
    assert evil.status_code == 403
    form = client.post("/dashboard/api/keys", data={"name": "form"})
    assert form.status_code == 400
    names = {k["name"] for k in client.get("/dashboard/api/keys").json()["data"]}
    assert not names & {"evil", "form"}
    login = httpx.post(
        gateway.url + "/dashboard/login", data={"key": ADMIN_KEY}, headers={"origin": "https://evil.example"}
    )
    assert login.status_code == 403


def test_cookie_is_secure_behind_a_tls_proxy(gateway):
    plain = httpx.post(gateway.url + "/dashboard/login", data={"key": ADMIN_KEY}, timeout=10)
    assert "Secure" not in plain.headers["set-cookie"]
    tls = httpx.post(
        gateway.url + "/dashboard/login", data={"key": ADMIN_KEY}, headers={"x-forwarded-proto": "https"}, timeout=10
    )
    assert tls.headers["set-cookie"].endswith("; Secure")
