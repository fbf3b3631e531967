"""HTTP client of the state registers (one ``Registers`` per process, shared by its threads).

What the gateway may conclude from an answer, and what not:

* a JSON ``404 {"error": "not found"}`` is an answer: no such record (``None``);
* a 404 without that body (a wrong base URL, a proxy's error page) is NOT taken as "no such
  record" — that would reject a real organisation as unknown — it is :class:`RegisterUnavailable`;
* connection errors, timeouts, 5xx, 429, redirects, non-JSON or malformed answers leave the truth
  unknown: :class:`RegisterUnavailable`, which the pipeline turns into a retryable SMEVFailure
  before anything is written;
* any other 4xx means the register refused what *we* sent: :class:`RegisterRejected` (a bug on
  our side; retrying the same request cannot help).

Retries (urllib3 ``Retry``): idempotent GETs on connection errors, read errors and 5xx/429, with
exponential backoff; a POST is retried only when the connection could not be opened at all (the
request never left), never after it was sent. ``Retry-After`` is ignored, so the time a call can
take stays bounded: at most ``(retries + 1) × (connect_timeout + timeout)`` plus about a second of
backoff.
"""
from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.util.retry import Retry

from envelopes.payloads import identifiers
from gateway.registers.records import LegalEntity, Licence, MalformedRecord, Person, PowerOfAttorney

