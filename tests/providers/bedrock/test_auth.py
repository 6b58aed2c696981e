"""SigV4 by botocore: a known-good signature for fixed credentials, date and body."""

from __future__ import annotations

import asyncio
import datetime

import botocore.auth
import pytest

from aigateway.errors import UpstreamError
from aigateway.providers.bedrock import auth as bedrock_auth
from aigateway.providers.bedrock.auth import BedrockAuth
from tests.support.bedrock import AWS_ENV, verify_sigv4
from tests.support.upstream import Received

URL = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse"
BODY = b'{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":10}}'
# Computed once with botocore 1.44.8 for AWS_ENV's credentials at 2026-01-02T03:04:05Z and recorded.
KNOWN_GOOD = (
    "AWS4-HMAC-SHA256 Credential=AKIDGATEWAYTEST0001/20260102/us-east-1/bedrock/aws4_request, "
    "SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, "
    "Signature=074572f03ec248dc38f6265c05347f3addb72bb8c7e1a4463b7344f8139867ee"
)


@pytest.fixture
def signer(monkeypatch):
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    fixed = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: fixed)
    return BedrockAuth("bedrock", "us-east-1", None)


def _sign(auth: BedrockAuth) -> dict[str, str]:
    return asyncio.run(auth.headers(URL, BODY, {"content-type": "application/json", "accept": "application/json"}))


def test_known_good_signature(signer):
    headers = _sign(signer)
    assert headers["X-Amz-Date"] == "20260102T030405Z"
    assert headers["X-Amz-Security-Token"] == AWS_ENV["AWS_SESSION_TOKEN"]
    assert headers["Authorization"] == KNOWN_GOOD


def test_the_signature_verifies_and_a_changed_body_does_not(signer):
    headers = _sign(signer)
    got = Received(
        "POST", "", {**headers, "host": "bedrock-runtime.us-east-1.amazonaws.com"}, BODY, URL.split(".com", 1)[1]
    )
    verify_sigv4(got)
    with pytest.raises(AssertionError, match="does not verify"):
        verify_sigv4(Received(got.method, "", got.headers, BODY.replace(b"10", b"11"), got.raw_path))


def test_no_credentials_is_a_clear_502(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in AWS_ENV.items():
        if name.startswith(("AWS_CONFIG", "AWS_SHARED", "AWS_EC2")):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "")
    for name in (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    auth = BedrockAuth("bedrock", "us-east-1", None)
    with pytest.raises(UpstreamError) as caught:
        _sign(auth)
    assert caught.value.status == 502 and "no AWS credentials for provider 'bedrock'" in caught.value.message


def test_region_from_the_block_then_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert bedrock_auth.resolve_region("ap-south-1") == "ap-south-1"
    assert bedrock_auth.resolve_region(None) == "eu-west-3"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    assert bedrock_auth.resolve_region(None) == "us-west-2"


def test_refreshable_credentials_refresh_off_the_event_loop(signer):
    """A refresh does network I/O (STS, SSO, instance metadata): it must not block the loop."""
    import threading

    from botocore.credentials import RefreshableCredentials

    threads: list[int] = []

    def refresh() -> dict[str, str]:
        threads.append(threading.get_ident())
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        return {"access_key": "AKIDREFRESHED", "secret_key": "s", "token": "t", "expiry_time": later.isoformat()}

    expired = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)).isoformat()
    signer._credentials = RefreshableCredentials.create_from_metadata(
        metadata={"access_key": "AKIDOLD", "secret_key": "s", "token": "t", "expiry_time": expired},
        refresh_using=refresh,
        method="test",
    )
    signer._resolved = True  # the chain gave these
    headers = _sign(signer)
    assert "Credential=AKIDREFRESHED/" in headers["Authorization"]
    assert threads and threads[0] != threading.get_ident()


def test_the_credential_chain_is_asked_once_on_the_first_signed_request_off_the_event_loop(signer, monkeypatch):
    """Building the provider asks nothing (botocore is not even imported then); the first requests,
    however many arrive together, share one resolution in a worker thread."""
    import threading

    import botocore.session

    asked: list[int] = []
    real = botocore.session.Session.get_credentials

    def get_credentials(self):  # type: ignore[no-untyped-def]
        asked.append(threading.get_ident())
        return real(self)

    monkeypatch.setattr(botocore.session.Session, "get_credentials", get_credentials)
    assert asked == []

    async def burst() -> list[dict[str, str]]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        return await asyncio.gather(*(signer.headers(URL, BODY, headers) for _ in range(8)))

    signed = asyncio.run(burst())
    assert all(h["Authorization"] == KNOWN_GOOD for h in signed)
    assert len(asked) == 1 and asked[0] != threading.get_ident()
