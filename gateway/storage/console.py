"""Read-only queries behind the operator console (gateway/console/): searching messages and
applications across organisations, an application's timeline, what a message did, the journal
page by page, the dashboard's series and queue depths. Nothing here writes: the console's
changes go through the repositories that already journal them (access, participants, webhooks).
"""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine

from gateway.storage import history
from gateway.storage.schema import (application_transitions, applications, information_systems,
                                    is_certificates, journal, messages, outbox, queue_items)



def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# -- messages ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MessageRow:
    message_id: str
    operation: str  # SendRequest | SendResponse | a refused request
    sender: str
    recipient: str
    business_type: str  # {namespace}root
    status: str
    at: datetime
    registration_number: str | None


#: the console's operation filter -> messages.message_type
OPERATIONS = {"SendRequest": "REQUEST", "SendResponse": "RESPONSE"}
REJECTED = "rejected"


def search_messages(engine: Engine, *, message_id: str | None = None, sender: str | None = None,
                    recipient: str | None = None, operation: str | None = None,
                    status: str | None = None, day_from: date | None = None,
                    day_to: date | None = None, limit: int = 100) -> list[MessageRow]:
    """Accepted messages (``messages``) newest first; with ``status='rejected'`` the refused
    ones instead, which only the journal keeps (their sender is unauthenticated: not filtered)."""
    if status == REJECTED:
        j = journal.c
        conditions = [j.event == "rejected", j.direction == "IN", *history.day_range(j.at, day_from, day_to)]
        if message_id:
            conditions.append(j.message_id == message_id)
        query = select(j.message_id, j.at, j.detail).where(*conditions).order_by(j.id.desc()).limit(limit)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        found = []
        for r in rows:
            detail = json.loads(r.detail)
            found.append(MessageRow(r.message_id or "", detail.get("fault", ""), "", "",
                                    detail.get("code", ""), REJECTED, _utc(r.at), None))
        return found
    m = messages.c
    conditions = history.day_range(m.received_at, day_from, day_to)
    if message_id:
        conditions.append(m.message_id == message_id)
    if sender:
        conditions.append(m.sender == sender)
    if recipient:
        conditions.append(m.recipient == recipient)
    if operation:
        conditions.append(m.message_type == OPERATIONS.get(operation, operation))
    if status:
        conditions.append(m.status == status)
    query = (select(m.message_id, m.message_type, m.sender, m.recipient, m.namespace_uri,
                    m.root_element, m.status, m.received_at, m.registration_number)
             .where(*conditions).order_by(m.id.desc()).limit(limit))
    with engine.connect() as conn:
        return [MessageRow(r.message_id, "SendRequest" if r.message_type == "REQUEST" else "SendResponse",
                           r.sender, r.recipient, f"{{{r.namespace_uri}}}{r.root_element}", r.status,
                           _utc(r.received_at), r.registration_number)
                for r in conn.execute(query)]


def message_statuses(engine: Engine) -> list[str]:
    """The statuses stored messages have (for the filter's choices)."""
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(messages.c.status).distinct().order_by(messages.c.status))]


@dataclasses.dataclass(frozen=True)
class MessageDetail:
    message_id: str
    message_type: str
    sender: str
    recipient: str
    namespace_uri: str
    root_element: str
    status: str
    registration_number: str
    received_at: datetime
    reference_message_id: str | None
    envelope: bytes
    receipt: bytes


def message(engine: Engine, message_id: str) -> MessageDetail | None:
    m = messages.c
    with engine.connect() as conn:
        r = conn.execute(select(messages).where(m.message_id == message_id)).first()
    if r is None:
        return None
    return MessageDetail(r.message_id, r.message_type, r.sender, r.recipient, r.namespace_uri,
                         r.root_element, r.status, r.registration_number, _utc(r.received_at),
                         r.reference_message_id, bytes(r.envelope), bytes(r.receipt))


@dataclasses.dataclass(frozen=True)
class JournalRow:
    id: int
    at: datetime
    message_id: str | None
    direction: str
    event: str
    detail: dict
    entry_hash: str
    content: bytes | None


def _journal_row(r) -> JournalRow:
    try:
        detail = json.loads(r.detail)
    except ValueError:
        detail = {"raw": r.detail}
    return JournalRow(r.id, _utc(r.at), r.message_id, r.direction, r.event,
                      detail if isinstance(detail, dict) else {"value": detail}, r.entry_hash,
                      bytes(r.content) if r.content is not None else None)


def journal_of(engine: Engine, message_id: str) -> list[JournalRow]:
    """Every journal entry naming the MessageID, oldest first (with kept bytes)."""
    with engine.connect() as conn:
        return [_journal_row(r) for r in conn.execute(
            select(journal).where(journal.c.message_id == message_id).order_by(journal.c.id))]


