"""Repository of notifications of what is coming (``notifications``) and of the certificates of
persons who signed for an organisation (``person_certificates``), plus the reads the scan needs.

A notification is sent once per (kind, subject, threshold): its row and its webhook event are
inserted in one transaction under a unique key, so scans running at the same time in several
processes or nodes store it once — the loser's insert fails and takes its event with it."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.storage.db import write_transaction
from gateway.storage.schema import (applications, information_systems, messages, notifications,
                                    person_certificates, webhook_deliveries, webhook_events)
from gateway.storage.webhooks import NewEvent, add_events


@dataclasses.dataclass(frozen=True)
class Notice:
    kind: str
    subject: str
    threshold_days: int
    due_at: datetime
    organisation_inn: str | None = None
    mnemonic: str | None = None


@dataclasses.dataclass(frozen=True)
class Sent:
    """A listed notification with where its event went: ``deliveries`` holds
    (subscription id, delivery state) — empty when no subscription wanted it."""

    id: int
    kind: str
    subject: str
    threshold_days: int
    organisation_inn: str | None
    mnemonic: str | None
    due_at: datetime
    event_id: str
    created_at: datetime
    fanned_out: bool | None  # None: the event was pruned (retention)
    deliveries: tuple[tuple[int, str], ...]


def notify_once(engine: Engine, notice: Notice, event: NewEvent, now: datetime) -> bool:
    """Store the notice and its event together; False when it was stored before (by this or
    another process)."""
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(notifications), dict(
                kind=notice.kind, subject=notice.subject[:200], threshold_days=notice.threshold_days,
                organisation_inn=notice.organisation_inn, mnemonic=notice.mnemonic,
                due_at=notice.due_at, event_id=event.event_id, created_at=now))
            add_events(conn, [event])
    except IntegrityError:
        return False
    return True


def sent(engine: Engine, *, kind: str | None = None, inn: str | None = None,
         since: datetime | None = None, until: datetime | None = None,
         limit: int = 200) -> list[Sent]:
    n, e, d = notifications.c, webhook_events.c, webhook_deliveries.c
    query = (select(notifications, e.fanned_out).outerjoin(webhook_events, e.event_id == n.event_id)
             .order_by(n.id.desc()).limit(limit))
    if kind:
        query = query.where(n.kind == kind)
    if inn:
        query = query.where(n.organisation_inn == inn)
    if since:
        query = query.where(n.created_at >= since)
    if until:
        query = query.where(n.created_at < until)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        states: dict[str, list[tuple[int, str]]] = {}
        ids = [r.event_id for r in rows]
        for i in range(0, len(ids), 500):
            for r in conn.execute(select(e.event_id, d.subscription_id, d.state)
                                  .join(webhook_deliveries, d.event_pk == e.id)
                                  .where(e.event_id.in_(ids[i:i + 500])).order_by(d.id)):
                states.setdefault(r.event_id, []).append((r.subscription_id, r.state))
    return [Sent(r.id, r.kind, r.subject, r.threshold_days, r.organisation_inn, r.mnemonic,
                 r.due_at, r.event_id, r.created_at, r.fanned_out, tuple(states.get(r.event_id, ())))
            for r in rows]


# -- persons' certificates, written with the request they signed (gateway/pipeline/persist.py) --

def remember_person(conn: Connection, *, fingerprint: str, organisation_inn: str,
                    person_inn: str | None, subject: str, not_after: datetime, message_id: str,
                    at: datetime) -> None:
    """Insert the certificate of a PersonalSignature for this organisation unless known (no
    error either way: the request's transaction must not fail on it)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(person_certificates).values(
        fingerprint=fingerprint, organisation_inn=organisation_inn, person_inn=person_inn,
        subject=subject[:1000], not_after=not_after, message_id=message_id, first_seen_at=at)
        .on_conflict_do_nothing())


def persons(engine: Engine) -> list:
    """(fingerprint, organisation_inn, person_inn, subject, not_after in UTC, aware) of every
    known person (SQLite gives back naive datetimes)."""
    p = person_certificates.c
    with engine.connect() as conn:
        rows = conn.execute(select(p.fingerprint, p.organisation_inn, p.person_inn, p.subject,
                                   p.not_after)).all()
    return [(r.fingerprint, r.organisation_inn, r.person_inn, r.subject,
             r.not_after if r.not_after.tzinfo else r.not_after.replace(tzinfo=timezone.utc))
            for r in rows]


# -- reads of the scan --------------------------------------------------------------------------

def poa_requests(engine: Engine) -> list:
    """(kind, state, organisation_inn, envelope) of the power-of-attorney applications that
    can still matter: registered powers and the revocations that ended some."""
    a = applications.c
    with engine.connect() as conn:
        return conn.execute(select(a.kind, a.state, a.organisation_inn, messages.c.envelope)
                            .join(messages, messages.c.id == a.message_pk)
                            .where(a.domain == "poa", a.state.in_(("registered", "revoked")))
                            .order_by(a.id)).all()


def organisations(engine: Engine) -> list[str]:
    """ИНН of the organisations an enabled information system is registered for."""
    i = information_systems.c
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(select(i.inn_le).distinct().where(
            i.inn_le.is_not(None), i.enabled.is_(True))))


def filed(engine: Engine, period_key: str, states: tuple[str, ...]) -> set[str]:
    """ИНН of the organisations with a report of ``period_key`` (``"2026-21"``) in ``states``."""
    a = applications.c
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(select(a.organisation_inn).distinct().where(
            a.domain == "reporting", a.state.in_(states),
            a.kind.like(f"report % {period_key} #%")))}
