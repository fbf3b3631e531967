"""Application transitions: every state an application entered, with the message that moved it.

Applications made before this revision get one row for the state they are in now, attributed to
the message that opened them (their earlier steps were not recorded).

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "application_transitions",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("application_id", PK, sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("message_pk", PK, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("from_state", sa.String(40)),
        sa.Column("to_state", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_application_transitions", "application_transitions",
                    ["application_id", "id"])
    op.execute("INSERT INTO application_transitions (application_id, message_pk, from_state, "
               "to_state, at) SELECT id, message_pk, NULL, state, updated_at FROM applications "
               "ORDER BY id")


def downgrade() -> None:
    op.drop_index("ix_application_transitions", table_name="application_transitions")
    op.drop_table("application_transitions")
