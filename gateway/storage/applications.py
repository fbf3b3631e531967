"""Read-only view of applications for handlers: the current state a transition starts from."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.engine import Engine

from gateway.domains.statemachine import IllegalTransition
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

    def payload_of(self, application: Application):
        """The business element of the request that opened ``application`` (parsed with the
        gateway's hardened parser from the stored bytes), with its MessageID."""
        from gateway.pipeline.parse import parse_envelope
        from envelopes import ns

        with self.engine.connect() as conn:
            row = conn.execute(select(messages.c.envelope, messages.c.message_id)
                               .where(messages.c.id == application.message_pk)).one()
        body = parse_envelope(row.envelope).body_child
        content = body.find(f".//{{{ns.SMEV_BASIC}}}MessagePrimaryContent")
        return [c for c in content if isinstance(c.tag, str)][0], row.message_id

    def answered(self, number: str, kind_prefix: str, message_id: str, noun: str) -> Application:
        """The application a provider's answer names by ``number``, which must be the one the
        answered request (``message_id``) opened; else IllegalTransition, changing nothing.
        ``noun`` names it in the refusal ("licence application" → ``UNKNOWN_APPLICATION``)."""
        short = noun.rsplit(" ", 1)[-1]
        application = self.by_number(number)
        if application is None or not application.kind.startswith(kind_prefix):
            raise IllegalTransition(f"no {noun} {number}", code=f"UNKNOWN_{short.upper()}")
        with self.engine.connect() as conn:
            opened_by = conn.execute(select(messages.c.message_id)
                                     .where(messages.c.id == application.message_pk)).scalar_one()
        if opened_by != message_id:
            raise IllegalTransition(f"{short} {number} is not the request this answers",
                                    code=f"ANSWER_TO_ANOTHER_{short.upper()}")
        return application

    def by_number(self, registration_number: str) -> Application | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(applications).where(
                applications.c.registration_number == registration_number)).first()
        return Application(row.id, row.message_pk, row.domain, row.kind, row.organisation_inn, row.state,
                           row.registration_number) if row else None
