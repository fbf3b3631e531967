"""Read-only view of applications for handlers: the current state a transition starts from."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.engine import Engine

from gateway.storage.schema import applications


@dataclasses.dataclass(frozen=True)
class Application:
    id: int
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
        return [Application(r.id, r.domain, r.kind, r.organisation_inn, r.state,
                            r.registration_number) for r in rows]

    def by_number(self, registration_number: str) -> Application | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(applications).where(
                applications.c.registration_number == registration_number)).first()
        return Application(row.id, row.domain, row.kind, row.organisation_inn, row.state,
                           row.registration_number) if row else None
