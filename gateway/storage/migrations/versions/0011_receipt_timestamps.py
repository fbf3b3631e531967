"""Trusted time for receipts: RFC 3161 tokens per batch and each receipt's Merkle path.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "timestamp_batches",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("merkle_root", sa.String(64), nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "receipt_timestamps",
        sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.message_id"),
                  primary_key=True),
        sa.Column("batch_id", PK, sa.ForeignKey("timestamp_batches.id"), nullable=False),
        sa.Column("leaf", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("receipt_timestamps")
    op.drop_table("timestamp_batches")
