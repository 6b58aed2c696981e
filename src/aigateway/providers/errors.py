"""Upstream error answers as the gateway's `UpstreamError`, the same way for every provider whose
errors are not Anthropic's own.

- Our credential refused (401, 403, or the provider's own words for it) is the gateway's fault,
  never the client's: a 502 `api_error` naming the provider and the setting an operator must fix,
  not worth retrying on that credential, without the upstream's wording (it may echo the key).
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
