"""Group commit: the write transactions of a process's concurrent requests share one COMMIT.

Why (docs/performance.md, «Group commit»): on SQLite every envelope held the database's single
write lock for its own BEGIN IMMEDIATE, statements and COMMIT with its fsync, one envelope at a
time across all workers. Here the requests of one process that arrive while a commit is under
way wait for it to end; the oldest of them (the leader) then takes the lock once, runs each
request's writes in one transaction, in arrival order, and commits them all with one fsync.
A waiting request is woken once: when its outcome is known, or when it is to lead.
Each request learns its own outcome only after that COMMIT returned, so a receipt still leaves
only once its message is on disk; a SIGKILL during the batch loses the whole uncommitted batch
and no receipt of it was sent.

No thread of its own: the leader is a request thread, and a lone request (a sync worker, a
quiet moment) commits at once, without waiting for company. A batch first runs without
savepoints. When a request of it fails (a MessageID a racing worker stored, a transition
another envelope of the same batch already made), that transaction is rolled back whole and
the batch runs again with a SAVEPOINT per request: the failing one is rolled back to its
savepoint and gets its own exception, exactly as if it had run alone after the ones before it;
the others commit. A failed COMMIT fails every request of the batch.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from typing import Callable, TypeVar

from sqlalchemy.engine import Connection, Engine

from gateway.storage import journal
from gateway.storage.db import KeptConnection, gathered, keeps_connections, write_transaction

T = TypeVar("T")

#: most requests one COMMIT carries; a longer queue is served by the next leader
MAX_BATCH = 64


class _Request:
    __slots__ = ("work", "result", "error", "done", "_turn")

    def __init__(self, work: Callable[[Connection], object]):
        self.work, self.result, self.error, self.done = work, None, None, False
        self._turn = None

    def will_wait(self) -> None:
        """Made ready to wait (before it is queued behind a leader): a lock held until the
        leader hands this request its turn. A request that leads at once needs none."""
        self._turn = threading.Lock()
        self._turn.acquire()

    def wait_turn(self) -> None:
        """Block until :meth:`give_turn`: the outcome is known, or this request leads next."""
        self._turn.acquire()

    def give_turn(self) -> None:
        self._turn.release()


class GroupCommit:
    """One per engine and process: ``run(work)`` is ``with write_transaction(engine) as conn:
    return work(conn)``, shared with whichever concurrent requests queued meanwhile."""

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH, nice: int = 0,
                 first: bool = False):
        self.engine, self.max_batch = engine, max_batch
        #: the leader's scheduling priority while it commits (GATEWAY_COMMIT_NICE; 0: as is)
        self.nice = nice
        #: the writing threads under SCHED_BATCH, the leader under SCHED_OTHER while it commits
        #: (GATEWAY_COMMIT_FIRST; :class:`_first`)
        self.first = first
        #: SQLite: the leaders' one connection (one leader at a time), kept between batches
        self._kept = KeptConnection(engine) if keeps_connections(engine) else None
        self._queue: list[_Request] = []
        self._leading = False
        self._mutex = threading.Lock()  # the queue and who leads
        #: batches committed and the requests in them (read by the tests)
        self.batches = self.requests = 0

    def run(self, work: Callable[[Connection], T]) -> T:
        if self.first:
            _first.enlist()
        request = _Request(work)
        with self._mutex:
            self._queue.append(request)
            leads = not self._leading  # nobody leads: the queue was empty, this one is its head
            if not leads:
                request.will_wait()
            self._leading = True
        if not leads:
            request.wait_turn()
            if request.done:
                return _outcome(request)
        # this request heads the queue: it leads the oldest batch, which holds it
        with self._mutex:
            batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
        try:
            with _first(self.first), _priority(self.nice):  # both nothing when off
                self._commit(batch)
        finally:
            with self._mutex:
                for done in batch:
                    done.done = True
                self.batches += 1
                self.requests += len(batch)
                following = self._queue[0] if self._queue else None
                self._leading = following is not None  # else the next request leads at once
            # each waiter is woken once, when its outcome is known or when it leads; waking
            # them all after every batch cost each a futex wake and a GIL wait for nothing.
            # The next leader first: the write path is what the others queue for.
            if following is not None:
                following.give_turn()
            for done in batch:
                if done is not request:
                    done.give_turn()
        return _outcome(request)

    def _commit(self, batch: list[_Request]) -> None:
        if len(batch) > 1 and self._together(batch):
            return
        try:
            with write_transaction(self.engine, self._kept) as conn, self._right_of_way(batch):
                if len(batch) == 1:
                    batch[0].result = batch[0].work(conn)
                    return
                for request in batch:
                    savepoint = conn.begin_nested()
                    try:
                        request.result = request.work(conn)
                    except Exception as exc:  # this request's own failure: the others go on
                        savepoint.rollback()
                        request.error = exc
                    else:
                        savepoint.commit()
        except BaseException as exc:  # BEGIN or COMMIT failed: no request of the batch is stored
            _fail_all(batch, exc)

    def _right_of_way(self, batch: list[_Request]):
        """SQLite, a batch of several: the process's request threads hold at their next stage
        while this leader runs the batch's statements (:class:`_Gate`); entered after BEGIN and
        left before COMMIT, so they wait neither for another process's lock nor for the fsync.
        A lone request (a quiet moment, a sync worker) has nobody to make way for it."""
        return gate if self._kept is not None and len(batch) > 1 else contextlib.nullcontext()

    def _together(self, batch: list[_Request]) -> bool:
        """The whole batch in one transaction without savepoints: True when that settled it
        (committed, or BEGIN/COMMIT failed for all). False when one request's work failed: the
        transaction was rolled back, nothing of the batch is stored, and the caller runs it
        again with a savepoint per request, so each outcome is as if it ran alone.

        Why first without: a savepoint and its release are two more statements per request,
        and under load each statement of the leader is a wait for the GIL while it holds the
        write lock (docs/performance.md, «The leader's statements»). A request fails rarely (a
        MessageID a racing worker stored, a transition another envelope of the batch made);
        running such a batch twice costs less than savepoints in every batch.

        The rows nothing reads back in the batch (transitions' records, webhook events, queue
        items) are gathered and written once for the whole batch at its end
        (:func:`gateway.storage.db.gathered`); a constraint one of them breaks counts as a
        request's failure, so the savepoint run finds which. The journal's entries are
        gathered too (:func:`gateway.storage.journal.gathered`)."""
        try:
            with write_transaction(self.engine, self._kept) as conn, self._right_of_way(batch), \
                    journal.gathered(conn), gathered(conn) as flush:
                for request in batch:
                    try:
                        request.result = request.work(conn)
                    except Exception as exc:
                        raise _WorkFailed from exc
                try:  # the gathered rows: a constraint one of them breaks is a request's failure
                    flush()
                except Exception as exc:
                    raise _WorkFailed from exc
        except _WorkFailed:
            for request in batch:
                request.result = None
            return False
        except BaseException as exc:  # BEGIN or COMMIT failed: no request of the batch is stored
            _fail_all(batch, exc)
        return True


def _fail_all(batch: list[_Request], exc: BaseException) -> None:
    """``exc`` (a failed BEGIN or COMMIT) is the outcome of every request of the batch that has
    none of its own yet; KeyboardInterrupt and SystemExit are raised again after: the waiters
    hear of it too, then the leader stops."""
    for request in batch:
        if request.error is None:
            request.error, request.result = exc, None
    if not isinstance(exc, Exception):
        raise exc


class _Gate:
    """The leader's right of way on SQLite: while it is closed, request threads wait at their
    next stage boundary (``gateway/pipeline/sequence.py`` calls :meth:`wait` before each stage).

    Why: SQLite has one write lock for every worker of a node, and the leader holds it while it
    runs the batch's statements. The driver lets go of the GIL around each statement; the
    leader then waits to get it back from a request thread that is parsing or verifying. Under
    load that made the lock's hold several times the leader's own work (docs/performance.md,
    «The leader's right of way»). A thread held at the gate has finished a stage and holds no
    lock: it goes on when the leader opens the gate, before its COMMIT, or after
    :data:`MOST_HELD` at the latest. Not on PostgreSQL: there a statement is a round trip to
    the server, and the request threads' work in that time is worth more than the leader's
    GIL waits (measured: fewer envelopes per second with it)."""

    def __init__(self):
        self._open = threading.Event()
        self._open.set()
        #: the Event's state as a plain attribute: a stage boundary reads it without a call
        #: (``if not gate.open: gate.wait()``, a dozen times a request)
        self.open = True
        self._leaders = 0  # leaders (of several engines) inside the gate now
        self._count = threading.Lock()

    def wait(self) -> None:
        """Return at once when open; else when the leader opens it (or after MOST_HELD)."""
        if not self._open.is_set():
            self._open.wait(MOST_HELD)

    def __enter__(self):
        with self._count:
            self._leaders += 1
            self.open = False
            self._open.clear()
        return self

    def __exit__(self, *exc):
        with self._count:
            self._leaders -= 1
            if not self._leaders:
                self.open = True
                self._open.set()


#: seconds a request thread waits at a closed gate at most (a batch's statements take ~1 ms)
MOST_HELD = 0.05

#: the process's one gate (``gateway/pipeline/sequence.py`` waits at it between stages)
gate = _Gate()


class _WorkFailed(Exception):
    """A request's work failed in :meth:`GroupCommit._together` (its cause is that failure)."""


_log = logging.getLogger(__name__)
_NOT_PERMITTED: set = set()  # nice values (and "first") the OS refused: warned once each


class _first:
    """The leader ahead of the request threads while it commits, with no privilege needed.

    A thread that writes through a group commit is put under Linux's SCHED_BATCH policy once
    (``enlist``): the same share of the CPU, but its wake-ups do not preempt a running thread.
    The leader goes back to SCHED_OTHER for its commit, so when it wakes (from a statement, an
    fsync, a GIL wait) it preempts a request thread instead of waiting for the end of its time
    slice, while every other writer of every worker waits for its lock. Why: measured in
    docs/performance.md, «The leader's statements» (SQLite +1 to +17 % in eight interleaved
    pairs; PostgreSQL unchanged). Any unprivileged thread may switch between the two policies
    (sched(7)). A thread under another policy (a real-time one an operator chose) is left as
    it is; where the system refuses, one warning, and the threads keep their policy."""

    _marked = threading.local()

    def __init__(self, on: bool):
        self.on, self.thread = on and getattr(self._marked, "batch", False), 0

    @classmethod
    def enlist(cls) -> None:
        """This thread under SCHED_BATCH, once (when it runs under SCHED_OTHER, or under
        SCHED_BATCH already: a new thread inherits the policy of the thread that made it)."""
        if getattr(cls._marked, "seen", False):
            return
        cls._marked.seen = True
        if "first" in _NOT_PERMITTED:
            return
        if not sys.platform.startswith("linux"):  # nothing changes elsewhere (docs/configuration.md)
            return
        thread = threading.get_native_id()
        try:
            if os.sched_getscheduler(thread) in (os.SCHED_OTHER, os.SCHED_BATCH):
                os.sched_setscheduler(thread, os.SCHED_BATCH, os.sched_param(0))
                cls._marked.batch = True
        except OSError as exc:
            _refused_first(str(exc))

    def __enter__(self):
        if self.on:
            self.thread = threading.get_native_id()
            try:
                os.sched_setscheduler(self.thread, os.SCHED_OTHER, os.sched_param(0))
            except OSError as exc:
                self.on = False
                _refused_first(str(exc))
        return self

    def __exit__(self, *exc):
        if self.on:
            os.sched_setscheduler(self.thread, os.SCHED_BATCH, os.sched_param(0))


def _warn_once(key, message: str, *args) -> None:
    """Log ``message`` the first time ``key`` (a refused setting) is refused in this process."""
    if key not in _NOT_PERMITTED:
        _NOT_PERMITTED.add(key)
        _log.warning(message, *args)


def _refused_first(why: str) -> None:
    _warn_once("first", "GATEWAY_COMMIT_FIRST is not applied (%s): the threads keep their "
               "scheduling policy", why)


class _priority:
    """The calling thread at scheduling priority ``nice`` (below 0: ahead of the others) for
    the block, then back to its own. Why: on SQLite the leader holds the database's one write
    lock while it commits, and every other writer of every worker waits for it; on a busy
    machine the kernel's fair share descheduled it in the middle of the batch
    (docs/performance.md, «The leader's statements»: at -10 SQLite answered 4-15 % more).

    Linux sets the nice value per thread. Going below 0 needs CAP_SYS_NICE or an RLIMIT_NICE
    that allows it (systemd ``LimitNICE=``, ``ulimit -e``); when refused, the gateway warns once
    and commits at its normal priority."""

    def __init__(self, nice: int):
        self.nice, self.thread, self.before = nice, 0, None

    def __enter__(self):
        if not self.nice or self.nice in _NOT_PERMITTED:
            return self
        if not sys.platform.startswith("linux"):  # elsewhere it would renice the process
            _refused(self.nice, "per-thread priorities are Linux's")
            return self
        self.thread = threading.get_native_id()
        try:
            before = os.getpriority(os.PRIO_PROCESS, self.thread)
            if self.nice >= before:  # already at least that far ahead: never lower it
                return self
            os.setpriority(os.PRIO_PROCESS, self.thread, self.nice)
            self.before = before
        except OSError as exc:
            _refused(self.nice, str(exc))
        return self

    def __exit__(self, *exc):
        if self.before is not None:
            os.setpriority(os.PRIO_PROCESS, self.thread, self.before)


def _refused(nice: int, why: str) -> None:
    _warn_once(nice, "GATEWAY_COMMIT_NICE=%d is not applied (%s): group commits run at the "
               "normal priority (grant CAP_SYS_NICE or raise RLIMIT_NICE)", nice, why)


def _outcome(request: _Request):
    if request.error is not None:
        raise request.error
    return request.result


_GROUP = "_gateway_group_commit"  # attribute of the engine: its GroupCommit
_GROUPS_LOCK = threading.Lock()


def group_commit(engine: Engine) -> GroupCommit:
    """The process's GroupCommit of ``engine``. Kept on the engine itself: a global mapping
    from engines to their GroupCommit (which holds the engine and a connection) would keep
    every engine a process ever made, with its open connections, alive."""
    group = engine.__dict__.get(_GROUP)
    if group is None:
        with _GROUPS_LOCK:
            group = engine.__dict__.get(_GROUP)
            if group is None:
                group = engine.__dict__[_GROUP] = GroupCommit(engine)
    return group
