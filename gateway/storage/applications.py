"""Repository of applications: reads for handlers (the state a transition starts from) and the
writes of the commit stage."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from gateway.storage.db import FastStatement
from gateway.storage.schema import application_transitions, applications, messages


@dataclasses.dataclass(frozen=True)
class Transition:
    """One state an application entered: ``from_state`` None when the message opened it."""
    from_state: str | None
    to_state: str
    at: object  # datetime
    message_id: str
    sender: str
    root_element: str


@dataclasses.dataclass(frozen=True)
class Application:
    id: int
    message_pk: int
    domain: str
    kind: str
    organisation_inn: str
    state: str
    registration_number: str


class Applications:
    def __init__(self, engine: Engine):
        self.engine = engine

    def of_kind(self, organisation_inn: str, kind_prefix: str) -> list[Application]:
        """The organisation's applications whose kind starts with ``kind_prefix``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(applications).where(
                applications.c.organisation_inn == organisation_inn,
                applications.c.kind.startswith(kind_prefix, autoescape=True))
                .order_by(applications.c.id)).all()
        return [Application(r.id, r.message_pk, r.domain, r.kind, r.organisation_inn, r.state,
                            r.registration_number) for r in rows]

    def envelope_of(self, application: Application) -> tuple[bytes, str]:
        """The stored request that opened ``application``: (envelope bytes, MessageID)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(messages.c.envelope, messages.c.message_id)
                               .where(messages.c.id == application.message_pk)).one()
        return row.envelope, row.message_id

    def opened_by(self, application: Application) -> str:
        """The MessageID of the request that opened ``application``."""
        with self.engine.connect() as conn:
            return conn.execute(select(messages.c.message_id)
                                .where(messages.c.id == application.message_pk)).scalar_one()

    def transitions(self, application_id: int) -> list[Transition]:
        """The states ``application_id`` went through, oldest first, with the messages that
        moved it (application_transitions, written with each change)."""
        t = application_transitions.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.from_state, t.to_state, t.at, messages.c.message_id, messages.c.sender,
                       messages.c.root_element)
                .join(messages, messages.c.id == t.message_pk)
                .where(t.application_id == application_id).order_by(t.id)).all()
        return [Transition(r.from_state, r.to_state, r.at, r.message_id, r.sender, r.root_element)
                for r in rows]

    def envelopes_moving(self, application: Application, root_element: str) -> list[bytes]:
        """The stored requests with root ``root_element`` that moved ``application``, oldest
        first (e.g. the supplements of a licence application)."""
        t = application_transitions.c
        with self.engine.connect() as conn:
            return list(conn.execute(
                select(messages.c.envelope).join(messages, messages.c.id == t.message_pk)
                .where(t.application_id == application.id,
                       messages.c.root_element == root_element).order_by(t.id)).scalars())

    def by_number(self, registration_number: str) -> Application | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(applications).where(
                applications.c.registration_number == registration_number)).first()
        return Application(row.id, row.message_pk, row.domain, row.kind, row.organisation_inn, row.state,
                           row.registration_number) if row else None


def opened_by_message(engine: Engine, message_id: str) -> Application | None:
    """The application the request ``message_id`` opened, if it opened one (the REST answer
    names it: gateway/pipeline/rest_answer.py)."""
    with engine.connect() as conn:
        row = conn.execute(select(applications).join(
            messages, messages.c.id == applications.c.message_pk).where(
            messages.c.message_id == message_id)).first()
    return Application(row.id, row.message_pk, row.domain, row.kind, row.organisation_inn, row.state,
                       row.registration_number) if row else None


# -- writes, inside the caller's transaction (gateway/pipeline/persist.py) -------------------

def move(conn, application_id: int, from_state: str, to_state: str, at) -> bool:
    """Move an application on if it is still in ``from_state``; False if another request moved
    it first (nothing is changed then)."""
    return conn.execute(update(applications).where(
        applications.c.id == application_id, applications.c.state == from_state).values(
        state=to_state, updated_at=at)).rowcount == 1


_OPEN = FastStatement(applications, ("message_pk", "domain", "kind", "organisation_inn", "state",
                                     "registration_number", "created_at", "updated_at"),
                      returning="id")


def open_application(conn, *, message_pk: int, domain: str, kind: str, organisation_inn: str,
                     state: str, registration_number: str, at) -> int:
    return _OPEN.insert(conn, dict(message_pk=message_pk, domain=domain, kind=kind,
                                   organisation_inn=organisation_inn, state=state,
                                   registration_number=registration_number, created_at=at,
                                   updated_at=at))


_TRANSITION = FastStatement(application_transitions,
                            ("application_id", "message_pk", "from_state", "to_state", "at"),
                            gatherable=True)


def record_transition(conn, *, application_id: int, message_pk: int, from_state: str | None,
                      to_state: str, at) -> None:
    """Note that the message ``message_pk`` moved the application (in the same transaction)."""
    _TRANSITION.insert(conn, dict(application_id=application_id, message_pk=message_pk,
                                  from_state=from_state, to_state=to_state, at=at))
