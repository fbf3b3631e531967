"""Read-only checks of what a crash could have doubled or lost, for the chaos, two-node and
soak runs (gateway/ops/chaos.py): stored receipts, applications per message, queue items per
message, queue states; and which PostgreSQL server processes serve a run (``make bench``).
Nothing on the request path uses them."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from gateway.storage.schema import applications, messages, queue_items


def stored_receipts(engine: Engine, message_ids: list[str]) -> dict[str, bytes]:
    """MessageID -> the receipt bytes stored with it, for those of ``message_ids`` stored."""
    found: dict[str, bytes] = {}
    with engine.connect() as conn:
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start:start + 500]
            for row in conn.execute(select(messages.c.message_id, messages.c.receipt)
                                    .where(messages.c.message_id.in_(chunk))):
                found[row.message_id] = bytes(row.receipt)
    return found


def messages_with_several_applications(engine: Engine) -> list[tuple[str, int]]:
    """(MessageID, count) of every message that opened more than one application: a state
    change applied twice."""
    query = (select(messages.c.message_id, func.count(applications.c.id))
             .join(applications, applications.c.message_pk == messages.c.id)
             .group_by(messages.c.message_id).having(func.count(applications.c.id) > 1))
    with engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(query)]


def applications_opened(engine: Engine, message_ids: list[str]) -> int:
    """How many applications the messages ``message_ids`` opened."""
    total = 0
    with engine.connect() as conn:
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start:start + 500]
            total += conn.execute(
                select(func.count(applications.c.id))
                .join(messages, applications.c.message_pk == messages.c.id)
                .where(messages.c.message_id.in_(chunk))).scalar_one()
    return total


def duplicate_queue_items(engine: Engine) -> list[tuple[str, str, str, int]]:
    """(recipient, kind, MessageID, count) queued more than once (ux_queue_message forbids it;
    this proves it held)."""
    c = queue_items.c
    query = (select(c.recipient, c.kind, c.message_id, func.count(c.id))
             .group_by(c.recipient, c.kind, c.message_id).having(func.count(c.id) > 1))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def queue_states(engine: Engine, recipient: str) -> dict[str, int]:
    """state -> number of the recipient's queue items."""
    c = queue_items.c
    with engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(
            select(c.state, func.count(c.id)).where(c.recipient == recipient).group_by(c.state))}


def backend_pids(engine: Engine, application_name: str) -> list[int]:
    """PIDs of the PostgreSQL server processes serving the connections named
    ``application_name``: ``make bench`` adds up their CPU time, the database's own cost per
    envelope (the server runs on the same machine there)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return [row[0] for row in conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": application_name})]
