"""Outbox: register writes decided by a handler, stored with the state change, carried out after
the commit (at least once, with an idempotency key the register honours).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(80), nullable=False, unique=True),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.String(1000)),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox")
