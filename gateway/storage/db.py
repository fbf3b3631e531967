"""Engines: SQLite in WAL mode with durable commits, or PostgreSQL.

SQLite: ``synchronous=FULL`` so a commit is on disk before a receipt leaves; write transactions
(:func:`write_transaction`) start with ``BEGIN IMMEDIATE`` so several worker processes queue on
the write lock instead of failing on a lock upgrade; reads begin deferred and read a WAL
snapshot without locking writers out.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
import weakref
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import DateTime, create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url


#: execution option marking a Connection as a write transaction's (SQLite: BEGIN IMMEDIATE)
_WRITE_OPTION = "gateway_write"


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
            # past how many log pages a COMMIT checkpoints: SQLite's 1,000, or a backstop when
            # this process checkpoints in a thread of its own (gateway/storage/checkpoints.py)
            cur.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint_pages(engine)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # A write transaction (write_transaction) takes the write lock at BEGIN, so writers
            # queue on it instead of failing to upgrade a read snapshot. Anything else is a
            # read (a Core query on engine.connect() begins one implicitly): a deferred BEGIN
            # reads a WAL snapshot and locks nobody out. With IMMEDIATE there, every console
            # page or register lookup held the database's one write lock while it read.
            # on the DBAPI connection itself: SQLAlchemy's statement machinery would add
            # ~25 µs to every transaction for a statement that has no parameters or result
            conn.connection.dbapi_connection.execute(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "BEGIN")

        if parsed.database and parsed.database != ":memory:":
            _WRITE_LOCKS[engine] = _WriteLock(Path(parsed.database + ".writelock"))
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)


def utc_iso(value) -> str:
    """An ISO 8601 time with its offset: SQLite hands back naive datetimes (stored in UTC)."""
    from datetime import timezone

    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


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


_WRITE_OBSERVERS: list[Callable[[float], None]] = []


def observe_write_transactions(callback: Callable[[float], None]) -> None:
    """Have ``callback(seconds)`` called after every write transaction with how long it held
    the write lock: on SQLite from taking the cross-process lock to COMMIT returning (fsync
    included), on PostgreSQL from BEGIN to COMMIT. Why: on SQLite that lock is held by one
    envelope at a time and caps throughput; /metrics counts it and ``make bench`` prints it."""
    if callback not in _WRITE_OBSERVERS:
        _WRITE_OBSERVERS.append(callback)


def _usable(conn: Connection | None, pid: int) -> bool:
    """Whether a kept connection opened by process ``pid`` may serve this process now."""
    return conn is not None and pid == os.getpid() and not conn.closed and not conn.invalidated


class KeptConnection:
    """One SQLite connection kept open for a single user's write transactions (the hot path's
    group commit, whose leader is one thread at a time), instead of a pool checkout and return
    per transaction: ~60 µs of pool and event bookkeeping per envelope (docs/performance.md).

    SQLite only: a PostgreSQL connection is checked out per transaction so that the pool's
    pre-ping finds a connection the server dropped (a restart, a failover) before it is used.
    A fork gets a connection of its own; one that broke is dropped and the next transaction
    opens another."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._conn: Connection | None = None
        self._pid = 0

    def get(self) -> Connection:
        if not _usable(self._conn, self._pid):
            # a parent's connection (after a fork) is neither used nor closed here
            self._conn = self.engine.connect().execution_options(**{_WRITE_OPTION: True})
            self._pid = os.getpid()
        return self._conn

    def drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                conn.close()


_READERS = "_gateway_kept_readers"  # attribute of an engine: its idle kept readers
#: most idle readers an engine keeps: more concurrent readers check out of the pool as usual,
#: so kept readers never take more than this many of PostgreSQL's pool slots
MAX_KEPT_READERS = 4

R = TypeVar("R")


