"""fees beyond tokens on the ledger: server-side web searches

Revision ID: 0005
Revises: 0004

`web_search_requests` is how many web searches the upstream ran for the request (Anthropic's
`usage.server_tool_use.web_search_requests`); they are billed per search, and their cost is part
of `cost_nanousd`. Rows written before this column read 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.add_column(sa.Column("web_search_requests", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ledger") as batch:
        batch.drop_column("web_search_requests")
