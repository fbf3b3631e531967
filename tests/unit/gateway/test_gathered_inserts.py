"""Gathered INSERTs (gateway/storage/db.py ``gathered``) on the database GATEWAY_TEST_DB
selects: inside a group commit's batch, the rows nothing reads back (queue items, webhook
events, transitions' records) are written once for the whole batch, in the order they came;
a read of their table sees them; a block that raised writes none; a row that breaks a
constraint fails its own request only."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from gateway.storage import queues, webhooks
from gateway.storage.db import flush_gathered, gathered, write_transaction
from gateway.storage.group_commit import GroupCommit
from support import batch_behind_a_slow_commit
from gateway.storage.schema import queue_items, webhook_events
from gateway.storage.webhooks import NewEvent

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(fresh_engine):
    return fresh_engine


@pytest.fixture
def inserts(monkeypatch):
    """(table, rows) for every INSERT of queue items or webhook events sent to the database
    (they run on the DBAPI cursor, past SQLAlchemy's events): a call that a gathered block
    holds back sends nothing."""
    sent: list[tuple[str, int]] = []
    cls = type(queues._INSERT)

    def spying(name):
        original = getattr(cls, name)

        def spy(self, conn, rows):
            held = self.gatherable and conn.info.get("gateway_gathered_inserts") is not None
            if not held and self.table.name in ("queue_items", "webhook_events"):
                sent.append((self.table.name, len(rows) if name == "insert_many" else 1))
            return original(self, conn, rows)
        return spy

    monkeypatch.setattr(cls, "insert", spying("insert"))
    monkeypatch.setattr(cls, "insert_many", spying("insert_many"))
    return sent


def _enqueue(conn, message_id: str, recipient: str = "TAXOFFICE") -> None:
    queues.enqueue(conn, message_id=message_id, kind="REQUEST", recipient=recipient,
                   namespace_uri="urn:x", root_element="X", body=b"<x/>", now=NOW)


def _event(event_id: str) -> NewEvent:
    return NewEvent(event_id=event_id, type="application.created", ordering_key="application:1",
                    created_at=NOW, organisation_inn="7702123454",
                    payload={"application_id": 1})


def _queued(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(queue_items.c.message_id).order_by(queue_items.c.id))
                    .scalars())


def test_rows_wait_for_the_blocks_end_and_keep_their_order(engine, inserts):
    with write_transaction(engine) as conn, gathered(conn):
        _enqueue(conn, "m1")
        webhooks.add_events(conn, [_event("e1"), _event("e2")])
        _enqueue(conn, "m2")
        assert inserts == []                               # nothing written yet
    assert sorted(inserts) == [("queue_items", 2), ("webhook_events", 2)]  # one INSERT each
    assert _queued(engine) == ["m1", "m2"]
    with engine.connect() as conn:
        assert list(conn.execute(select(webhook_events.c.event_id)
                                 .order_by(webhook_events.c.id)).scalars()) == ["e1", "e2"]


def test_outside_a_block_rows_are_written_at_once(engine, inserts):
    with write_transaction(engine) as conn:
        _enqueue(conn, "m1")
        assert inserts == [("queue_items", 1)]
        flush_gathered(conn)                                # nothing held: nothing to do
    assert _queued(engine) == ["m1"]


def test_a_read_of_the_queue_sees_the_items_held_back(engine):
    """The queue's depth check (DestinationOverflow) counts the items an earlier request of
    the same batch enqueued."""
    with write_transaction(engine) as conn, gathered(conn):
        _enqueue(conn, "m1")
        _enqueue(conn, "m2")
        assert queues.pending(conn, "TAXOFFICE") == 2
        _enqueue(conn, "m3")
    assert _queued(engine) == ["m1", "m2", "m3"]


def test_a_block_that_raised_writes_nothing(engine):
    with pytest.raises(ZeroDivisionError):
        with write_transaction(engine) as conn, gathered(conn):
            _enqueue(conn, "m1")
            1 / 0
    assert _queued(engine) == []
    with write_transaction(engine) as conn:                 # the connection is clean again
        assert "gateway_gathered_inserts" not in conn.info
        _enqueue(conn, "m2")
    assert _queued(engine) == ["m2"]


def test_refused_inside_a_savepoint_or_another_block(engine):
    with write_transaction(engine) as conn, gathered(conn):
        savepoint = conn.begin_nested()
        with pytest.raises(RuntimeError, match="savepoint"):
            _enqueue(conn, "m1")
        savepoint.rollback()
        with pytest.raises(RuntimeError, match="inside another"):
            with gathered(conn):
                pass


def _sends(name: str, event_id: str):
    def work(conn):
        _enqueue(conn, name)
        webhooks.add_events(conn, [_event(event_id)])
        return name
    return work


def test_a_batch_writes_each_table_once(engine, inserts):
    group = GroupCommit(engine)
    outcomes = batch_behind_a_slow_commit(group, [_sends(f"m{i}", f"e{i}") for i in range(5)])
    assert outcomes == {i: f"m{i}" for i in range(5)}
    # the leader's lone first commit, then the four behind it in one batch: one INSERT a table
    assert sorted(inserts) == [("queue_items", 1), ("queue_items", 4),
                               ("webhook_events", 1), ("webhook_events", 4)]
    assert _queued(engine) == [f"m{i}" for i in range(5)]


def test_a_gathered_row_that_breaks_a_constraint_fails_its_request_only(engine):
    """webhook_events.event_id is unique: the third request repeats the second's event id. The
    batch's gathered INSERT fails, the batch runs again with a savepoint per request, and only
    the third request fails."""
    group = GroupCommit(engine)
    works = [_sends("m0", "e0"), _sends("m1", "e1"), _sends("m2", "e2"), _sends("m3", "e2"),
             _sends("m4", "e4")]
    outcomes = batch_behind_a_slow_commit(group, works)
    assert [outcomes[i] for i in (0, 1, 2, 4)] == ["m0", "m1", "m2", "m4"]
    assert isinstance(outcomes[3], Exception)
    assert _queued(engine) == ["m0", "m1", "m2", "m4"]
