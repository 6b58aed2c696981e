"""The ledger's row: what one request left behind, as the `ledger` table stores it.

Built once per request by the pipeline (pipeline/accounting.py) and read by the ledger writer,
the spool, the request log line, metrics and traces; so it lives here, below all of them.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from aigateway.ir.usage import Usage


class LedgerRow(NamedTuple):
    """One row of the `ledger` table, fields in the table's column order (a test checks it)."""

    request_id: str
    created_at: float
    key_id: str | None
    endpoint: str
    model: str | None
    provider: str | None
    upstream_model: str | None
    streamed: bool
    status: int
    error_type: str | None
    stop_reason: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    ttft_ms: float | None
    latency_ms: float
    cache_write_1h_tokens: int
    cost_nanousd: int | None  # None: the model has no price
    # Defaults keep rows spooled before these columns existed readable.
    attempts: int = 0  # upstream calls made
    end_user: str | None = None  # providerOptions.gateway.user
    tags: str | None = None  # providerOptions.gateway.tags, comma-separated
    web_search_requests: int = 0  # server-side web searches, billed per search
    cache_hit: bool = False  # answered from the response cache: no upstream call, zero cost

    @classmethod
    def build(
        cls,
        *,
        request_id: str,
        started: float,
        started_mono: float,
        key_id: str | None,
        endpoint: str,
        model: str | None,
        provider: str | None,
        upstream_model: str | None,
        streamed: bool,
        status: int,
        error_type: str | None = None,
        stop_reason: str | None = None,
        usage: Usage | None = None,
        ttft: float | None = None,
        cost: int | None = None,
        attempts: int = 0,
        end_user: str | None = None,
        tags: list[str] | None = None,
        cache_hit: bool = False,
    ) -> LedgerRow:
        u = usage or Usage()
        # Positional, straight into the tuple: keyword arguments to a NamedTuple cost 2 µs a row.
        return tuple.__new__(
            cls,
            (
                request_id,
                started,
                key_id,
                endpoint,
                model,
                provider,
                upstream_model,
                streamed,
                status,
                error_type,
                stop_reason,
                u.input_tokens,
                u.output_tokens,
                u.cache_read_input_tokens,
                u.cache_creation_input_tokens,
                None if ttft is None else round((ttft - started_mono) * 1000, 3),
                round((time.monotonic() - started_mono) * 1000, 3),
                u.cache_creation_1h_input_tokens,
                cost,
                attempts,
                end_user,
                ",".join(tags) if tags else None,
                u.web_search_requests,
                cache_hit,
            ),
        )
