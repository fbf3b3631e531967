"""Repository of webhooks: subscriptions, events and their deliveries.

Events are inserted in the caller's transaction (the one that applies the state change they
report, gateway/pipeline/persist.py), so an event exists exactly when its change was committed.
A dispatcher then fans each event out into one delivery per matching subscription and claims due
deliveries with a lease, like the register outbox (gateway/storage/outbox.py): claiming moves
``next_attempt_at`` forward in a transaction of its own, so two dispatchers never send the same
delivery at the same time. A delivery waits while an earlier delivery of the same subscription
and ordering key (one application) is still pending: events of an application arrive in order.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from gateway.storage import audit
from gateway.storage.db import FastStatement, write_transaction
from gateway.storage.schema import (information_systems, is_certificates, webhook_deliveries,
                                    webhook_events, webhook_subscriptions)

PENDING, DONE, DEAD = "pending", "done", "dead"


@dataclasses.dataclass(frozen=True)
class NewEvent:
    event_id: str
    type: str
    ordering_key: str
    payload: dict
    created_at: datetime
    organisation_inn: str | None = None  # delivered to the IS registered for this ИНН ...
    mnemonic: str | None = None  # ... or to this IS


@dataclasses.dataclass(frozen=True)
class Subscription:
    id: int
    mnemonic: str
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class Due:
    """A claimed delivery with what sending it needs."""

    id: int
    event_id: str
    type: str
    payload: dict
    event_created_at: datetime
    url: str
    secret: str
    attempts: int
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: int
    mnemonic: str
    event_id: str
    type: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    done_at: datetime | None


def _row(event: NewEvent) -> dict:
    return dict(event_id=event.event_id, type=event.type, organisation_inn=event.organisation_inn,
                mnemonic=event.mnemonic, ordering_key=event.ordering_key[:100],
                payload=json.dumps(event.payload, ensure_ascii=False, sort_keys=True, default=str),
                created_at=event.created_at, fanned_out=False)


#: on the DBAPI cursor: a registration's events are inserted on the request path
_ADD_EVENTS = FastStatement(webhook_events, ("event_id", "type", "organisation_inn", "mnemonic",
                                             "ordering_key", "payload", "created_at",
                                             "fanned_out"), gatherable=True)


def add_events(conn: Connection, events: list[NewEvent]) -> None:
    """Insert ``events`` in the caller's transaction (one statement)."""
    _ADD_EVENTS.insert_many(conn, [_row(e) for e in events])


def add_event_once(engine: Engine, event: NewEvent) -> bool:
    """Insert an event whose id is derived from what it reports (a scan repeated by every
    process); False when it was stored before."""
    with write_transaction(engine) as conn:
        if conn.execute(select(webhook_events.c.id)
                        .where(webhook_events.c.event_id == event.event_id)).first():
            return False
        _ADD_EVENTS.insert_many(conn, [_row(event)])
    return True


# -- subscriptions --------------------------------------------------------------------------

def _subscription(row) -> Subscription:
    return Subscription(row.id, row.mnemonic, row.url, tuple(row.events.split()), row.active,
                        row.created_at)


def add_subscription(engine: Engine, mnemonic: str, url: str, events: list[str], secret: str,
                     now: datetime, actor: str) -> Subscription:
    with write_transaction(engine) as conn:
        new_id = conn.execute(insert(webhook_subscriptions).returning(webhook_subscriptions.c.id),
                              dict(mnemonic=mnemonic, url=url, events=" ".join(events),
                                   secret=secret, active=True, created_at=now)).scalar_one()
        audit.record(conn, now, actor, "webhook-added",
                     {"id": new_id, "mnemonic": mnemonic, "url": url, "events": events})
    return Subscription(new_id, mnemonic, url, tuple(events), True, now)


def subscriptions(engine: Engine, mnemonic: str | None = None,
                  active_only: bool = True) -> list[Subscription]:
    query = select(webhook_subscriptions).order_by(webhook_subscriptions.c.id)
    if mnemonic is not None:
        query = query.where(webhook_subscriptions.c.mnemonic == mnemonic)
    if active_only:
        query = query.where(webhook_subscriptions.c.active.is_(True))
    with engine.connect() as conn:
        return [_subscription(r) for r in conn.execute(query)]


