"""rollups of the ledger for the dashboard, filled from the rows already there

Revision ID: 0004
Revises: 0003

From here on the ledger writer keeps them in the transaction that inserts each batch of rows
(store/rollups.py). The backfill reads the ledger a day at a time through its created_at index
and sums with that module's own code, so it matches what the writer does; a later change to the
rollups' columns needs a migration that rebuilds them, and must keep this one runnable.
"""

import sqlalchemy as sa
from alembic import op

from aigateway.store.rollups import Upsert, deltas

revision = "0004"
down_revision = "0003"

_BINS = 57
_SUMS = ("requests", "errors", "cost_nanousd", "input_tokens", "output_tokens", "cache_tokens")
_HISTOGRAMS = tuple(f"{kind}_{i:02d}" for kind in ("lat", "ttft") for i in range(_BINS))
_READ = (
    "created_at",
    "key_id",
    "model",
    "provider",
    "status",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "ttft_ms",
    "latency_ms",
    "cost_nanousd",
)
_DAY = 86400


def upgrade() -> None:
    op.create_table(
        "ledger_rollup",
        sa.Column("width", sa.Integer, primary_key=True),
        sa.Column("dim", sa.String(8), primary_key=True),
        sa.Column("slot", sa.BigInteger, primary_key=True),
        sa.Column("grp", sa.String(200), primary_key=True),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in _SUMS + _HISTOGRAMS),
    )
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    ledger = sa.table("ledger", *(sa.column(n) for n in _READ))
    low, high = conn.execute(sa.select(sa.func.min(ledger.c.created_at), sa.func.max(ledger.c.created_at))).one()
    if low is None:
        return
    upsert = Upsert(conn.dialect)
    day = int(low) - int(low) % _DAY
    while day <= high:
        rows = conn.execute(sa.select(ledger).where(ledger.c.created_at >= day, ledger.c.created_at < day + _DAY))
        changes = upsert.params(deltas(rows))
        if changes:
            conn.exec_driver_sql(upsert.sql, changes)
        day += _DAY


def downgrade() -> None:
    op.drop_table("ledger_rollup")
