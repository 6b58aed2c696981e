"""Authentication to Bedrock: a Bedrock API key (bearer token) or SigV4 signing by botocore.

Invariants:
- signing is botocore's `SigV4Auth` on an `AWSRequest` (service `bedrock`), never by hand;
- credentials come from the standard AWS chain (environment, shared files, SSO, container and
  instance roles) through `botocore.session`; the chain is resolved once, on the first signed
  request, in a worker thread (botocore's import alone is about 9 MiB and 100 ms, and the chain
  may do network I/O), so a gateway with a Bedrock API key, or whose Bedrock provider is never
  used, never loads it;
- refreshable credentials are frozen once per request, and a refresh (which does network I/O)
  runs in a worker thread, never on the event loop;
- secrets never leave this module except inside the signed headers sent to AWS.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import TYPE_CHECKING

from aigateway.errors import UpstreamError

if TYPE_CHECKING:
    from botocore.credentials import Credentials, ReadOnlyCredentials

SERVICE = "bedrock"  # the SigV4 signing name of bedrock-runtime
TOKEN_ENV = "AWS_BEARER_TOKEN_BEDROCK"


def resolve_region(configured: str | None) -> str | None:
    """The provider block's `region`, else AWS_REGION / AWS_DEFAULT_REGION, else the AWS config file."""
    region = configured or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    import botocore.session

    found = botocore.session.get_session().get_config_variable("region")
    return str(found) if found else None


class BedrockAuth:
    def __init__(self, provider: str, region: str, api_key: str | None) -> None:
        self._provider = provider
        self.region = region
        self._token = api_key or os.environ.get(TOKEN_ENV) or None
        self._credentials: Credentials | None = None
        self._resolved = self._token is not None  # the credential chain was asked (SigV4 only)
        self._resolving = threading.Lock()
        self._problem = "no credentials were found"

    @property
    def mode(self) -> str:
        return "bearer" if self._token else "sigv4"

    async def headers(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        """`headers` plus what authenticates a POST of `body` to `url`."""
        if self._token is not None:
            return {**headers, "authorization": "Bearer " + self._token}
        frozen = await self._frozen()
        from botocore.auth import SigV4Auth  # imported by then, with the credential chain
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(frozen, SERVICE, self.region).add_auth(request)
        return dict(request.headers.items())

    def _resolve(self) -> None:
        """The AWS credential chain, asked once (in a worker thread: the first call imports
        botocore, and the chain may reach an instance's metadata service)."""
        with self._resolving:
            if self._resolved:
                return
            import botocore.auth
            import botocore.awsrequest
            import botocore.session
            from botocore.exceptions import BotoCoreError

            try:
                self._credentials = botocore.session.get_session().get_credentials()
            except BotoCoreError as exc:  # e.g. an expired SSO session: reported on each request
                self._problem = type(exc).__name__
            self._resolved = True

    async def _frozen(self) -> ReadOnlyCredentials:
        if not self._resolved:
            await asyncio.to_thread(self._resolve)
        from botocore.credentials import RefreshableCredentials
        from botocore.exceptions import BotoCoreError

        creds = self._credentials
        if creds is None:
            raise UpstreamError(
                f"The gateway has no AWS credentials for provider '{self._provider}' ({self._problem}): set "
                "them in the environment, a shared credentials file or an instance role, or an API key",
                provider=self._provider,
                status=502,
                retryable=False,
            )
        try:
            if isinstance(creds, RefreshableCredentials) and creds.refresh_needed():
                return await asyncio.to_thread(creds.get_frozen_credentials)
            return creds.get_frozen_credentials()
        except BotoCoreError as exc:
            raise UpstreamError(
                f"The gateway could not refresh its AWS credentials for provider '{self._provider}' "
                f"({type(exc).__name__})",
                provider=self._provider,
                status=502,
            ) from None
