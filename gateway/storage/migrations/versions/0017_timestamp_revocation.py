"""The revocation data (CRLs, OCSP responses) used at time-stamping, kept with the token, so
that ``gateway receipts verify --at`` re-checks the certificate paths' revocation offline.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timestamp_batches") as batch:
        batch.add_column(sa.Column("revocation", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timestamp_batches") as batch:
        batch.drop_column("revocation")
