"""Queries behind the REST history API: legacy bearer tokens (checked by
gateway/storage/access.py) and an organisation's applications."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from gateway.storage.db import write_transaction
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
    with write_transaction(engine) as conn:
        conn.execute(api_tokens.insert().values(token_sha256=token_sha256, mnemonic=mnemonic,
                                                created_at=now, revoked=False))


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def day_range(column, day_from: date | None, day_to: date | None) -> list:
    """Conditions keeping ``column`` within the UTC days ``day_from`` .. ``day_to`` (inclusive)."""
    conditions = []
    if day_from:
        conditions.append(column >= datetime.combine(day_from, time.min, timezone.utc))
    if day_to:
        conditions.append(column < datetime.combine(day_to + timedelta(days=1), time.min,
                                                    timezone.utc))
    return conditions


def search(engine: Engine, *, inn: str | None = None, kind: str | None = None,
           status: str | None = None, domain: str | None = None, day_from: date | None = None,
           day_to: date | None = None, sort: str = "-date", limit: int | None = None,
           offset: int = 0) -> tuple[int, list]:
    """(total matching, the page of ``applications`` rows): the one query behind the REST
    history API and the console's application search. ``sort`` is a COLUMNS name, '-' for
    descending; rows that tie follow the same direction by id, so pages never overlap."""
    c = applications.c
    conditions = day_range(c.created_at, day_from, day_to)
    for column, value in ((c.organisation_inn, inn), (c.kind, kind), (c.state, status),
                          (c.domain, domain)):
        if value:
            conditions.append(column == value)
    column = COLUMNS[sort.lstrip("-")]
    descending = sort.startswith("-")
    query = select(applications).where(*conditions).order_by(
        column.desc() if descending else column.asc(), c.id.desc() if descending else c.id.asc())
    if limit is not None:
        query = query.limit(limit).offset(offset)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(applications)
                             .where(*conditions)).scalar_one()
        rows = conn.execute(query).all()
    return total, rows


def applications_of(engine: Engine, inn: str, *, date_from: date | None, date_to: date | None,
                    kind: str | None, status: str | None, sort: str,
                    limit: int | None, offset: int) -> tuple[int, list[dict]]:
    """(total matching, the page of one organisation's applications as API dicts)."""
    total, rows = search(engine, inn=inn, kind=kind, status=status, day_from=date_from,
                         day_to=date_to, sort=sort, limit=limit, offset=offset)
    return total, [{"number": r.registration_number, "date": _iso(r.created_at), "kind": r.kind,
                    "domain": r.domain, "status": r.state, "updated": _iso(r.updated_at)}
                   for r in rows]
