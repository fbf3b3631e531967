"""Webhooks: subscriptions of information systems, events written in the transaction of the
state change they report (a transactional outbox), and one delivery per event and subscription.

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0011"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("mnemonic", sa.String(100), sa.ForeignKey("information_systems.mnemonic"),
                  nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("organisation_inn", sa.String(12)),
        sa.Column("mnemonic", sa.String(100)),
        sa.Column("ordering_key", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fanned_out", sa.Boolean, nullable=False),
    )
    op.create_index("ix_webhook_events_fan", "webhook_events", ["fanned_out", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("event_pk", PK, sa.ForeignKey("webhook_events.id"), nullable=False),
        sa.Column("subscription_id", PK, sa.ForeignKey("webhook_subscriptions.id"), nullable=False),
        sa.Column("ordering_key", sa.String(100), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.String(1000)),
    )
    op.create_index("ux_webhook_delivery", "webhook_deliveries", ["event_pk", "subscription_id"],
                    unique=True)
    op.create_index("ix_webhook_due", "webhook_deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_webhook_order", "webhook_deliveries",
                    ["subscription_id", "ordering_key", "state"])


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhook_subscriptions")
