"""key policy (limits, budget, expiry, tags), cost on every ledger row, usage indexes

Revision ID: 0002
Revises: 0001

Indexes: usage queries filter on a time range and group by key, model or provider. With ten
million rows a range scan over `created_at` alone reads every row of the period; a composite
(column, created_at) index lets "this key / model / provider over this range" read only its own
rows in time order. `ix_ledger_key_created` (0001) already serves the per-key query and the
budget seeding at start-up; 0002 adds the model and provider ones.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

_KEY_COLUMNS: list[sa.Column[Any]] = [
    sa.Column("allowed_models", sa.Text, nullable=True),
    sa.Column("allowed_providers", sa.Text, nullable=True),
    sa.Column("rpm", sa.Integer, nullable=True),
    sa.Column("tpm", sa.Integer, nullable=True),
    sa.Column("rpm_per_model", sa.Integer, nullable=True),
    sa.Column("tpm_per_model", sa.Integer, nullable=True),
    sa.Column("budget_nanousd", sa.BigInteger, nullable=True),
    sa.Column("budget_period", sa.String(8), nullable=True),
    sa.Column("expires_at", sa.Float, nullable=True),
    sa.Column("tags", sa.Text, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=True),
]


def upgrade() -> None:
    with op.batch_alter_table("gateway_keys") as batch:
        for column in _KEY_COLUMNS:
            batch.add_column(column)
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("cache_write_1h_tokens", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("cost_nanousd", sa.BigInteger, nullable=True))
    op.create_index("ix_ledger_model_created", "ledger", ["model", "created_at"])
    op.create_index("ix_ledger_provider_created", "ledger", ["provider", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_provider_created", "ledger")
    op.drop_index("ix_ledger_model_created", "ledger")
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("cost_nanousd")
        batch.drop_column("cache_write_1h_tokens")
    with op.batch_alter_table("gateway_keys") as batch:
        for column in reversed(_KEY_COLUMNS):
            batch.drop_column(column.name)
