"""Upstream error answers as the gateway's `UpstreamError`, the same way for every provider whose
errors are not Anthropic's own.

- Our credential refused (401, 403, or the provider's own words for it) is the gateway's fault,
  never the client's: a 502 `api_error` naming the provider and the setting an operator must fix,
  not worth retrying on that credential, without the upstream's wording (it may echo the key).
  A credential the request brought itself (BYOK) refused is the client's own 401 or 403.
- Any other error keeps the upstream's wording, with the provider's secret redacted, under the
  status and Anthropic error type the client gets; routing decides on the upstream's own status.
"""

from __future__ import annotations

from aigateway.errors import UpstreamError


def credential_refused(provider: str, status: int, what: str, setting: str) -> UpstreamError:
    """`what` says how it was refused (the status, and the upstream's code if any); `setting` is
    the config key under `providers.<provider>` to fix."""
    return UpstreamError(
        f"The gateway's credential for provider '{provider}' was refused ({what}); "
        f"an operator must fix providers.{provider}.{setting}",
        provider=provider,
        status=502,
        error_type="api_error",
        retryable=False,
        upstream_status=status,
        credential_refused=True,  # routing may move on to another provider or credential
    )


def own_credential_refused(provider: str, status: int) -> UpstreamError:
    """A request's own credential (BYOK) refused: the client's to fix, so the 401 or 403 is its
    own, as Anthropic would say it (without the upstream's wording, which may echo the key)."""
    return UpstreamError(
        f"Upstream provider '{provider}' refused the credential this request brought (byok) with {status}",
        provider=provider,
        status=status,
        error_type="authentication_error" if status == 401 else "permission_error",
        retryable=False,
        upstream_status=status,
    )


def upstream_error(
    provider: str,
    status: int,
    client: tuple[int, str],
    detail: str,
    *,
    secret: str | None,
    headers: dict[str, str],
) -> UpstreamError:
    """`client` is (status, Anthropic error type) for the client; `headers` are those it may act on."""
    if secret and detail:
        detail = detail.replace(secret, "[redacted]")
    return UpstreamError(
        f"{provider}: {detail}" if detail else f"Upstream provider '{provider}' answered {status}",
        provider=provider,
        status=client[0],
        error_type=client[1],
        headers=headers,
        upstream_status=status,  # what routing decides on (a 503 is retried although the client sees 529)
    )
