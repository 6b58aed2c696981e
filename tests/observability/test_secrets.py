"""Known secrets fed through every path of the session gateway never come back in a response
(body or header) nor reach its log; neither do prompts and completions."""

from __future__ import annotations

import json

import httpx

from tests.conftest import ADMIN_KEY, UPSTREAM_KEY
from tests.support import fixtures
from tests.support.bedrock import AWS_ENV, BEDROCK_TOKEN
from tests.support.gateway import ISSUED_KEYS
from tests.support.upstream import Reply

BYOK = "sk-byok-secret-in-the-body-0123456789"
WRONG = "sk-aigw-presented-but-wrong-0123456789"
PROMPT_CANARY = "prompt-canary-7f3a9c"


def text_sync() -> fixtures.Exchange:
    return fixtures.exchange("anthropic", "text-sync")


def completion() -> str:
    return json.loads(text_sync().response_bytes())["content"][0]["text"]


class Recorder:
    """Every response seen, as the text to search: status line, headers and body."""

    def __init__(self, gateway) -> None:
        self.client = httpx.Client(base_url=gateway.url, timeout=30)
        self.seen: list[tuple[str, str]] = []
        self.created: set[str] = set()  # a key's secret appears once, in its creation's answer

    def __call__(self, method: str, path: str, **kw) -> httpx.Response:
        resp = self.client.request(method, path, **kw)
        resp.read()
        headers = "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
        self.seen.append((f"{method} {path}", f"{resp.status_code}\n{headers}\n{resp.text}"))
        return resp


def message(model: str, *, stream: bool = False, gateway: dict | None = None) -> dict:
    body: dict = {"model": model, "max_tokens": 32, "stream": stream}
    body["messages"] = [{"role": "user", "content": f"Say hi. {PROMPT_CANARY}"}]
    if gateway is not None:
        body["providerOptions"] = {"gateway": gateway}
    return body


