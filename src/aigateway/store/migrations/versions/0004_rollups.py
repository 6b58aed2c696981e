"""rollups of the ledger for the dashboard, filled from the rows already there

Revision ID: 0004
Revises: 0003

From here on the ledger writer keeps them in the transaction that inserts each batch of rows
(store/rollups.py). The backfill reads the ledger a day at a time through its created_at index
and sums with that module's own code, so it matches what the writer does; a later change to the
rollups' columns needs a migration that rebuilds them, and must keep this one runnable: 0005
added a column, so the backfill moved there (`rebuild`) and this one creates the table only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

_BINS = 57
_SUMS = ("requests", "errors", "cost_nanousd", "input_tokens", "output_tokens", "cache_tokens")
_HISTOGRAMS = tuple(f"{kind}_{i:02d}" for kind in ("lat", "ttft") for i in range(_BINS))


def upgrade() -> None:
    op.create_table(
        "ledger_rollup",
        sa.Column("width", sa.Integer, primary_key=True),
        sa.Column("dim", sa.String(8), primary_key=True),
        sa.Column("slot", sa.BigInteger, primary_key=True),
        sa.Column("grp", sa.String(200), primary_key=True),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in _SUMS + _HISTOGRAMS),
    )


def downgrade() -> None:
    op.drop_table("ledger_rollup")
