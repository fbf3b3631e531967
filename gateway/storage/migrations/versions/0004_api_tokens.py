"""API tokens: bearer tokens for the REST history API, each bound to one information system.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("mnemonic", sa.String(100), sa.ForeignKey("information_systems.mnemonic"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_applications_kind_state", "applications",
                    ["organisation_inn", "kind", "state"])


def downgrade() -> None:
    op.drop_index("ix_applications_kind_state", "applications")
    op.drop_table("api_tokens")
