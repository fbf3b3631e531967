"""Kept readers and the kept writer (gateway/storage/db.py) on the database GATEWAY_TEST_DB
selects: a read on a kept reader leaves no transaction open, a reader the server dropped is
replaced and the read repeated, no more than MAX_KEPT_READERS are kept, and a failed COMMIT on
the kept SQLite writer does not leave its transaction open for the next batch."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from gateway.storage import db
from gateway.storage.db import make_engine, read


@pytest.fixture
def engine(fresh_database_url):
    engine = make_engine(fresh_database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40))"))
        conn.execute(text("INSERT INTO item (id, name) VALUES (1, 'one')"))
    yield engine
    engine.dispose()


def _name(conn, item_id: int = 1):
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"SELECT name FROM item WHERE id = {int(item_id)}")
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row[0] if row else None


def _kept(engine) -> list:
    return engine.__dict__.get(db._READERS, [])


def test_a_reader_is_kept_and_reused_with_no_transaction_left_open(engine):
    assert read(engine, _name) == "one"
    [(_, reader)] = _kept(engine)
    assert not reader.in_transaction()
    dbapi = reader.connection.dbapi_connection
    if engine.dialect.name == "sqlite":
        assert not dbapi.in_transaction  # no snapshot pinned between requests
    else:
        assert dbapi.autocommit          # one round trip per read, no BEGIN/ROLLBACK
    # a Core query (which SQLAlchemy wraps in a transaction) is ended before the reader is kept
    assert read(engine, lambda conn: conn.execute(text("SELECT COUNT(*) FROM item")).scalar()) == 1
    [(_, again)] = _kept(engine)
    assert again is reader and not again.in_transaction()


def test_a_kept_reader_sees_what_was_committed_after_it_last_read(engine):
    assert read(engine, lambda conn: _name(conn, 2)) is None
    with db.write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO item (id, name) VALUES (2, 'two')"))
    assert read(engine, lambda conn: _name(conn, 2)) == "two"


def test_no_more_readers_are_kept_than_the_bound(engine):
    entered, release = threading.Barrier(db.MAX_KEPT_READERS + 3), threading.Event()
    results = []

    def slow(conn):
        entered.wait(10)
        release.wait(10)
        return _name(conn)

    threads = [threading.Thread(target=lambda: results.append(read(engine, slow)))
               for _ in range(db.MAX_KEPT_READERS + 3)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(20)
    assert results == ["one"] * (db.MAX_KEPT_READERS + 3)
    assert len(_kept(engine)) == db.MAX_KEPT_READERS


def test_an_error_of_the_query_is_raised_and_the_reader_not_kept(engine):
    read(engine, _name)
    [(_, reader)] = _kept(engine)

    def wrong(conn):
        conn.execute(text("SELECT no_such_column FROM item"))

    with pytest.raises(Exception, match="no_such_column"):
        read(engine, wrong)
    assert reader.closed and _kept(engine) == []
    assert read(engine, _name) == "one"


def test_a_reader_the_server_dropped_is_replaced_and_the_read_repeated(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("only a server can drop a connection (PostgreSQL: pg_terminate_backend)")
    read(engine, _name)
    [(_, reader)] = _kept(engine)
    pid = read(engine, lambda conn: conn.execute(text("SELECT pg_backend_pid()")).scalar())
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    assert read(engine, _name) == "one"      # the dead reader failed; the read was repeated
    [(_, replacement)] = _kept(engine)
    assert replacement is not reader and reader.closed


def test_a_failed_commit_on_the_kept_writer_leaves_no_transaction_open(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL checks a connection out of the pool per write transaction")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, item_id INTEGER "
                          "REFERENCES item(id) DEFERRABLE INITIALLY DEFERRED)"))
    kept = db.KeptConnection(engine)
    with pytest.raises(Exception, match="FOREIGN KEY"):
        with db.write_transaction(engine, kept) as conn:
            conn.execute(text("INSERT INTO child (id, item_id) VALUES (1, 99)"))
    with db.write_transaction(engine, kept) as conn:  # a new connection, a clean transaction
        conn.execute(text("INSERT INTO item (id, name) VALUES (3, 'three')"))
    assert read(engine, lambda conn: _name(conn, 3)) == "three"


def test_insert_many_keeps_the_rows_order_in_their_ids(fresh_database_url):
    """FastStatement.insert_many (one INSERT of many VALUES rows on PostgreSQL, chunked at
    MAX_VALUES_ROWS; executemany on SQLite) stores every row, and ids follow the rows' order:
    the journal's chain and the webhook events' order rely on it."""
    from sqlalchemy import Column, Integer, MetaData, String, Table

    engine = make_engine(fresh_database_url)
    try:
        table = Table("many", MetaData(), Column("id", Integer, primary_key=True,
                                                  autoincrement=True),
                      Column("name", String(40)), Column("n", Integer))
        table.metadata.create_all(engine)
        statement = db.FastStatement(table, ("name", "n"))
        sizes = [1, 2, db.MAX_VALUES_ROWS, db.MAX_VALUES_ROWS * 2 + 3]
        expected = []
        with engine.begin() as conn:
            for size in sizes:
                rows = [{"name": f"row {len(expected) + i}", "n": len(expected) + i}
                        for i in range(size)]
                statement.insert_many(conn, rows)
                expected += [(r["name"], r["n"]) for r in rows]
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT name, n FROM many ORDER BY id")).all()
        assert [tuple(r) for r in stored] == expected
    finally:
        engine.dispose()
