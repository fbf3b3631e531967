"""SQLite locking (gateway/storage/db.py): write transactions take the database's one write lock
at BEGIN; reads begin deferred on a WAL snapshot and lock no writer out. (The SQLite engine is
what is under test, so this runs in both suites on a file of its own.)"""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from gateway.storage.db import make_engine, write_transaction


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "locking.db"
    engine = make_engine(f"sqlite:///{path}")
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    yield engine, path
    engine.dispose()


def _other(path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=0.2, isolation_level=None)


def test_an_open_read_locks_no_writer_out(sqlite_file):
    engine, path = sqlite_file
    with engine.connect() as reader:
        assert reader.execute(text("SELECT COUNT(*) FROM t")).scalar() == 1   # read is open
        done = threading.Event()

        def write() -> None:
            with write_transaction(engine) as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
            done.set()

        writer = threading.Thread(target=write)
        started = time.monotonic()
        writer.start()
        writer.join(10)
        assert done.is_set() and time.monotonic() - started < 5
        other = _other(path)
        other.execute("BEGIN IMMEDIATE")                  # and a writer of another process
        other.execute("INSERT INTO t VALUES (3)")
        other.execute("COMMIT")
        # the reader still sees its snapshot; a new read sees both writes
        assert reader.execute(text("SELECT COUNT(*) FROM t")).scalar() == 1
    with engine.connect() as again:
        assert again.execute(text("SELECT COUNT(*) FROM t")).scalar() == 3


def test_a_write_transaction_holds_the_write_lock_from_its_begin(sqlite_file):
    engine, path = sqlite_file
    other = _other(path)
    with write_transaction(engine) as conn:
        conn.execute(text("SELECT COUNT(*) FROM t")).scalar()        # nothing written yet
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")                                # free again after COMMIT
    other.execute("ROLLBACK")
