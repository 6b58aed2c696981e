"""responses kept for the Responses API: stored_responses and response_events

Revision ID: 0008
Revises: 0007

`stored_responses` holds each response the Responses API door keeps (`store`), readable only by
the key that made it until `expires_at`; `response_events` the stream events of background
responses, for resuming a stream. store/responses.py says what the columns hold.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "stored_responses",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("background", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("upstream", sa.String(64), nullable=True),
        sa.Column("runner", sa.String(64), nullable=True),
        sa.Column("heartbeat_at", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("items", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_stored_responses_key_created", "stored_responses", ["key_id", "created_at"])
    op.create_index("ix_stored_responses_expires", "stored_responses", ["expires_at"])
    op.create_index("ix_stored_responses_status", "stored_responses", ["status", "heartbeat_at"])
    op.create_table(
        "response_events",
        sa.Column("response_id", sa.String(100), primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("response_events")
    op.drop_index("ix_stored_responses_status", "stored_responses")
    op.drop_index("ix_stored_responses_expires", "stored_responses")
    op.drop_index("ix_stored_responses_key_created", "stored_responses")
    op.drop_table("stored_responses")
