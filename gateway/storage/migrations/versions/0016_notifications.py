"""Notifications of what is coming (sent once per subject and threshold) and the certificates
of the persons (heads, representatives) whose PersonalSignature the gateway accepted.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("threshold_days", sa.Integer, nullable=False),
        sa.Column("organisation_inn", sa.String(12)),
        sa.Column("mnemonic", sa.String(100)),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "subject", "threshold_days", name="ux_notification_once"),
    )
    op.create_index("ix_notifications_created", "notifications", ["created_at"])
    op.create_table(
        "person_certificates",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("organisation_inn", sa.String(12), primary_key=True),
        sa.Column("person_inn", sa.String(12)),
        sa.Column("subject", sa.String(1000), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhook_deliveries_done", "webhook_deliveries", ["state", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_done", "webhook_deliveries")
    op.drop_table("person_certificates")
    op.drop_index("ix_notifications_created", "notifications")
    op.drop_table("notifications")
