"""What /metrics reports about the backlog, read at scrape time (not counted per request, so it
is right however many processes serve): undelivered queue items by kind and the age of the
oldest, pending register writes, pending webhook deliveries and the age of the oldest."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from gateway.storage.schema import outbox, queue_items, webhook_deliveries


@dataclasses.dataclass(frozen=True)
class Backlog:
    queued: dict[str, int]  # queue item kind (REQUEST, RESPONSE, STATUS) -> undelivered items
    oldest_queued_age: float  # seconds; 0 when none
    outbox_pending: int
    webhooks_pending: int
    oldest_webhook_age: float  # seconds; 0 when none


def _age(now: datetime, then: datetime | None) -> float:
    if then is None:
        return 0.0
    then = then if then.tzinfo else then.replace(tzinfo=timezone.utc)
    return max(0.0, (now - then).total_seconds())


def backlog(engine: Engine, now: datetime) -> Backlog:
    q, w = queue_items.c, webhook_deliveries.c
    with engine.connect() as conn:
        queued = {kind: count for kind, count in conn.execute(
            select(q.kind, func.count()).where(q.state.in_(("queued", "taken"))).group_by(q.kind))}
        oldest = conn.execute(select(func.min(q.created_at))
                              .where(q.state.in_(("queued", "taken")))).scalar()
        pending = conn.execute(select(func.count()).select_from(outbox)
                               .where(outbox.c.state == "pending")).scalar_one()
        hooks, oldest_hook = conn.execute(select(func.count(), func.min(w.created_at))
                                          .where(w.state == "pending")).one()
    return Backlog(queued, _age(now, oldest), pending, hooks, _age(now, oldest_hook))