def read(engine: Engine, query: Callable[[Connection], R]) -> R:
    """``query(conn)``: one short read outside any transaction (the replay lookup of every
    request), on one of the engine's kept readers instead of a pool checkout and return.

    SQLite: ≈ 10 µs instead of ≈ 30 µs of pool and event bookkeeping. PostgreSQL: one round
    trip instead of four (the pool's pre-ping, BEGIN, the query, the ROLLBACK of the return),
    since the reader is in autocommit. A reader that the server dropped while it was idle (a
    restart, a failover: what the pool's pre-ping exists for) fails its query; a read can be
    repeated, so it is then repeated once on a new connection from the pool, pre-pinged. A
    Core query on the reader begins a transaction in SQLAlchemy's eyes: it is ended before the
    reader is kept again, so no kept reader holds a snapshot (which on SQLite would keep the
    WAL from being checkpointed)."""
    idle: list = engine.__dict__.setdefault(_READERS, [])  # list.pop/append are atomic
    for attempt in (1, 2):
        try:
            pid, conn = idle.pop()
            kept = True
        except IndexError:
            pid, conn, kept = 0, None, False
        if not _usable(conn, pid):
            # a fork's reader is its parent's: neither used nor closed here
            conn, kept = engine.connect(), False
            if not keeps_connections(engine):
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            result = query(conn)
            if conn.in_transaction():
                conn.rollback()
        except Exception:
            broken = conn.invalidated or _dbapi_broken(conn)
            with contextlib.suppress(Exception):
                conn.close()
            if kept and broken and attempt == 1:
                continue
            raise
        if len(idle) < MAX_KEPT_READERS:
            idle.append((os.getpid(), conn))
        else:
            conn.close()
        return result
    raise AssertionError("unreachable")


def _dbapi_broken(conn: Connection) -> bool:
    """Whether the DBAPI connection under ``conn`` lost its server (psycopg marks it)."""
    try:
        dbapi = conn.connection.dbapi_connection
    except Exception:
        return True
    return bool(getattr(dbapi, "closed", False) or getattr(dbapi, "broken", False))


def keeps_connections(engine: Engine) -> bool:
    """Whether write transactions on ``engine`` may use a :class:`KeptConnection`."""
    return engine in _WRITE_LOCKS


#: SQLite's own default: a COMMIT that takes the write-ahead log past this many pages checkpoints
INLINE_CHECKPOINT_PAGES = 1000
_AUTOCHECKPOINT = "_gateway_autocheckpoint"  # attribute of an engine: (pid, pages)


def autocheckpoint_pages(engine: Engine) -> int:
    """``PRAGMA wal_autocheckpoint`` for a new SQLite connection of ``engine`` in this process
    (a fork keeps SQLite's default: its parent's checkpointer thread is not its own)."""
    pid, pages = engine.__dict__.get(_AUTOCHECKPOINT, (0, 0))
    return pages if pid == os.getpid() else INLINE_CHECKPOINT_PAGES


def set_autocheckpoint_pages(engine: Engine, pages: int) -> None:
    """From now on, new connections of ``engine`` in this process checkpoint past ``pages``."""
    engine.__dict__[_AUTOCHECKPOINT] = (os.getpid(), pages)


def write_lock(engine: Engine):
    """The lock every write transaction on ``engine`` holds (SQLite file: across threads and
    processes; otherwise nothing)."""
    return _WRITE_LOCKS.get(engine) or contextlib.nullcontext()


