"""SQLAlchemy Core tables: the schema the migrations build (keep the two in step)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

gateway_keys = Table(
    "gateway_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    # sha256 hex of the secret: the secret itself is never stored.
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),  # last four characters, to tell keys apart
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    # Policy (migration 0002). Lists are JSON arrays as text; NULL means "no limit".
    Column("allowed_models", Text, nullable=True),
    Column("allowed_providers", Text, nullable=True),
    Column("rpm", Integer, nullable=True),
    Column("tpm", Integer, nullable=True),
    Column("rpm_per_model", Integer, nullable=True),
    Column("tpm_per_model", Integer, nullable=True),
    Column("budget_nanousd", BigInteger, nullable=True),
    Column("budget_period", String(8), nullable=True),
    Column("expires_at", Float, nullable=True),
    Column("tags", Text, nullable=True),
    Column("updated_at", Float, nullable=True),
)

ledger = Table(
    "ledger",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("created_at", Float, nullable=False),
    Column("key_id", String(32), nullable=True),
    Column("endpoint", String(40), nullable=False),
    Column("model", String(200), nullable=True),
    Column("provider", String(64), nullable=True),
    Column("upstream_model", String(200), nullable=True),
    Column("streamed", Boolean, nullable=False),
    Column("status", Integer, nullable=False),
    Column("error_type", String(64), nullable=True),
    Column("stop_reason", String(40), nullable=True),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cache_read_tokens", Integer, nullable=False),
    Column("cache_write_tokens", Integer, nullable=False),
    Column("ttft_ms", Float, nullable=True),
    Column("latency_ms", Float, nullable=False),
    # Migration 0002: the 1 h part of cache writes, and the cost in nano-dollars (NULL: no price).
    Column("cache_write_1h_tokens", Integer, nullable=False, server_default="0"),
    Column("cost_nanousd", BigInteger, nullable=True),
    # Migration 0003: upstream calls made (retries and failovers included), providerOptions user/tags.
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("end_user", String(200), nullable=True),
    Column("tags", Text, nullable=True),
    # Migration 0005: fees beyond tokens, each its own bucket (their cost is in cost_nanousd).
    Column("web_search_requests", Integer, nullable=False, server_default="0"),
    # Migration 0007: answered from the response cache (no upstream call, zero cost).
    Column("cache_hit", Boolean, nullable=False, server_default=false()),
    Index("ix_ledger_created_at", "created_at"),
    Index("ix_ledger_key_created", "key_id", "created_at"),
    Index("ix_ledger_model_created", "model", "created_at"),
    Index("ix_ledger_provider_created", "provider", "created_at"),
)

# Migration 0004: the dashboard's rollups of the ledger (store/rollups.py says what they hold);
# 0005: cache reads alone (`cache_tokens` is reads and writes), for the cache-hit ratio.
BINS = 57  # latency and TTFT histogram bins (store/rollups.py: EDGES)
ROLLUP_SUMS = (
    *("requests", "errors", "cost_nanousd", "input_tokens", "output_tokens", "cache_tokens"),
    "cache_read_tokens",
)
ROLLUP_HISTOGRAMS = tuple(f"{kind}_{i:02d}" for kind in ("lat", "ttft") for i in range(BINS))

ledger_rollup = Table(
    "ledger_rollup",
    metadata,
    Column("width", Integer, primary_key=True),  # seconds
    Column("dim", String(8), primary_key=True),  # model, provider or key
    Column("slot", BigInteger, primary_key=True),  # start, in epoch seconds
    Column("grp", String(200), primary_key=True),  # the model, provider or key id ('' for none)
    # in the order the migrations made them: 0005's column last
    *(Column(name, BigInteger, nullable=False) for name in ROLLUP_SUMS[:-1] + ROLLUP_HISTOGRAMS),
    Column(ROLLUP_SUMS[-1], BigInteger, nullable=False, server_default="0"),
)

# Migration 0008: responses kept by the Responses API door (store/responses.py says what they hold).
stored_responses = Table(
    "stored_responses",
    metadata,
    Column("id", String(100), primary_key=True),  # ours (resp_ + 128 random bits), or the upstream's own
    Column("key_id", String(32), nullable=False),  # the only key that may read it
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("status", String(16), nullable=False),  # overrides the stored object's own status
    Column("background", Boolean, nullable=False, server_default=false()),
    Column("upstream", String(64), nullable=True),  # the provider that keeps this id itself, if one does
    Column("runner", String(64), nullable=True),  # background: the gateway instance running it
    Column("heartbeat_at", Float, nullable=True),  # background: last sign of life of its run
    Column("error", Text, nullable=True),  # JSON {code, message}: overrides the object's own error
    Column("size", BigInteger, nullable=False),  # bytes stored: both blobs and the run's events
    Column("response", LargeBinary, nullable=False),  # the Response object, zlib-compressed JSON
    Column("items", LargeBinary, nullable=False),  # its input items (history first), likewise
    Index("ix_stored_responses_key_created", "key_id", "created_at"),
    Index("ix_stored_responses_expires", "expires_at"),
    Index("ix_stored_responses_status", "status", "heartbeat_at"),
)

# Migration 0008: a background response's stream events, for `GET ...?stream=true&starting_after=n`.
response_events = Table(
    "response_events",
    metadata,
    Column("response_id", String(100), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),  # the event as sent: `event:` and `data:` lines
)
