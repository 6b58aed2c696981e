"""the ledger marks answers from the response cache

Revision ID: 0007
Revises: 0006

`cache_hit` is true for a request answered from the response cache (pipeline/response_cache.py):
no upstream call was made and its cost is zero. Rows written before this column read false.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("cache_hit", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("cache_hit")