def remove_subscription(engine: Engine, subscription_id: int, now: datetime, actor: str,
                        mnemonic: str | None = None) -> bool:
    """Deactivate a subscription (its deliveries stay listed; pending ones are dead-lettered)."""
    s = webhook_subscriptions.c
    with write_transaction(engine) as conn:
        where = [s.id == subscription_id, s.active.is_(True)]
        if mnemonic is not None:
            where.append(s.mnemonic == mnemonic)
        if conn.execute(update(webhook_subscriptions).where(*where).values(active=False)).rowcount != 1:
            return False
        conn.execute(update(webhook_deliveries).where(
            webhook_deliveries.c.subscription_id == subscription_id,
            webhook_deliveries.c.state == PENDING).values(
            state=DEAD, done_at=now, last_error="subscription removed"))
        audit.record(conn, now, actor, "webhook-removed", {"id": subscription_id})
    return True


# -- the dispatcher -------------------------------------------------------------------------

def fan_out(engine: Engine, now: datetime, max_age: timedelta, limit: int = 200) -> int:
    """Create one delivery per (new event, active subscription of its IS that wants its type);
    how many events were fanned out."""
    e, s = webhook_events.c, webhook_subscriptions.c
    with engine.connect() as conn:  # a cheap read first: no write lock when idle
        if conn.execute(select(e.id).where(e.fanned_out.is_(False)).limit(1)).first() is None:
            return 0
    with write_transaction(engine) as conn:
        query = select(webhook_events).where(e.fanned_out.is_(False)).order_by(e.id).limit(limit)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        events = conn.execute(query).all()
        if not events:
            return 0
        subs = conn.execute(select(webhook_subscriptions, information_systems.c.inn_le)
                            .join(information_systems,
                                  information_systems.c.mnemonic == s.mnemonic)
                            .where(s.active.is_(True))).all()
        rows = []
        for event in events:
            for sub in subs:
                owner = (sub.mnemonic == event.mnemonic if event.mnemonic
                         else event.organisation_inn is not None and sub.inn_le == event.organisation_inn)
                if owner and event.type in sub.events.split():
                    rows.append(dict(event_pk=event.id, subscription_id=sub.id,
                                     ordering_key=event.ordering_key, state=PENDING, attempts=0,
                                     next_attempt_at=now, expires_at=event.created_at + max_age,
                                     created_at=now, done_at=None, last_status=None,
                                     last_error=None))
        if rows:
            conn.execute(insert(webhook_deliveries), rows)
        conn.execute(update(webhook_events).where(e.id.in_([ev.id for ev in events]))
                     .values(fanned_out=True))
    return len(events)


def due_count(engine: Engine, now: datetime) -> int:
    d = webhook_deliveries.c
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(webhook_deliveries).where(
            d.state == PENDING, d.next_attempt_at <= now)).scalar_one()


def claim(engine: Engine, now: datetime, lease: timedelta, limit: int = 20) -> list[Due]:
    """Take up to ``limit`` due deliveries whose earlier deliveries (same subscription and
    ordering key) are all settled; their lease moves to ``now + lease``."""
    d = webhook_deliveries
    earlier = webhook_deliveries.alias("earlier")
    blocked = exists().where(earlier.c.subscription_id == d.c.subscription_id,
                             earlier.c.ordering_key == d.c.ordering_key,
                             earlier.c.state == PENDING, earlier.c.id < d.c.id)
    with write_transaction(engine) as conn:
        query = (select(d.c.id, d.c.attempts, d.c.expires_at, webhook_events.c.event_id,
                        webhook_events.c.type, webhook_events.c.payload,
                        webhook_events.c.created_at.label("event_created_at"),
                        webhook_subscriptions.c.url, webhook_subscriptions.c.secret)
                 .join(webhook_events, webhook_events.c.id == d.c.event_pk)
                 .join(webhook_subscriptions, webhook_subscriptions.c.id == d.c.subscription_id)
                 .where(and_(d.c.state == PENDING, d.c.next_attempt_at <= now, ~blocked))
                 .order_by(d.c.id).limit(limit))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=d, skip_locked=True)
        rows = conn.execute(query).all()
        if rows:
            conn.execute(update(d).where(d.c.id.in_([r.id for r in rows]))
                         .values(next_attempt_at=now + lease))
    return [Due(r.id, r.event_id, r.type, json.loads(r.payload), r.event_created_at, r.url,
                r.secret, r.attempts, r.expires_at) for r in rows]


