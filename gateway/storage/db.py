"""Engines: SQLite in WAL mode with durable commits, or PostgreSQL.

SQLite: ``synchronous=FULL`` so a commit is on disk before a receipt leaves; write transactions
start with ``BEGIN IMMEDIATE`` so several worker processes queue on the write lock (honouring
``busy_timeout``) instead of failing on a lock upgrade.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_pre_ping=False)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        if parsed.database and parsed.database != ":memory:":
            _WRITE_LOCKS[engine] = _WriteLock(Path(parsed.database + ".writelock"))
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)


def ping(engine: Engine) -> None:
    """Raise unless the database answers a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class _WriteLock:
    """Serializes SQLite writers across threads (a mutex) and processes (``flock``).

    SQLite's own busy handler polls with sleeps of 1 ms and more, so under contention writers
    wait far longer than the lock is held; a blocking ``flock`` wakes the next writer as soon
    as the previous one commits.
    """

    def __init__(self, path: Path):
        self.path = path
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self):
        self._mutex.acquire()
        try:
            if self._fd is None or self._pid != os.getpid():  # a fork gets its own descriptor
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        return self

    def __exit__(self, *exc):
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()


_WRITE_LOCKS: "weakref.WeakKeyDictionary[Engine, _WriteLock]" = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on error.

    On SQLite the writers queue on a cross-process lock first (see :class:`_WriteLock`).
    """
    lock = _WRITE_LOCKS.get(engine)
    if lock is None:
        with engine.begin() as conn:
            yield conn
        return
    with lock, engine.begin() as conn:
        yield conn


@contextlib.contextmanager
def scratch_schema(base_url: str, prefix: str = "gw_scratch") -> Iterator[str]:
    """A fresh PostgreSQL schema on ``base_url`` for a run that must start empty (``make chaos``,
    ``make soak``); yields a URL whose connections use it, and drops it afterwards."""
    import uuid

    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
