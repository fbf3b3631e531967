"""Repository of the outbox: register writes stored with the decision that needs them.

A row is written in the request's transaction with ``next_attempt_at`` one lease ahead: the
process that committed it carries it out at once, and only if that process dies (or the register
is down) does a dispatcher take it over once the lease has run out. Taking a row over moves its
lease forward in a transaction of its own, so two dispatchers never run it at the same time."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from gateway.storage.db import write_transaction
from gateway.storage.schema import outbox

PENDING, DONE, DEAD = "pending", "done", "dead"


@dataclasses.dataclass(frozen=True)
class Item:
    id: int
    idempotency_key: str
    message_id: str
    action: str
    args: dict
    attempts: int


def _item(row) -> Item:
    return Item(row.id, row.idempotency_key, row.message_id, row.action, json.loads(row.args),
                row.attempts)


_INSERT = insert(outbox)


def add(conn: Connection, message_id: str, writes: list[tuple[str, dict]], now: datetime,
        lease: timedelta) -> list[int]:
    """Store ``writes`` ((action, args), in order) for ``message_id``; their row ids."""
    ids = []
    for n, (action, args) in enumerate(writes, 1):
        ids.append(conn.execute(_INSERT.returning(outbox.c.id), dict(
            idempotency_key=f"{message_id}/{n}", message_id=message_id, action=action,
            args=json.dumps(args, ensure_ascii=False, sort_keys=True, default=str),
            state=PENDING, attempts=0, next_attempt_at=now + lease, created_at=now,
            done_at=None, last_error=None)).scalar_one())
    return ids


def get(engine: Engine, ids: list[int]) -> list[Item]:
    with engine.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids), outbox.c.state == PENDING)
                            .order_by(outbox.c.id)).all()
    return [_item(r) for r in rows]


def due_count(engine: Engine, now: datetime) -> int:
    """Pending rows whose lease has run out (a cheap read before claiming anything)."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(outbox).where(
            outbox.c.state == PENDING, outbox.c.next_attempt_at <= now)).scalar_one()


def claim(engine: Engine, now: datetime, lease: timedelta, limit: int = 20) -> list[Item]:
    """Take over up to ``limit`` due rows: their lease moves to ``now + lease``."""
    with write_transaction(engine) as conn:
        query = select(outbox).where(and_(outbox.c.state == PENDING,
                                          outbox.c.next_attempt_at <= now)) \
            .order_by(outbox.c.id).limit(limit)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        if rows:
            conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows]))
                         .values(next_attempt_at=now + lease))
    return [_item(r) for r in rows]


def finish(engine: Engine, item_id: int, now: datetime) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(outbox).where(outbox.c.id == item_id)
                     .values(state=DONE, done_at=now, attempts=outbox.c.attempts + 1))


def retry(engine: Engine, item_id: int, at: datetime, error: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(outbox).where(outbox.c.id == item_id).values(
            next_attempt_at=at, attempts=outbox.c.attempts + 1, last_error=error[:1000]))


def bury(engine: Engine, item_id: int, now: datetime, error: str) -> None:
    """Give up on a row (the register refused it): kept, with the reason, for an operator."""
    with write_transaction(engine) as conn:
        conn.execute(update(outbox).where(outbox.c.id == item_id).values(
            state=DEAD, done_at=now, attempts=outbox.c.attempts + 1, last_error=error[:1000]))


def states(engine: Engine, message_id: str | None = None) -> list[tuple[str, str, str, int]]:
    """(idempotency key, action, state, attempts) of every row (of one message), in order."""
    query = select(outbox.c.idempotency_key, outbox.c.action, outbox.c.state, outbox.c.attempts) \
        .order_by(outbox.c.id)
    if message_id is not None:
        query = query.where(outbox.c.message_id == message_id)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def last_errors(engine: Engine, message_id: str) -> list[str | None]:
    """Why each row of ``message_id`` is not done yet (or was buried), in order."""
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(outbox.c.last_error)
                                           .where(outbox.c.message_id == message_id)
                                           .order_by(outbox.c.id))]
