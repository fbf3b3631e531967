"""SQLite: WAL checkpoints in a thread of their own instead of inside a request's COMMIT.

Why (docs/performance.md, «Checkpoints and garbage collection off the request path»): by
default SQLite checkpoints when a COMMIT takes the write-ahead log past 1,000 pages. That
COMMIT copies the pages into the database file and fsyncs it before it returns: about 12 ms
here, every ~40 envelopes committed one by one. Its request waits, and so do its group
commit's whole batch and every writer of every worker queued on the write lock, which the
COMMIT still holds (db.write_transaction).

Here one daemon thread per serving process checkpoints every
``GATEWAY_SQLITE_CHECKPOINT_SECONDS``, on its own connection, in two steps:

1. ``PRAGMA wal_checkpoint(PASSIVE)`` while writers go on: it takes neither the write lock nor
   a reader's snapshot away, waits for nobody, and copies the bulk of the log.
2. The same again holding the write lock (db.write_lock), for the few pages appended during
   step 1. Without it, writers that never pause always leave a tail behind, SQLite only starts
   a log over once all of it is copied, and the log would grow until the backstop below. With
   it, the next writer starts the log over, and writers wait for the copy of a few pages and
   its syncs instead of for the whole checkpoint.

Its connection syncs as the request connections do (``synchronous=FULL``): the log is synced
before a copy and the database file after it, as an inline checkpoint would. Checkpoints of
several processes at once are safe: SQLite lets one run and the others return at once.

The request connections of an engine with a checkpointer checkpoint by themselves only past
:data:`BACKSTOP_PAGES` (db.autocheckpoint_pages): a checkpointer that stopped or falls
behind delays checkpoints, it cannot let the log grow without bound.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time

from sqlalchemy.engine import Engine

from gateway.storage.db import set_autocheckpoint_pages, write_lock

log = logging.getLogger("gateway.storage.checkpoints")

#: past how many log pages the request connections of an engine whose checkpoints run in the
#: background checkpoint by themselves (about 40 MB of log with 4 KB pages, against SQLite's
#: default db.INLINE_CHECKPOINT_PAGES): only reached when the checkpointer is not keeping up
BACKSTOP_PAGES = 10_000
_KEY = "_gateway_checkpointer"  # attribute of an engine: its Checkpointer in this process


def _running(engine: Engine) -> "Checkpointer | None":
    """This process's checkpointer of ``engine`` (a fork inherits its parent's, not its thread)."""
    checkpointer = engine.__dict__.get(_KEY)
    return checkpointer if checkpointer is not None and checkpointer.pid == os.getpid() else None


class Checkpointer:
    """The background checkpoints of one SQLite database file in one process."""

    def __init__(self, path: str, interval: float, lock=None):
        self.path, self.interval = path, interval
        #: the engine's write lock (step 2); None: a database nobody else writes through it
        self.lock = lock if lock is not None else contextlib.nullcontext()
        #: the longest step 2 so far, in seconds: how long writers waited for a checkpoint
        self.longest_hold = 0.0
        self._seen = 0  # the log's pages after the last round: unchanged, nothing to do
        self.pid = os.getpid()
        #: checkpoints run and pages they copied (the tests read them)
        self.rounds = self.pages = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gateway-checkpoints",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def checkpoint(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, pages in the log, pages copied from it)."""
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.rounds += 1
        self.pages += max(copied, 0)
        return busy, frames, copied

    def round(self, conn: sqlite3.Connection) -> None:
        """Steps 1 and 2 (the module's docstring), when the log changed since the last round."""
        busy, frames, copied = self.checkpoint(conn)
        if frames <= 0 or (frames == self._seen and copied == frames):
            return
        started = time.perf_counter()
        with self.lock:
            _busy, frames, _copied = self.checkpoint(conn)
        self.longest_hold = max(self.longest_hold, time.perf_counter() - started)
        self._seen = frames

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        # the syncs of a checkpoint follow its connection's setting: FULL, as every writer's
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _loop(self) -> None:
        conn = None
        while not self._stop.wait(self.interval):
            try:
                if conn is None:
                    conn = self._connect()
                self.round(conn)
            except sqlite3.Error:  # the file is away or locked up: the next round tries again
                log.exception("WAL checkpoint failed; request COMMITs checkpoint past %d pages",
                              BACKSTOP_PAGES)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


def checkpoint_in_background(engine: Engine, interval: float) -> Checkpointer | None:
    """Start this process's checkpointer of ``engine``'s SQLite file (once per engine); None
    for PostgreSQL, an in-memory database or ``interval`` 0 (COMMITs checkpoint, as SQLite
    does by default). Call it before the engine's first connection: connections opened before
    keep checkpointing at SQLite's default (safe, only slower)."""
    database = engine.url.database
    if interval <= 0 or engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    running = _running(engine)
    if running is not None:
        return running
    checkpointer = engine.__dict__[_KEY] = Checkpointer(database, interval, write_lock(engine))
    set_autocheckpoint_pages(engine, BACKSTOP_PAGES)
    checkpointer.start()
    return checkpointer
