"""Google OAuth access tokens for Vertex AI, by google-auth.

Credentials come from a service-account JSON file (`credentials_file`) or, without one, from the
environment's application-default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's user
credentials, the metadata server on Google Cloud). Invariants:
- one token is cached and shared by every request; it is refreshed only when google-auth says
  it is no longer valid, which is 3 min 45 s before it expires (`google.auth._helpers.
  REFRESH_THRESHOLD`), so no request carries a token about to lapse;
- loading and refreshing block (file reads, an HTTPS call), so they run in a worker thread
  (`asyncio.to_thread`), one at a time under a lock: concurrent requests wait for one refresh;
- a failure is a 502 naming the provider, with no credential material in it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aigateway.errors import UpstreamError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class GoogleToken:
    def __init__(self, provider: str, credentials_file: str | None) -> None:
        self._provider = provider
        self._file = credentials_file
        self._credentials: Any = None  # google.auth.credentials.Credentials, loaded on first use
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        creds = self._credentials
        if creds is not None and creds.valid:
            return str(creds.token)
        async with self._lock:
            try:
                if self._credentials is None:
                    self._credentials = await asyncio.to_thread(self._load)
                if not self._credentials.valid:
                    await asyncio.to_thread(self._refresh, self._credentials)
            except Exception as exc:  # google.auth.exceptions.*, OSError, ValueError from a bad file
                raise self._failure(exc) from None
            return str(self._credentials.token)

    def _load(self) -> Any:
        if self._file:
            from google.oauth2 import service_account

            return service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                self._file, scopes=SCOPES
            )
        import google.auth

        credentials, _ = google.auth.default(scopes=SCOPES)
        return credentials

    @staticmethod
    def _refresh(credentials: Any) -> None:
        from google.auth.transport.requests import Request

        credentials.refresh(Request())

    def _failure(self, exc: Exception) -> UpstreamError:
        where = ".credentials_file" if self._file else " (application-default credentials)"
        source = "providers." + self._provider + where
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return UpstreamError(
            f"The gateway could not get a Google access token for provider '{self._provider}' "
            f"({type(exc).__name__}: {reason}); an operator must fix {source}",
            provider=self._provider,
            status=502,
            error_type="api_error",
            retryable=False,
            credential_refused=True,  # routing may move on to another provider
        )