def finish(engine: Engine, delivery_id: int, now: datetime, status: int) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
                     .values(state=DONE, done_at=now, last_status=status, last_error=None,
                             attempts=webhook_deliveries.c.attempts + 1))


def retry(engine: Engine, delivery_id: int, at: datetime, status: int | None, error: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
                     .values(next_attempt_at=at, last_status=status, last_error=error[:1000],
                             attempts=webhook_deliveries.c.attempts + 1))


def bury(engine: Engine, delivery_id: int, now: datetime, status: int | None, error: str) -> None:
    """Dead-letter a delivery (too old, or too many attempts): kept for listing and replay."""
    with write_transaction(engine) as conn:
        conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
                     .values(state=DEAD, done_at=now, last_status=status, last_error=error[:1000],
                             attempts=webhook_deliveries.c.attempts + 1))


def deliveries(engine: Engine, *, mnemonic: str | None = None, subscription_id: int | None = None,
               state: str | None = None, limit: int = 100) -> list[Delivery]:
    d, e, s = webhook_deliveries.c, webhook_events.c, webhook_subscriptions.c
    query = (select(d.id, d.subscription_id, s.mnemonic, e.event_id, e.type, d.state, d.attempts,
                    d.last_status, d.last_error, d.created_at, d.done_at)
             .join(webhook_events, e.id == d.event_pk)
             .join(webhook_subscriptions, s.id == d.subscription_id)
             .order_by(d.id.desc()).limit(limit))
    if mnemonic is not None:
        query = query.where(s.mnemonic == mnemonic)
    if subscription_id is not None:
        query = query.where(d.subscription_id == subscription_id)
    if state is not None:
        query = query.where(d.state == state)
    with engine.connect() as conn:
        return [Delivery(*r) for r in conn.execute(query)]


def replay(engine: Engine, delivery_id: int, now: datetime, max_age: timedelta, actor: str,
           mnemonic: str | None = None) -> bool:
    """Send a delivery again (done or dead): pending now, with a fresh maximum age. The receiver
    recognises the repeat by the unchanged event id."""
    d, s = webhook_deliveries.c, webhook_subscriptions.c
    with write_transaction(engine) as conn:
        where = [d.id == delivery_id, d.state != PENDING,
                 d.subscription_id.in_(select(s.id).where(s.active.is_(True),
                                                          *([s.mnemonic == mnemonic] if mnemonic else [])))]
        if conn.execute(update(webhook_deliveries).where(*where).values(
                state=PENDING, next_attempt_at=now, expires_at=now + max_age,
                done_at=None)).rowcount != 1:
            return False
        audit.record(conn, now, actor, "webhook-replayed", {"delivery": delivery_id})
    return True


def backlog(engine: Engine) -> tuple[int, datetime | None]:
    """(pending deliveries, creation time of the oldest) — for /metrics."""
    d = webhook_deliveries.c
    with engine.connect() as conn:
        row = conn.execute(select(func.count(), func.min(d.created_at))
                           .where(d.state == PENDING)).one()
    return row[0], row[1]


def certificates(engine: Engine) -> list[tuple[str, str, str]]:
    """(fingerprint, mnemonic, PEM) of every registered signing certificate of an enabled IS
    (for the certificate.expiring scan)."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(is_certificates.c.fingerprint, is_certificates.c.mnemonic,
                   is_certificates.c.certificate_pem)
            .join(information_systems,
                  information_systems.c.mnemonic == is_certificates.c.mnemonic)
            .where(information_systems.c.enabled.is_(True)))]


def prune(engine: Engine, done_before: datetime | None, dead_before: datetime | None) -> int:
    """Delete deliveries settled before the cut-offs (done ones before ``done_before``, dead ones
    — never replayed — before ``dead_before``; None keeps them) and then the events left with no
    delivery that were fanned out before ``done_before``; how many deliveries went. Pending
    deliveries and their events are never touched."""
    d, e = webhook_deliveries.c, webhook_events.c
    removed = 0
    with write_transaction(engine) as conn:
        for state, before in ((DONE, done_before), (DEAD, dead_before)):
            if before is not None:
                removed += conn.execute(delete(webhook_deliveries).where(
                    d.state == state, d.done_at < before)).rowcount
        if done_before is not None:
            conn.execute(delete(webhook_events).where(
                e.fanned_out.is_(True), e.created_at < done_before,
                ~exists().where(d.event_pk == e.id)))
    return removed