def test_no_secret_in_any_response_or_log_line(gateway, api_key, upstream):
    rec = Recorder(gateway)
    key = {"x-api-key": api_key}
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    # Success, JSON and streamed.
    upstream.expect(Reply.replay(text_sync()), Reply.replay(fixtures.exchange("anthropic", "text-stream")))
    assert rec("POST", "/v1/messages", json=message("anthropic/claude-sonnet-4"), headers=key).status_code == 200
    assert rec("POST", "/v1/messages", json=message("anthropic/claude-sonnet-4", stream=True), headers=key).is_success
    # Upstream errors: a 401 from the provider, a 500, a refused connection, Bedrock signed and keyed.
    upstream.expect(Reply(status=401, body=b'{"type":"error","error":{"type":"authentication_error","message":"x"}}'))
    assert rec("POST", "/v1/messages", json=message("anthropic/claude-sonnet-4"), headers=key).status_code >= 400
    upstream.expect(Reply(status=500, body=b"upstream exploded"))
    assert rec("POST", "/v1/messages", json=message("anthropic/claude-sonnet-4"), headers=key).status_code >= 500
    assert rec("POST", "/v1/messages", json=message("deadend/claude-sonnet-4"), headers=key).status_code >= 500
    bedrock = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    upstream.expect(Reply(status=403, body=b'{"message":"The security token included in the request is invalid."}'))
    assert rec("POST", "/v1/messages", json=message(f"bedrock/{bedrock}"), headers=key).status_code >= 400
    upstream.expect(Reply(status=500, body=b'{"message":"internal"}'))
    assert rec("POST", "/v1/messages", json=message(f"bedrock_key/{bedrock}"), headers=key).status_code >= 500
    # BYOK: used and refused upstream; offered for a provider that is not configured.
    upstream.expect(Reply(status=401, body=b'{"error":{"message":"Incorrect API key provided","type":"invalid"}}'))
    byok = {"byok": {"openai": [{"apiKey": BYOK}]}}
    assert rec("POST", "/v1/messages", json=message("openai/gpt-4o", gateway=byok), headers=key).status_code >= 400
    assert upstream.received[-1].headers["Authorization"] == f"Bearer {BYOK}"
    bad_byok = {"byok": {"nosuchprovider": [{"apiKey": BYOK}]}}
    assert rec("POST", "/v1/messages", json=message("openai/gpt-4o", gateway=bad_byok), headers=key).status_code == 400
    # Bad requests: wrong keys presented, the admin key where a gateway key belongs, broken bodies.
    for presented in (WRONG, ADMIN_KEY, UPSTREAM_KEY):
        resp = rec("POST", "/v1/messages", json=message("anthropic/claude-sonnet-4"), headers={"x-api-key": presented})
        assert resp.status_code == 401
    assert rec("POST", "/v1/messages", content=b'{"model": ', headers=key).status_code == 400
    assert rec("POST", "/v1/messages/count_tokens", json={"model": 7}, headers=key).status_code == 400
    assert rec("GET", "/v1/models", headers={"authorization": f"Bearer {WRONG}"}).status_code == 401
    # The admin API: create (its answer is the one place the secret may be), list, change, revoke.
    created = rec("POST", "/admin/keys", json={"name": "secrets-test", "rpm": 5}, headers=admin).json()
    ISSUED_KEYS.append(created["secret"])
    rec.created.add(created["secret"])
    assert rec("GET", "/admin/keys", headers=admin).status_code == 200
    assert rec("GET", f"/admin/keys/{created['id']}", headers=admin).status_code == 200
    assert rec("PATCH", f"/admin/keys/{created['id']}", json={"tpm": 10}, headers=admin).status_code == 200
    assert rec("POST", "/admin/keys", json={"name": ""}, headers=admin).status_code == 400
    assert rec("GET", "/admin/keys", headers={"x-api-key": WRONG}).status_code == 403
    assert rec("GET", "/admin/keys", headers=key).status_code == 403
    assert rec("DELETE", f"/admin/keys/{created['id']}", headers=admin).status_code == 200
    # Ops routes.
    assert rec("GET", "/metrics", headers=admin).status_code == 200
    assert rec("GET", "/metrics", headers={"authorization": f"Bearer {WRONG}"}).status_code == 403
    assert rec("GET", "/health").status_code == 200
    assert rec("GET", "/v1/usage?group_by=key", headers=admin).status_code == 200
    # The dashboard: failed and successful sign-in, every API, a key made there.
    assert rec("POST", "/dashboard/login", data={"key": WRONG}).status_code == 401
    assert rec("POST", "/dashboard/login", data={"key": ADMIN_KEY}).status_code == 303
    for path in ("/dashboard", "/dashboard/api/options", "/dashboard/api/keys", "/dashboard/api/summary?range=1h"):
        assert rec("GET", path).status_code == 200, path
    log = rec("GET", "/dashboard/api/requests?limit=500").json()["data"]
    for row in log[:5]:
        assert rec("GET", f"/dashboard/api/requests/{row['request_id']}").status_code == 200
    made = rec("POST", "/dashboard/api/keys", json={"name": "dash-secret-test"}).json()
    ISSUED_KEYS.append(made["secret"])
    rec.created.add(made["secret"])
    assert rec("DELETE", f"/dashboard/api/keys/{made['id']}", json={}).status_code == 200
    assert rec("GET", "/dashboard/api/keys").status_code == 200

    secrets = {
        "provider key": UPSTREAM_KEY,
        "admin key": ADMIN_KEY,
        "byok key": BYOK,
        "wrong key": WRONG,
        "aws secret": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        "aws session token": AWS_ENV["AWS_SESSION_TOKEN"],
        "bedrock token": BEDROCK_TOKEN,
        **{f"gateway key {i}": k for i, k in enumerate([api_key, *ISSUED_KEYS])},
    }
    assert len(rec.seen) > 40
    for what, text in rec.seen:
        for name, secret in secrets.items():
            if secret in rec.created and what in ("POST /admin/keys", "POST /dashboard/api/keys"):
                continue
            assert secret not in text, f"{name} in the answer to {what}"
    answer = completion()
    for line in gateway.log_text().splitlines():
        for name, secret in secrets.items():
            assert secret not in line, f"{name} in a log line"
        assert PROMPT_CANARY not in line and answer not in line, "content in a log line"