@contextlib.contextmanager
def write_transaction(engine: Engine, kept: KeptConnection | None = None
                      ) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on error; on ``kept``'s
    connection when given (SQLite), else on one of the pool's.

    On SQLite the writers queue on a cross-process lock first (see :class:`_WriteLock`).
    """
    with write_lock(engine):
        started = time.perf_counter()
        try:
            if kept is not None:
                conn = kept.get()
                try:
                    with conn.begin():
                        yield conn
                except BaseException:
                    # a failed COMMIT (a deferred foreign key) leaves SQLite's transaction
                    # open behind SQLAlchemy's back: closing returns the connection to the
                    # pool, which rolls it back; the next transaction opens another
                    kept.drop()
                    raise
            else:
                with engine.connect() as conn:
                    conn.execution_options(**{_WRITE_OPTION: True})
                    with conn.begin():
                        yield conn
        finally:
            held = time.perf_counter() - started
            for callback in _WRITE_OBSERVERS:
                callback(held)


def _converter(columns: tuple[str, ...], processors: list) -> Callable[[dict], tuple]:
    """``row -> tuple of DBAPI values``: the columns taken by one ``itemgetter`` (in C), then
    only the columns that have a bind processor converted, instead of a generator over zip()
    for every value of every row (≈ 4 µs less per eight-column row)."""
    if not columns:
        return lambda row: ()
    take = itemgetter(*columns)
    if len(columns) == 1:
        take = (lambda get: lambda row: (get(row),))(take)
    convert = [(index, p) for index, p in enumerate(processors) if p is not None]
    if not convert:
        return take

    def values(row: dict) -> tuple:
        out = list(take(row))
        for index, processor in convert:
            out[index] = processor(out[index])
        return tuple(out)
    return values


_SQLITE_FORMAT = ("%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
                  ".%(microsecond)06d")  # SQLAlchemy's default for SQLite's DATETIME


def _bind_processor(column, dialect):
    """The column type's bind processor; for SQLite's DateTime the same text made by
    ``isoformat`` in C instead of SQLAlchemy's ``%``-format over a dict of nine fields (≈ 10 µs
    an envelope: a registration binds twelve datetimes). Other values (dates) keep the original."""
    original = column.type._cached_bind_processor(dialect)
    if dialect.name != "sqlite" or type(column.type) is not DateTime or original is None \
            or getattr(dialect.type_descriptor(column.type), "_storage_format", None) != _SQLITE_FORMAT:
        return original

    def process(value):
        global _last_datetime
        if type(value) is datetime:  # SQLAlchemy's format drops the zone: so does the slice
            last = _last_datetime
            if last[0] is value:
                return last[1]
            text = value.isoformat(" ", "microseconds")[:26]
            _last_datetime = (value, text)
            return text
        return original(value)
    return process


#: the last datetime :func:`_bind_processor` formatted and its text. An envelope binds the same
#: ``now`` object to most of its rows' datetime columns, and ``isoformat`` of an aware datetime
#: costs ≈ 1.4 µs. An identity test is enough: datetimes are immutable, and the slot holds the
#: object, so its id cannot be reused while it is there; threads race only to a miss.
_last_datetime: tuple[datetime | None, str] = (None, "")


#: most VALUES rows of one multi-row INSERT on PostgreSQL (its statements are cached by count)
MAX_VALUES_ROWS = 32


class FastStatement:
    """One INSERT or SELECT on the hot path, run on the DBAPI cursor of the current transaction.

    SQLAlchemy Core costs about 0.2 ms a statement in compiling parameters, events and result
    set-up; a prepared DBAPI call costs a tenth of that. The statement is rendered once per
    dialect with the database's own parameter style, and each value goes through the column
    type's own bind processor, so what is stored is exactly what Core would store (SQLite keeps
    datetimes as text in SQLAlchemy's format, booleans as integers) and Core reads it back."""

    def __init__(self, table, columns: tuple[str, ...], *, sql: str | None = None,
                 returning: str | None = None, gatherable: bool = False):
        self.table = table
        self.columns = columns
        self.returning = returning
        self._sql = sql  # a SELECT with :name placeholders, when not an INSERT
        self._prepared: dict[str, tuple[str, Callable[[dict], tuple]]] = {}
        self._multi: dict[int, str] = {}  # PostgreSQL INSERTs of several VALUES rows, by count
        #: inside :func:`gathered`, its rows wait for the block's end (an INSERT nothing reads
        #: back in the same transaction, except through a read that flushes first)
        self.gatherable = gatherable and sql is None and returning is None

    def _prepare(self, conn: Connection) -> tuple[str, Callable[[dict], tuple]]:
        dialect = conn.dialect
        found = self._prepared.get(dialect.name)
        if found is None:
            processors = [_bind_processor(self.table.c[name], dialect) for name in self.columns]
            mark = "?" if dialect.paramstyle == "qmark" else "%s"
            if self._sql is None:
                sql = self._insert_sql(mark, 1)
                if self.returning and dialect.name == "postgresql":
                    sql += f" RETURNING {self.returning}"
            else:
                sql = self._sql
                for name in self.columns:
                    sql = sql.replace(f":{name}", mark)
            found = self._prepared[dialect.name] = (sql, _converter(self.columns, processors))
        return found

    def insert(self, conn: Connection, row: dict):
        """Insert one row; the new primary key when ``returning`` was given."""
        if self.gatherable and _gather(conn, self, [row]):
            return None
        sql, values = self._prepare(conn)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, values(row))
            if not self.returning:
                return None
            return cursor.lastrowid if conn.dialect.name == "sqlite" else cursor.fetchone()[0]
        finally:
            cursor.close()

    def insert_many(self, conn: Connection, rows: list[dict]) -> None:
        """Insert ``rows`` in their order (ids are assigned in it: the journal's chain and the
        webhook events' order rely on that).

        PostgreSQL gets one INSERT with a VALUES row per row, up to :data:`MAX_VALUES_ROWS` a
        statement: psycopg's ``executemany`` runs a pipeline, which for the two or three rows
        of a message costs 170-180 µs of client CPU against 90 µs for one statement, and the
        server 15 µs more. SQLite runs in-process: ``executemany`` there."""
        if not rows or (self.gatherable and _gather(conn, self, rows)):
            return
        sql, values = self._prepare(conn)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            if conn.dialect.name != "postgresql":
                cursor.executemany(sql, [values(row) for row in rows])
                return
            for start in range(0, len(rows), MAX_VALUES_ROWS):
                chunk = rows[start:start + MAX_VALUES_ROWS]
                cursor.execute(self._values_sql(len(chunk)),
                               [value for row in chunk for value in values(row)])
        finally:
            cursor.close()

    def _insert_sql(self, mark: str, count: int) -> str:
        """The INSERT of ``count`` VALUES rows, ``mark`` the dialect's placeholder."""
        row = f"({', '.join([mark] * len(self.columns))})"
        return (f"INSERT INTO {self.table.name} ({', '.join(self.columns)}) VALUES "
                + ", ".join([row] * count))

    def _values_sql(self, count: int) -> str:
        """PostgreSQL's INSERT of ``count`` VALUES rows (no RETURNING: nothing is read back)."""
        found = self._multi.get(count)
        if found is None:
            if self._sql is not None:
                raise TypeError("insert_many needs an INSERT statement")
            found = self._multi[count] = self._insert_sql("%s", count)
        return found

    def first(self, conn: Connection, row: dict) -> tuple | None:
        """The first row of a SELECT (raw DBAPI values: use for text and bytes columns)."""
        sql, values = self._prepare(conn)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql, values(row))
            return cursor.fetchone()
        finally:
            cursor.close()


