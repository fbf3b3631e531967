"""A group commit's journal entries gathered into one append at the end of its batch
(gateway/storage/journal.py ``gathered``), on the database GATEWAY_TEST_DB selects: the chain
is taken once, late, and the entries keep the order their requests came in; nothing of a
request that failed, or of a block that raised, reaches the chain."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from gateway.storage import journal
from gateway.storage.db import write_transaction
from gateway.storage.group_commit import GroupCommit
from gateway.storage.schema import journal as table


@pytest.fixture
def engine(fresh_engine):
    return fresh_engine


@pytest.fixture
def head_reads(monkeypatch):
    """Each read of the chain's head (``_HEAD`` runs on the DBAPI cursor, past SQLAlchemy's
    events, so it is counted here)."""
    reads = []
    statement = journal._HEAD

    class Counting:
        def first(self, conn, params):
            reads.append(conn)
            return statement.first(conn, params)
    monkeypatch.setattr(journal, "_HEAD", Counting())
    return reads


def _entry(name: str) -> journal.Entry:
    return journal.Entry(at=datetime.now(timezone.utc), message_id=name, direction="IN",
                         event="request-accepted", detail={"name": name}, content=name.encode())


def _stored(engine) -> list[str]:
    with engine.connect() as conn:
        assert journal.verify_chain(conn).intact
        return list(conn.execute(select(table.c.message_id).order_by(table.c.id)).scalars())


def test_a_gathered_block_appends_once_at_its_end_in_order(engine, head_reads):
    with write_transaction(engine) as conn, journal.gathered(conn):
        assert journal.append_many(conn, [_entry("a"), _entry("b")]) is None
        assert journal.append_many(conn, [_entry("c")]) is None
        assert head_reads == []                          # nothing appended yet
    assert len(head_reads) == 1
    assert _stored(engine) == ["a", "b", "c"]
    with write_transaction(engine) as conn:              # outside a block: at once, as before
        assert journal.append_many(conn, [_entry("d")]) is not None
    assert _stored(engine) == ["a", "b", "c", "d"]


def test_a_block_that_raised_appends_nothing(engine):
    with pytest.raises(LookupError):
        with write_transaction(engine) as conn, journal.gathered(conn):
            journal.append_many(conn, [_entry("a")])
            raise LookupError("a request failed")
    assert _stored(engine) == []
    with write_transaction(engine) as conn:              # the connection is not left gathering
        journal.append_many(conn, [_entry("b")])
    assert _stored(engine) == ["b"]


def test_an_append_inside_a_savepoint_of_a_gathered_block_is_refused(engine):
    with pytest.raises(RuntimeError, match="savepoint"):
        with write_transaction(engine) as conn, journal.gathered(conn):
            savepoint = conn.begin_nested()
            journal.append_many(conn, [_entry("a")])
            savepoint.commit()
    assert _stored(engine) == []


def _appending(name: str, fail: bool = False):
    def work(conn):
        journal.append_many(conn, [_entry(name), _entry(name + "-receipt")])
        if fail:
            raise LookupError(name)
        return name
    return work


def test_a_batch_appends_its_entries_in_request_order_and_none_of_a_failed_one(engine,
                                                                               head_reads):
    """The batch behind a slow lone commit: first without savepoints (gathered, but one request
    fails, so it is rolled back), then again with a savepoint per request (appended as they
    come). Then a clean batch: gathered, one head read for all of it."""
    group = GroupCommit(engine)
    release = threading.Event()

    def slow(conn):
        journal.append_many(conn, [_entry("lone")])
        release.wait(10)
        return "lone"

    def run_batch(works):
        outcomes = {}

        def call(index, work):
            try:
                outcomes[index] = group.run(work)
            except Exception as exc:  # noqa: BLE001 - the outcome under test
                outcomes[index] = exc
        release.clear()
        leader = threading.Thread(target=call, args=(-1, slow))
        leader.start()
        while not group._leading:
            time.sleep(0.001)
        others = [threading.Thread(target=call, args=(i, w)) for i, w in enumerate(works)]
        for thread in others:
            thread.start()
        while len(group._queue) < len(works):
            time.sleep(0.001)
        release.set()
        for thread in [leader, *others]:
            thread.join(10)
        return outcomes

    outcomes = run_batch([_appending("m1"), _appending("m2", fail=True), _appending("m3")])
    assert outcomes[0] == "m1" and outcomes[2] == "m3"
    assert isinstance(outcomes[1], LookupError)
    assert _stored(engine) == ["lone", "m1", "m1-receipt", "m3", "m3-receipt"]
    head_reads.clear()
    outcomes = run_batch([_appending(f"n{i}") for i in range(4)])
    assert outcomes == {-1: "lone", **{i: f"n{i}" for i in range(4)}}
    assert len(head_reads) == 2                          # the lone commit, then the batch once
    assert _stored(engine)[5:] == ["lone"] + [x for i in range(4)
                                              for x in (f"n{i}", f"n{i}-receipt")]
