"""PostgreSQL: the byte columns every message writes are compressed with lz4, not pglz.

PostgreSQL tries to compress a value of more than about 2 KB before storing it, with pglz unless
told otherwise. Every SendRequest writes three such values: its envelope and receipt
(``messages``) and its queued answer (``queue_items``). Measured on this project's machine
(docs/performance.md, «Parsed once, and a faster interpreter»): for a signed 4 KB registration
envelope pglz tried and gave up, storing it as it was (4,034 bytes), at 177 µs of server CPU
per insert; lz4 stored it in 3,055 bytes at 123-140 µs. The journal's kept bytes (``journal.content``) get the same.

Only values written from now on use lz4; existing ones stay readable as they are. A server
without lz4 (older than 14, or built without it) keeps pglz: the statement is tried in a block
that notes the refusal and goes on. SQLite compresses nothing: nothing to do there.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

COLUMNS = (("messages", "envelope"), ("messages", "receipt"), ("queue_items", "body"),
           ("journal", "content"))


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    statements = "\n".join(f"EXECUTE 'ALTER TABLE {table} ALTER COLUMN {column} "
                           f"SET COMPRESSION {method}';" for table, column in COLUMNS)
    op.execute(f"""
DO $$
BEGIN
{statements}
EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
    RAISE NOTICE 'column compression {method} is not available on this server: %', SQLERRM;
END
$$""")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