__all__ = ["RegisterRejected", "RegisterUnavailable", "Registers", "RegisterWriteMethod", "register_write",
           "write_methods"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class RegisterWriteMethod:
    """What marks a method of :class:`Registers` as a register write a decision may name
    (``RegisterWrite.action``; gateway/registers/outbox.py derives ``ACTIONS`` from the marks).
    ``conflict(args, answer)``: a sentence when the register's answer means the write cannot be
    carried out as the decision meant it (the outbox buries the row as refused), else None."""

    name: str
    conflict: Callable[[Mapping[str, Any], Any], str | None] | None = None


def register_write(conflict: Callable[[Mapping[str, Any], Any], str | None] | None = None) -> Callable[[F], F]:
    """Decorator: the method is a register write (see :class:`RegisterWriteMethod`). It must take
    JSON-able keyword arguments and ``idempotency_key`` (what every outbox call passes)."""
    def mark(method: F) -> F:
        method.register_write = RegisterWriteMethod(method.__name__, conflict)  # type: ignore[attr-defined]
        return method
    return mark


LEGAL_ENTITIES = "legal-entities"
PERSONS = "persons"
POWERS_OF_ATTORNEY = "powers-of-attorney"
LICENCES = "licences"

MAX_ANSWER_BYTES = 4 * 1024 * 1024
RETRY_STATUSES = (429, 500, 502, 503, 504)
_INN_LE = re.compile(r"[0-9]{10}")
_INN_PERSON = re.compile(r"[0-9]{12}")
_OGRN = re.compile(r"[0-9]{13}")


def _another_power_of_attorney(args: Mapping[str, Any], answer: tuple[bool, PowerOfAttorney | None]) -> str | None:
    """Not registered now, and what is registered under the number is not this power (its
    principal, representative or powers differ)."""
    created, existing = answer
    record = args.get("record", {})
    if not created and (existing is None or (
            existing.principal_inn, existing.representative_inn, sorted(existing.powers))
            != (record.get("principal", {}).get("inn"),
                record.get("representative", {}).get("inn"),
                sorted(record.get("powers", [])))):
        return f"another power of attorney is registered under {record.get('number')}"
    return None


def _no_legal_entity(args: Mapping[str, Any], answer: LegalEntity | None) -> str | None:
    return f"no legal entity {args.get('inn')} in ЕГРЮЛ to change" if answer is None else None


class RegisterUnavailable(Exception):
    """The register could not give an answer (down, slow, 5xx, garbled): the truth is unknown.

    ``detail`` names the kind of failure only (no host names): it reaches the sender's fault."""

    def __init__(self, register: str, detail: str):
        super().__init__(f"the {register} register is unavailable: {detail}")
        self.register = register
        self.detail = detail


class RegisterRejected(Exception):
    """The register refused the request as invalid (HTTP 4xx other than 404/409)."""

    def __init__(self, register: str, status: int, detail: str):
        super().__init__(f"the {register} register refused the request (HTTP {status}): {detail}")
        self.register = register
        self.status = status
        self.detail = detail


class Registers:
    """The four registers behind one base URL (``/egrul``, ``/fns``, ``/poa``, ``/licences``).

    ``timeout`` is the read timeout, ``connect_timeout`` (default ``min(1, timeout)``) the one
    for opening the connection. ``cache_seconds``: legal entities and persons change rarely and
    are read on every request, so their answers (also "not found") are reused that long; powers
    of attorney and licences never are — a revocation must apply at once. ``trust_env=False``:
    proxies, netrc credentials and CA bundles from the environment are not picked up silently.
    """

    def __init__(self, base_url: str, *, timeout: float = 2.0, connect_timeout: float | None = None,
                 retries: int = 2, backoff: float = 0.1, cache_seconds: float = 0.0,
                 max_answer_bytes: int = MAX_ANSWER_BYTES, trust_env: bool = False,
                 pool_size: int = 16):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the registers' base URL must be http(s): {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout if connect_timeout is not None else min(1.0, timeout), timeout)
        self.cache_seconds = cache_seconds
        self.max_answer_bytes = max_answer_bytes
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        retry = Retry(total=retries, connect=retries, read=retries, status=retries, other=0,
                      backoff_factor=backoff, backoff_max=1.0, status_forcelist=RETRY_STATUSES,
                      allowed_methods=frozenset({"GET"}), raise_on_status=False,
                      respect_retry_after_header=False)
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=pool_size)
        self.session = requests.Session()
        self.session.trust_env = trust_env
        self.session.headers.update({"Accept": "application/json"})
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Registers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads -------------------------------------------------------------------------------
    def legal_entity(self, inn: str) -> LegalEntity | None:
        """The ЕГРЮЛ record of a legal entity by ИНН; None if there is none (or the ИНН is not
        a valid one: no record can have it)."""
        if not (_INN_LE.fullmatch(inn) and identifiers.inn_legal_entity(inn) is None):
            return None
        return self._cached(f"le:{inn}", lambda: self._one(
            LEGAL_ENTITIES, f"/egrul/legal-entities/{inn}", LegalEntity.from_json))

    def legal_entity_by_ogrn(self, ogrn: str) -> LegalEntity | None:
        if not (_OGRN.fullmatch(ogrn) and identifiers.ogrn(ogrn) is None):
            return None
        found = self._many(LEGAL_ENTITIES, "/egrul/legal-entities", {"ogrn": ogrn},
                           LegalEntity.from_json)
        return found[0] if found else None

    def person(self, inn: str) -> Person | None:
        if not (_INN_PERSON.fullmatch(inn) and identifiers.inn_person(inn) is None):
            return None
        return self._cached(f"p:{inn}", lambda: self._one(
            PERSONS, f"/fns/persons/{inn}", Person.from_json))

    def power_of_attorney(self, number: str) -> PowerOfAttorney | None:
        key = _uuid(number)
        if key is None:
            return None
        return self._one(POWERS_OF_ATTORNEY, f"/poa/powers-of-attorney/{key}",
                         PowerOfAttorney.from_json)

    def powers_of_attorney(self, *, principal_inn: str | None = None,
                           representative_inn: str | None = None) -> list[PowerOfAttorney]:
        """Every power of attorney (any status) of that principal and/or representative."""
        params = {k: v for k, v in (("principal_inn", principal_inn),
                                    ("representative_inn", representative_inn)) if v}
        if not params:
            raise ValueError("name the principal's or the representative's ИНН")
        return self._many(POWERS_OF_ATTORNEY, "/poa/powers-of-attorney", params,
                          PowerOfAttorney.from_json)

    def licence(self, number: str) -> Licence | None:
        if not number or len(number) > 40:
            return None
        return self._one(LICENCES, f"/licences/licences/{quote(number, safe='')}", Licence.from_json)

    def licences(self, holder_inn: str) -> list[Licence]:
        return self._many(LICENCES, "/licences/licences", {"holder_inn": holder_inn},
                          Licence.from_json)

    # -- writes ------------------------------------------------------------------------------
    # Every write takes an optional ``idempotency_key``: the register carries a keyed write out
    # once, so the outbox may repeat it after a crash without writing twice.
    @register_write(conflict=_another_power_of_attorney)
    def register_power_of_attorney(
            self, record: PowerOfAttorney | Mapping[str, Any], *,
            idempotency_key: str | None = None) -> tuple[bool, PowerOfAttorney | None]:
        """``(True, the entry)`` when registered now, ``(False, the entry already registered
        under that number)`` otherwise — the caller decides whether that is the same one."""
        body = record.to_json() if isinstance(record, PowerOfAttorney) else dict(record)
        status, data = self._post(POWERS_OF_ATTORNEY, "/poa/powers-of-attorney", body,
                                  idempotency_key=idempotency_key)
        if status != 409:
            return True, _parse(POWERS_OF_ATTORNEY, PowerOfAttorney.from_json, data)
        return False, self.power_of_attorney(str(body.get("number", "")))

    @register_write()
    def revoke_power_of_attorney(self, number: str, at: date | str, *,
                                 idempotency_key: str | None = None) -> bool:
        """True if revoked now; False if it is unknown or was revoked already."""
        key = _uuid(number)
        if key is None:
            return False
        at = at if isinstance(at, str) else at.isoformat()
        status, _ = self._post(POWERS_OF_ATTORNEY, f"/poa/powers-of-attorney/{key}/revoke",
                               {"revoked_at": at}, allow_404=True, idempotency_key=idempotency_key)
        return status not in (404, 409)

    @register_write()
    def enter_licence(self, record: Licence | Mapping[str, Any], *,
                      idempotency_key: str | None = None) -> bool:
        """Enter a granted licence; False if one with that number exists already."""
        body = record.to_json() if isinstance(record, Licence) else dict(record)
        status, _ = self._post(LICENCES, "/licences/licences", body, idempotency_key=idempotency_key)
        return status != 409

    @register_write(conflict=_no_legal_entity)
    def change_legal_entity_details(self, inn: str, changes: Mapping[str, Any], *,
                                    idempotency_key: str | None = None) -> LegalEntity | None:
        """Enter a change of details (``address``, ``postal_code``, ``phone``, ``email``,
        ``head``) in ЕГРЮЛ; the record as it is now, or None if there is no such entity."""
        if not (_INN_LE.fullmatch(inn) and identifiers.inn_legal_entity(inn) is None):
            return None
        status, data = self._post(LEGAL_ENTITIES, f"/egrul/legal-entities/{inn}/details",
                                  dict(changes), allow_404=True, idempotency_key=idempotency_key)
        with self._lock:  # this process reads the change at once; others when their cache expires
            self._cache.pop(f"le:{inn}", None)
        return None if status == 404 else _parse(LEGAL_ENTITIES, LegalEntity.from_json, data)

    # -- HTTP --------------------------------------------------------------------------------
    def _cached(self, key: str, load: Callable[[], T]) -> T:
        if self.cache_seconds <= 0:
            return load()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()  # outside the lock: a slow register must not serialise every thread
        with self._lock:
            if len(self._cache) >= 10_000:
                self._cache.clear()
            self._cache[key] = (now + self.cache_seconds, value)
        return value

    def _one(self, register: str, path: str, parse: Callable[[Any], T]) -> T | None:
        status, data = self._call(register, "GET", path)
        if status == 404:
            return None
        return _parse(register, parse, data)

    def _many(self, register: str, path: str, params: dict[str, str],
              parse: Callable[[Any], T]) -> list[T]:
        status, data = self._call(register, "GET", path, params=params)
        if status == 404 or not isinstance(data, list):
            raise RegisterUnavailable(register, "a list was expected")
        return [_parse(register, parse, item) for item in data]

    def _post(self, register: str, path: str, body: dict[str, Any], *,
              allow_404: bool = False, idempotency_key: str | None = None) -> tuple[int, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        status, data = self._call(register, "POST", path, json=body, headers=headers)
        if status == 404 and not allow_404:
            raise RegisterUnavailable(register, "HTTP 404 to a write (wrong URL?)")
        return status, data

    def _call(self, register: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """``(status, JSON)`` for 2xx, the register's own 404, and 409 to a POST; raises
        otherwise."""
        try:
            with self.session.request(method, f"{self.base_url}{path}", timeout=self.timeout,
                                      allow_redirects=False, stream=True, **kwargs) as reply:
                status, body = reply.status_code, self._read(register, reply)
        except requests.RequestException as exc:
            raise RegisterUnavailable(register, _describe(exc)) from None
        if status in RETRY_STATUSES or status >= 500:
            raise RegisterUnavailable(register, f"HTTP {status}")
        if not 200 <= status < 500 or 300 <= status < 400:
            raise RegisterUnavailable(register, f"unexpected HTTP {status}")
        try:
            data = json.loads(body) if body else None
        except ValueError:  # also UnicodeDecodeError
            data = None
        if status == 404:
            if isinstance(data, dict) and data.get("error") == "not found":
                return 404, data
            raise RegisterUnavailable(register, "HTTP 404 that is not the register's (wrong URL?)")
        if status == 409 and method == "POST":
            return 409, data
        if status >= 400:
            detail = data.get("error") if isinstance(data, dict) else None
            raise RegisterRejected(register, status, str(detail or "no detail")[:300])
        if data is None:
            raise RegisterUnavailable(register, "the answer is not JSON")
        return status, data

    def _read(self, register: str, reply: requests.Response) -> bytes:
        chunks, size = [], 0
        for chunk in reply.iter_content(64 * 1024):
            size += len(chunk)
            if size > self.max_answer_bytes:
                raise RegisterUnavailable(register, "the answer is too large")
            chunks.append(chunk)
        return b"".join(chunks)


def _describe(exc: requests.RequestException) -> str:
    """What went wrong, in kind only: the URL and host stay out (the text reaches the sender).
    After retries requests wraps a timeout in ConnectionError(MaxRetryError(reason))."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, NewConnectionError):  # a subclass of ConnectTimeoutError: first
        return "cannot connect"
    if isinstance(exc, requests.ConnectTimeout) or isinstance(reason, ConnectTimeoutError):
        return "timed out connecting"
    if isinstance(exc, requests.Timeout) or isinstance(reason, ReadTimeoutError):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return type(exc).__name__


def _parse(register: str, parse: Callable[[Any], T], data: Any) -> T:
    try:
        return parse(data)
    except MalformedRecord as exc:
        raise RegisterUnavailable(register, f"malformed answer: {exc}") from None


def _uuid(number: str) -> str | None:
    """The canonical (lower-case, hyphenated) form; None for anything that is not a UUID."""
    try:
        return str(uuid.UUID(number)) if len(number) == 36 else None
    except (ValueError, TypeError, AttributeError):
        return None


def write_methods(cls: type = Registers) -> Mapping[str, RegisterWriteMethod]:
    """The register writes of ``cls`` (every method marked with :func:`register_write`), by name."""
    return MappingProxyType({name: mark for name in dir(cls)
                             if isinstance(mark := getattr(getattr(cls, name), "register_write", None),
                                           RegisterWriteMethod)})
