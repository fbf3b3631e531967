"""Queries behind the REST history API: legacy bearer tokens (checked by
gateway/storage/access.py) and an organisation's applications."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from gateway.storage.schema import api_tokens, applications

#: API sort names -> columns
COLUMNS = {
    "date": applications.c.created_at,
    "updated": applications.c.updated_at,
    "kind": applications.c.kind,
    "status": applications.c.state,
    "number": applications.c.registration_number,
    "domain": applications.c.domain,
}


def store_token(engine: Engine, token_sha256: str, mnemonic: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(api_tokens.insert().values(token_sha256=token_sha256, mnemonic=mnemonic,
                                                created_at=now, revoked=False))


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def applications_of(engine: Engine, inn: str, *, date_from: date | None, date_to: date | None,
                    kind: str | None, status: str | None, sort: str,
                    limit: int | None, offset: int) -> tuple[int, list[dict]]:
    """(total matching, the page of rows as API dicts); ``sort`` is a COLUMNS name, '-' for
    descending."""
    c = applications.c
    conditions = [c.organisation_inn == inn]
    if date_from:
        conditions.append(c.created_at >= datetime.combine(date_from, time.min, timezone.utc))
    if date_to:
        conditions.append(c.created_at < datetime.combine(date_to + timedelta(days=1), time.min,
                                                          timezone.utc))
    if kind:
        conditions.append(c.kind == kind)
    if status:
        conditions.append(c.state == status)
    column = COLUMNS[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(applications).where(*conditions)).scalar_one()
        query = select(applications).where(*conditions).order_by(order, c.id.asc())
        if limit is not None:
            query = query.limit(limit).offset(offset)
        rows = conn.execute(query).all()
    return total, [{"number": r.registration_number, "date": _iso(r.created_at), "kind": r.kind,
                    "domain": r.domain, "status": r.state, "updated": _iso(r.updated_at)}
                   for r in rows]
