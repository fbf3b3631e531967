"""Seen signed read requests: what was accepted inside its freshness window, so the same signed
bytes cannot be replayed there (shared by every worker and node).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seen_expiry", "seen_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_table("seen_requests")
