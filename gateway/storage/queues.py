"""Delivery queues with at-least-once semantics, shared by every worker and node.

An item is *taken* by GetRequest/GetResponse/GetStatus: it becomes invisible for
``visibility_timeout`` and is delivered again after that unless acknowledged. Taking is atomic
across processes: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the write
transaction itself is exclusive (``BEGIN IMMEDIATE`` behind a cross-process lock).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection

from gateway.storage.db import FastStatement, flush_gathered
from gateway.storage.schema import queue_items

QUEUED, TAKEN, ACKED, DEAD = "queued", "taken", "acked", "dead"


@dataclasses.dataclass(frozen=True)
class QueueItem:
    id: int
    message_id: str
    kind: str
    recipient: str
    namespace_uri: str
    root_element: str
    body: bytes
    deliveries: int
    related_message_id: str | None


@dataclasses.dataclass(frozen=True)
class Selector:
    """What a taker asks for: its own queue of one kind, optionally one business type/node."""

    recipient: str
    kind: str
    namespace_uri: str | None = None
    root_element: str | None = None
    node_id: str | None = None


_INSERT = FastStatement(queue_items, ("message_id", "kind", "recipient", "node_id", "namespace_uri",
                                      "root_element", "body", "state", "visible_at", "deliveries",
                                      "eol", "created_at", "acked_at", "related_message_id"),
                        gatherable=True)  # the reads below flush first


def enqueue(conn: Connection, *, message_id: str, kind: str, recipient: str, namespace_uri: str,
            root_element: str, body: bytes, now: datetime, node_id: str | None = None,
            eol: datetime | None = None, related_message_id: str | None = None) -> None:
    _INSERT.insert(conn, dict(
        message_id=message_id, kind=kind, recipient=recipient, node_id=node_id,
        namespace_uri=namespace_uri, root_element=root_element, body=body, state=QUEUED,
        visible_at=now, deliveries=0, eol=eol, created_at=now, acked_at=None,
        related_message_id=related_message_id))


def pending(conn: Connection, recipient: str, kind: str | None = None) -> int:
    """Items not yet acknowledged (queued or taken) for ``recipient``."""
    flush_gathered(conn)  # items enqueued earlier in this transaction count too
    query = select(func.count()).select_from(queue_items).where(
        queue_items.c.recipient == recipient, queue_items.c.state.in_((QUEUED, TAKEN)))
    if kind is not None:
        query = query.where(queue_items.c.kind == kind)
    return conn.execute(query).scalar_one()


def statistics(conn: Connection, recipient: str) -> list[tuple[str, str, str, int]]:
    """(kind, namespace, root element, pending count) per business type of requests and
    responses (statuses are not a business type), for queue statistics."""
    flush_gathered(conn)
    rows = conn.execute(
        select(queue_items.c.kind, queue_items.c.namespace_uri, queue_items.c.root_element,
               func.count())
        .where(queue_items.c.recipient == recipient, queue_items.c.kind != "STATUS",
               queue_items.c.state.in_((QUEUED, TAKEN)))
        .group_by(queue_items.c.kind, queue_items.c.namespace_uri, queue_items.c.root_element)
        .order_by(queue_items.c.kind, queue_items.c.namespace_uri, queue_items.c.root_element))
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def take(conn: Connection, selector: Selector, now: datetime, visibility: timedelta,
         max_deliveries: int) -> QueueItem | None:
    """Take the oldest visible item matching ``selector`` (inside the caller's transaction)."""
    flush_gathered(conn)
    c = queue_items.c
    conditions = [c.recipient == selector.recipient, c.kind == selector.kind,
                  c.state.in_((QUEUED, TAKEN)), c.visible_at <= now,
                  or_(c.eol.is_(None), c.eol > now)]
    if selector.namespace_uri is not None:
        conditions.append(c.namespace_uri == selector.namespace_uri)
    if selector.root_element is not None:
        conditions.append(c.root_element == selector.root_element)
    if selector.node_id is not None:
        conditions.append(or_(c.node_id.is_(None), c.node_id == selector.node_id))
    query = select(queue_items).where(and_(*conditions)).order_by(c.visible_at, c.id).limit(1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = conn.execute(query).first()
    if row is None:
        return None
    deliveries = row.deliveries + 1
    conn.execute(update(queue_items).where(c.id == row.id).values(
        state=TAKEN, visible_at=now + visibility, deliveries=deliveries))
    if deliveries > max_deliveries:  # poison message: stop redelivering after this one
        conn.execute(update(queue_items).where(c.id == row.id).values(state=DEAD))
    return QueueItem(row.id, row.message_id, row.kind, row.recipient, row.namespace_uri,
                     row.root_element, row.body, deliveries, row.related_message_id)


_ACK_FIND = select(queue_items.c.id, queue_items.c.state, queue_items.c.kind,
                   queue_items.c.related_message_id) \
    .where(queue_items.c.recipient == bindparam("recipient"),
           queue_items.c.message_id == bindparam("message_id"))


def acknowledge(conn: Connection, recipient: str, message_id: str, accepted: bool,
                now: datetime) -> QueueItem | None:
    """Ack a delivered item. ``accepted=False`` (the recipient rejected the gateway's signature)
    makes it visible again at once for redelivery. Returns None when no such delivered item."""
    flush_gathered(conn)
    rows = conn.execute(_ACK_FIND, {"recipient": recipient, "message_id": message_id}).all()
    taken = [r for r in rows if r.state in (TAKEN, ACKED, DEAD)]
    if not taken:
        return None
    row = taken[0]
    c = queue_items.c
    if row.state == TAKEN:
        if accepted:
            conn.execute(update(queue_items).where(c.id == row.id)
                         .values(state=ACKED, acked_at=now))
        else:
            conn.execute(update(queue_items).where(c.id == row.id)
                         .values(state=QUEUED, visible_at=now))
    return QueueItem(row.id, message_id, row.kind, recipient, "", "", b"", 0, row.related_message_id)


def set_body(conn: Connection, item_id: int, body: bytes) -> None:
    """Replace an item's stored body (a built-in answer, signed when first taken)."""
    conn.execute(update(queue_items).where(queue_items.c.id == item_id).values(body=body))
