"""Repository of applications: reads for handlers (the state a transition starts from) and the
writes of the commit stage."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from gateway.storage.db import FastStatement
from gateway.storage.schema import applications, messages


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
