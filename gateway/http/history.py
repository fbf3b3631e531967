"""История обращений: an organisation's applications over REST (JSON or CSV).

``GET /api/v1/organisations/{inn}/applications`` with filters (``date_from``, ``date_to``,
``kind``, ``status``), sorting (``sort=column`` or ``sort=-column``), paging (``page``,
``page_size``) and ``format=csv``. Access needs a bearer token of an information system (IS)
(``gateway is token``); an IS sees only the organisation it is registered for. Documented in
``docs/openapi.yaml``, served at ``/api/v1/openapi.yaml``.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import re
import secrets
from datetime import date, datetime, timezone
from urllib.parse import parse_qs

from gateway.http import access
from gateway.storage import history as repo
from gateway.storage.history import COLUMNS
MAX_PAGE_SIZE = 500
_INN = re.compile(r"^[0-9]{10}([0-9]{2})?$")


class HistoryError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclasses.dataclass(frozen=True)
class Query:
    inn: str
    date_from: date | None = None
    date_to: date | None = None
    kind: str | None = None
    status: str | None = None
    sort: str = "-date"
    page: int = 1
    page_size: int = 50
    format: str = "json"
    paged: bool = True  # a CSV export without page parameters holds every matching row


def new_token(engine, mnemonic: str, now: datetime | None = None) -> str:
    """Issue a bearer token for ``mnemonic``; only its SHA-256 is kept."""
    token = secrets.token_urlsafe(32)
    repo.store_token(engine, hashlib.sha256(token.encode()).hexdigest(), mnemonic,
                     now or datetime.now(timezone.utc))
    return token


def caller_of(engine, authorization: str | None) -> tuple[str, str | None]:
    """(mnemonic, the ИНН of its organisation) of a valid key with the scope ``history:read``
    (gateway/http/access.py; tokens of ``gateway is token`` have it), or HistoryError 401/403."""
    try:
        caller = access.system(engine, authorization, "history:read")
    except access.Denied as exc:
        raise HistoryError(exc.status, exc.message) from None
    return caller.mnemonic, caller.inn_le


def parse_query(inn: str, query_string: str) -> Query:
    if not _INN.match(inn):
        raise HistoryError(400, "the organisation's ИНН is 10 digits")
    params = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=False).items()}
    if any("\x00" in k or "\x00" in v for k, v in params.items()):
        raise HistoryError(400, "a parameter holds a NUL character")
    unknown = set(params) - {"date_from", "date_to", "kind", "status", "sort", "page",
                             "page_size", "format"}
    if unknown:
        raise HistoryError(400, f"unknown parameter(s): {', '.join(sorted(unknown))}")

    def day(name):
        if name not in params:
            return None
        try:
            return date.fromisoformat(params[name])
        except ValueError:
            raise HistoryError(400, f"{name} must be a date YYYY-MM-DD") from None

    def number(name, default, low, high):
        try:
            value = int(params.get(name, default))
        except ValueError:
            raise HistoryError(400, f"{name} must be a whole number") from None
        if not low <= value <= high:
            raise HistoryError(400, f"{name} must be between {low} and {high}")
        return value

    sort = params.get("sort", "-date")
    if sort.lstrip("-") not in COLUMNS:
        raise HistoryError(400, f"sort by one of {', '.join(COLUMNS)} (prefix '-' for descending)")
    fmt = params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise HistoryError(400, "format is json or csv")
    paged = fmt == "json" or "page" in params or "page_size" in params
    return Query(inn, day("date_from"), day("date_to"), params.get("kind"), params.get("status"),
                 sort, number("page", 1, 1, 10**6), number("page_size", 50, 1, MAX_PAGE_SIZE), fmt,
                 paged)


def fetch(engine, q: Query) -> tuple[int, list[dict]]:
    return repo.applications_of(engine, q.inn, date_from=q.date_from, date_to=q.date_to,
                                kind=q.kind, status=q.status, sort=q.sort,
                                limit=q.page_size if q.paged else None,
                                offset=(q.page - 1) * q.page_size)


def render(q: Query, total: int, items: list[dict]) -> tuple[str, bytes]:
    if q.format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["number", "date", "kind", "domain", "status", "updated"])
        writer.writeheader()
        writer.writerows(items)
        return "text/csv; charset=utf-8", out.getvalue().encode("utf-8")
    body = {"organisation_inn": q.inn, "total": total, "page": q.page, "page_size": q.page_size,
            "items": items}
    return "application/json", json.dumps(body, ensure_ascii=False).encode("utf-8")


def handle(engine, inn: str, query_string: str, authorization: str | None) -> tuple[int, str, bytes]:
    """The whole endpoint: (HTTP status, content type, body)."""
    try:
        mnemonic, own_inn = caller_of(engine, authorization)
        q = parse_query(inn, query_string)
        if own_inn != inn:
            raise HistoryError(403, f"{mnemonic} may see only its own organisation's applications")
        total, items = fetch(engine, q)
        content_type, body = render(q, total, items)
        return 200, content_type, body
    except HistoryError as exc:
        return exc.status, "application/json", json.dumps({"error": exc.message},
                                                           ensure_ascii=False).encode("utf-8")