def journal_page(engine: Engine, page: int, page_size: int,
                 direction: str | None = None) -> tuple[int, list[JournalRow]]:
    """(total entries, one page newest first) without the kept bytes."""
    j = journal.c
    conditions = [j.direction == direction] if direction else []
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(journal).where(*conditions)).scalar_one()
        rows = conn.execute(select(j.id, j.at, j.message_id, j.direction, j.event, j.detail,
                                   j.entry_hash, j.content.is_(None).label("no_content"))
                            .where(*conditions).order_by(j.id.desc())
                            .limit(page_size).offset((page - 1) * page_size)).all()
    return total, [JournalRow(r.id, _utc(r.at), r.message_id, r.direction, r.event,
                              _loads(r.detail), r.entry_hash, None) for r in rows]


def _loads(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


@dataclasses.dataclass(frozen=True)
class Effect:
    kind: str  # state | register | queue
    at: datetime | None
    what: str  # an application's move, a register write, a queued delivery
    detail: dict


def effects_of(engine: Engine, message_id: str) -> list[Effect]:
    """What the message did: the application states it moved (application_transitions), the
    register writes of its decision (outbox) and what it queued for delivery."""
    t, o, q = application_transitions.c, outbox.c, queue_items.c
    found: list[Effect] = []
    with engine.connect() as conn:
        for r in conn.execute(select(t.application_id, t.from_state, t.to_state, t.at)
                              .join(messages, messages.c.id == t.message_pk)
                              .where(messages.c.message_id == message_id).order_by(t.id)):
            found.append(Effect("state", _utc(r.at),
                                "application.created" if r.from_state is None
                                else "application.status_changed",
                                {"application_id": r.application_id, "status": r.to_state,
                                 "previous_status": r.from_state}))
        for r in conn.execute(select(o.action, o.state, o.attempts, o.created_at, o.done_at,
                                     o.last_error, o.args)
                              .where(o.message_id == message_id).order_by(o.id)):
            found.append(Effect("register", _utc(r.created_at), r.action,
                                {"state": r.state, "attempts": r.attempts,
                                 "done_at": _utc(r.done_at), "last_error": r.last_error,
                                 "args": _loads(r.args)}))
        for r in conn.execute(select(q.kind, q.recipient, q.state, q.deliveries, q.created_at,
                                     q.acked_at, q.message_id)
                              .where(or_(q.message_id == message_id,
                                         q.related_message_id == message_id)).order_by(q.id)):
            found.append(Effect("queue", _utc(r.created_at), r.kind,
                                {"recipient": r.recipient, "state": r.state,
                                 "deliveries": r.deliveries, "acked_at": _utc(r.acked_at),
                                 "message_id": r.message_id}))
    return found


# -- applications -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ApplicationRow:
    id: int
    organisation_inn: str
    domain: str
    kind: str
    status: str
    registration_number: str
    created_at: datetime
    updated_at: datetime
    message_id: str | None = None


def search_applications(engine: Engine, *, inn: str | None = None, status: str | None = None,
                        domain: str | None = None, kind: str | None = None,
                        day_from: date | None = None, day_to: date | None = None,
                        sort: str = "-date", limit: int | None = 200,
                        offset: int = 0) -> tuple[int, list[ApplicationRow]]:
    """(total matching, the page) over every organisation, or one ИНН; ``sort`` is a column
    name of the REST history API (history.COLUMNS), '-' for descending."""
    total, rows = history.search(engine, inn=inn, kind=kind, status=status, domain=domain,
                                 day_from=day_from, day_to=day_to, sort=sort, limit=limit,
                                 offset=offset)
    return total, [ApplicationRow(r.id, r.organisation_inn, r.domain, r.kind, r.state,
                                  r.registration_number, _utc(r.created_at), _utc(r.updated_at))
                   for r in rows]


def application(engine: Engine, application_id: int) -> ApplicationRow | None:
    a = applications.c
    with engine.connect() as conn:
        r = conn.execute(select(applications, messages.c.message_id)
                         .join(messages, messages.c.id == a.message_pk)
                         .where(a.id == application_id)).first()
    if r is None:
        return None
    return ApplicationRow(r.id, r.organisation_inn, r.domain, r.kind, r.state,
                          r.registration_number, _utc(r.created_at), _utc(r.updated_at), r.message_id)


@dataclasses.dataclass(frozen=True)
class Step:
    at: datetime
    status: str
    previous: str | None
    by: str  # the IS whose message moved it
    message_id: str


def timeline(engine: Engine, application_id: int) -> list[Step]:
    """The application's states in order, each with the IS and message that moved it there
    (application_transitions, written in the transaction of each change)."""
    t, m = application_transitions.c, messages.c
    with engine.connect() as conn:
        rows = conn.execute(select(t.at, t.to_state, t.from_state, m.sender, m.message_id)
                            .join(messages, m.id == t.message_pk)
                            .where(t.application_id == application_id).order_by(t.id)).all()
    return [Step(_utc(r.at), r.to_state, r.from_state, r.sender, r.message_id) for r in rows]


def application_choices(engine: Engine) -> tuple[list[str], list[str]]:
    """(statuses, domains) present, for the filter's choices."""
    a = applications.c
    with engine.connect() as conn:
        return ([r[0] for r in conn.execute(select(a.state).distinct().order_by(a.state))],
                [r[0] for r in conn.execute(select(a.domain).distinct().order_by(a.domain))])


# -- participants -----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Certificate:
    fingerprint: str
    subject: str
    pem: str
    added_at: datetime


def certificates_of(engine: Engine, mnemonic: str | None = None) -> list[tuple[str, Certificate]]:
    """(mnemonic, certificate) of the registered signing certificates (of one IS, or all)."""
    c = is_certificates.c
    query = select(is_certificates).order_by(c.mnemonic, c.added_at)
    if mnemonic is not None:
        query = query.where(c.mnemonic == mnemonic)
    with engine.connect() as conn:
        return [(r.mnemonic, Certificate(r.fingerprint, r.subject, r.certificate_pem, _utc(r.added_at)))
                for r in conn.execute(query)]


def system_exists(engine: Engine, mnemonic: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(information_systems.c.mnemonic)
                            .where(information_systems.c.mnemonic == mnemonic)).first() is not None


# -- dashboard --------------------------------------------------------------------------------

#: (journal id, time, event, fault code of a refusal) of an incoming entry
InEvent = tuple[int, datetime, str, "str | None"]


def _in_event(r) -> InEvent:
    code = _loads(r.detail).get("code") if r.event == "rejected" else None
    return r.id, _utc(r.at), r.event, code


def journal_events_since(engine: Engine, since: datetime,
                         skew: timedelta = timedelta(minutes=10)) -> tuple[int, list[InEvent]]:
    """(the journal's head id, the incoming entries since ``since``, newest first): what the
    dashboard's charts count, read once; afterwards :func:`journal_events_after` adds the new.

    The journal has no index on its time (one would cost every append on the request path), but
    ids grow with time: the entries are read backwards by primary key and the scan stops at the
    first one older than ``since`` by more than ``skew`` (the clocks of several nodes differ a
    little), so it reads the window, not the table."""
    j = journal.c
    stop, head, found = since - skew, 0, []
    query = select(j.id, j.at, j.direction, j.event, j.detail).order_by(j.id.desc())
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for r in result:
            head = max(head, r.id)
            at = _utc(r.at)
            if at < stop:
                break
            if r.direction == "IN" and at >= since:
                found.append(_in_event(r))
        result.close()
    return head, found


def journal_events_after(engine: Engine, after_id: int, cap: int = 200_000) -> tuple[int, list[InEvent]]:
    """(new head id, the incoming entries appended after ``after_id``, oldest first; at most
    ``cap``, the rest on the next call): a primary-key range, cheap every few seconds."""
    j = journal.c
    with engine.connect() as conn:
        rows = conn.execute(select(j.id, j.at, j.direction, j.event, j.detail)
                            .where(j.id > after_id).order_by(j.id).limit(cap)).all()
    head = rows[-1].id if rows else after_id
    return head, [_in_event(r) for r in rows if r.direction == "IN"]


@dataclasses.dataclass(frozen=True)
class QueueDepth:
    recipient: str
    kind: str
    items: int
    oldest: datetime | None
    oldest_message_id: str | None  # the stored message the oldest item is, or is about


def queue_depths(engine: Engine) -> list[QueueDepth]:
    """Undelivered items (queued or taken) per recipient and kind, with the oldest one."""
    q = queue_items.c
    waiting = q.state.in_(("queued", "taken"))
    with engine.connect() as conn:
        rows = conn.execute(select(q.recipient, q.kind, func.count(), func.min(q.created_at))
                            .where(waiting).group_by(q.recipient, q.kind)
                            .order_by(q.recipient, q.kind)).all()
        found = []
        for recipient, kind, count, oldest in rows:
            first = conn.execute(select(q.message_id, q.related_message_id,
                                        messages.c.id.label("stored"))
                                 .outerjoin(messages, messages.c.message_id == q.message_id)
                                 .where(waiting, q.recipient == recipient, q.kind == kind)
                                 .order_by(q.created_at, q.id).limit(1)).first()
            # a status, or an answer the gateway built itself, is not stored as a message: the
            # request it is about is
            message_id = None if first is None else \
                first.message_id if first.stored is not None else first.related_message_id
            found.append(QueueDepth(recipient, kind, count, _utc(oldest), message_id))
    return found


def verify_journal(engine: Engine):
    """gateway/storage/journal.py's chain check on a connection of its own (the console's
    button, as ``gateway journal verify``)."""
    from gateway.storage.journal import verify_chain

    with engine.connect() as conn:
        return verify_chain(conn)
