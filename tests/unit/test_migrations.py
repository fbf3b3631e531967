"""The migrations build exactly the tables of gateway/storage/schema.py, in one line of history.

Several branches add migrations at once; two heads, or a table or column a migration forgot,
would otherwise show up only on a deployed database."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from gateway.storage import migrate
from gateway.storage.schema import metadata


def test_one_head():
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"


def test_migrations_match_the_schema(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # SQLite cannot tell some type variants apart; tables, columns and indexes it can.
    structural = [d for d in diff if not (isinstance(d, list) and d and d[0][0] == "modify_type")]
    assert structural == []


def test_large_values_are_compressed_with_lz4_on_postgresql(fresh_database_url):
    """0018: the envelope, receipt, queued body and kept journal bytes use lz4 on PostgreSQL
    (where the server has it); SQLite has no column compression, and the migration does
    nothing there."""
    from sqlalchemy import text

    from gateway.storage.db import make_engine
    from gateway.storage.migrate import upgrade

    engine = make_engine(fresh_database_url)
    try:
        upgrade(engine)
        if engine.dialect.name != "postgresql":
            pytest.skip("only PostgreSQL compresses column values")
        with engine.connect() as conn:
            if int(conn.execute(text("SHOW server_version_num")).scalar()) < 140000:
                pytest.skip("column compression methods came with PostgreSQL 14")
            rows = dict(conn.execute(text(
                "SELECT c.relname || '.' || a.attname, a.attcompression FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = "
                "to_regnamespace(current_schema()) AND (c.relname, a.attname) IN "
                "(('messages', 'envelope'), ('messages', 'receipt'), ('queue_items', 'body'), "
                "('journal', 'content'))")).all())
        assert rows == {"messages.envelope": "l", "messages.receipt": "l",
                        "queue_items.body": "l", "journal.content": "l"}
    finally:
        engine.dispose()