#: ``conn.info`` key: the rows :func:`gathered` holds back, by statement in first-use order
_GATHERED = "gateway_gathered_inserts"


def _gather(conn: Connection, statement: FastStatement, rows: list[dict]) -> bool:
    """Hold ``rows`` back when a :func:`gathered` block is open on ``conn``; whether it was."""
    pending = conn.info.get(_GATHERED)
    if pending is None:
        return False
    if conn.in_nested_transaction():
        raise RuntimeError("a gathered INSERT inside a savepoint: the savepoint could roll back "
                           "writes whose rows would outlive it")
    pending.setdefault(statement, []).extend(rows)
    return True


@contextlib.contextmanager
def gathered(conn: Connection) -> Iterator[Callable[[], None]]:
    """Inside, the INSERTs of statements made ``gatherable`` on ``conn`` only collect their
    rows; :func:`flush_gathered` (the block's end, or a read that needs them) writes each
    statement's rows by one multi-row INSERT, statements in the order they were first used and
    rows in the order they came, so ids follow the requests' order. Yields the flush, for a
    caller that must see its errors inside the block; if the block raised, the rows are
    dropped with the transaction the caller rolls back.

    Why: a group commit runs several envelopes' writes in one transaction
    (gateway/storage/group_commit.py). On PostgreSQL each INSERT is a round trip and about
    40 µs of the client's CPU; the rows nothing reads back (a transition's record, webhook
    events, queue items) are written for the whole batch by one statement each. Rows that
    others refer to (a message, an application: their ids are needed at once) are not
    gathered, so a gathered row's parents are always written before it."""
    if _GATHERED in conn.info:
        raise RuntimeError("a gathered block inside another on the same connection")
    conn.info[_GATHERED] = {}
    try:
        yield lambda: flush_gathered(conn)
        flush_gathered(conn)
    finally:
        conn.info.pop(_GATHERED, None)


def flush_gathered(conn: Connection) -> None:
    """Write the rows held back on ``conn`` now (nothing outside a :func:`gathered` block); a
    read of a gathered table in the same transaction calls it first."""
    pending = conn.info.get(_GATHERED)
    if not pending:
        return
    del conn.info[_GATHERED]  # the flush's own INSERTs are written, not held back again
    try:
        for statement, rows in pending.items():
            statement.insert_many(conn, rows)
    finally:
        conn.info[_GATHERED] = {}  # the block goes on (its end removes this)


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
