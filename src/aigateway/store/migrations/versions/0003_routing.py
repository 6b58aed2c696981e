"""routing on the ledger: upstream calls per request, and the request's user and tags

Revision ID: 0003
Revises: 0002

`attempts` is how many upstream calls the request made (retries and failovers included);
`end_user` and `tags` come from `providerOptions.gateway` (`user` is a reserved word in SQL).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("end_user", sa.String(200), nullable=True))
        batch.add_column(sa.Column("tags", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("tags")
        batch.drop_column("end_user")
        batch.drop_column("attempts")
