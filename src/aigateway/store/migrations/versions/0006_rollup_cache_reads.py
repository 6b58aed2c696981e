"""cache reads in the ledger rollups, for the dashboard's cache-hit ratio; rollups rebuilt

Revision ID: 0006
Revises: 0005

`cache_tokens` holds reads and writes together; the ratio (reads over all input: uncached, read,
written) needs reads alone. The rollups are rebuilt from the ledger, a day at a time through its
created_at index, with store/rollups.py's own code, so they match what the writer adds from here
on (this is the backfill 0004 made before; a later change to the columns moves it again).
"""

import sqlalchemy as sa
from alembic import op

from aigateway.store.rollups import Upsert, deltas

revision = "0006"
down_revision = "0005"

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
    with op.batch_alter_table("ledger_rollup") as batch:
        batch.add_column(sa.Column("cache_read_tokens", sa.BigInteger, nullable=False, server_default="0"))
    conn = op.get_bind()
    conn.execute(sa.text("DELETE FROM ledger_rollup"))
    _rebuild(conn)


def _rebuild(conn: sa.Connection) -> None:
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
    with op.batch_alter_table("ledger_rollup") as batch:
        batch.drop_column("cache_read_tokens")
