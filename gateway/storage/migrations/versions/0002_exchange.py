"""Exchange: routing columns on messages, send/serve permissions, delivery queues.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reply_to", sa.String(100)))
        batch.add_column(sa.Column("node_id", sa.String(50)))
        batch.add_column(sa.Column("transaction_code", sa.String(1500)))
        batch.add_column(sa.Column("eol", TS))
        batch.create_unique_constraint("uq_messages_reply_to", ["reply_to"])
    op.create_table(
        "permissions",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("mnemonic", sa.String(100), sa.ForeignKey("information_systems.mnemonic"),
                  nullable=False),
        sa.Column("role", sa.String(5), nullable=False),
        sa.Column("namespace_uri", sa.String(500), nullable=False),
        sa.Column("root_element", sa.String(200), nullable=False),
    )
    op.create_index("ux_permissions", "permissions",
                    ["mnemonic", "role", "namespace_uri", "root_element"], unique=True)
    op.create_table(
        "queue_items",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("node_id", sa.String(50)),
        sa.Column("namespace_uri", sa.String(500), nullable=False),
        sa.Column("root_element", sa.String(200), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("visible_at", TS, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("eol", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("acked_at", TS),
        sa.Column("related_message_id", sa.String(36)),
    )
    op.create_index("ix_queue_take", "queue_items", ["recipient", "kind", "state", "visible_at"])
    op.create_index("ux_queue_message", "queue_items", ["recipient", "kind", "message_id"],
                    unique=True)


def downgrade() -> None:
    op.drop_table("queue_items")
    op.drop_table("permissions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_reply_to", type_="unique")
        for column in ("eol", "transaction_code", "node_id", "reply_to"):
            batch.drop_column(column)
