"""Initial schema: information systems, messages with receipts, applications, journal.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "information_systems",
        sa.Column("mnemonic", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("inn_le", sa.String(12)),
        sa.Column("ogrn", sa.String(15)),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "is_certificates",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("mnemonic", sa.String(100), sa.ForeignKey("information_systems.mnemonic"),
                  nullable=False),
        sa.Column("subject", sa.String(1000), nullable=False),
        sa.Column("certificate_pem", sa.Text, nullable=False),
        sa.Column("added_at", TS, nullable=False),
    )
    op.create_table(
        "messages",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(36), nullable=False, unique=True),
        sa.Column("message_type", sa.String(10), nullable=False),
        sa.Column("reference_message_id", sa.String(36)),
        sa.Column("sender", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("namespace_uri", sa.String(500), nullable=False),
        sa.Column("root_element", sa.String(200), nullable=False),
        sa.Column("content_digest", sa.String(64), nullable=False),
        sa.Column("test_message", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("registration_number", sa.String(40), nullable=False, unique=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("receipt", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "applications",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("message_pk", PK, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("domain", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("organisation_inn", sa.String(12), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("registration_number", sa.String(40), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_applications_org", "applications", ["organisation_inn", "created_at"])
    op.create_table(
        "journal",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("message_id", sa.String(36)),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("event", sa.String(60), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("content_digest", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
    )


def downgrade() -> None:
    for table in ("journal", "applications", "messages", "is_certificates", "information_systems"):
        op.drop_table(table)
