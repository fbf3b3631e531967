"""The gateway's client for the state registers (ЕГРЮЛ, ФНС persons, МЧД, licences).

HTTP with connect/read timeouts; idempotent GETs are retried with backoff on connection errors
and 5xx (urllib3 ``Retry``). Anything that leaves the answer unknown is ONE exception,
:class:`RegisterUnavailable`, which the pipeline turns into a retryable ``SMEVFailure`` before
anything is written. A 404 is an answer: ``None``.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from datetime import date

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class RegisterUnavailable(Exception):
    def __init__(self, register: str, detail: str):
        super().__init__(f"the {register} register is unavailable: {detail}")
        self.register = register
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Head:
    inn: str
    last_name: str
    first_name: str
    middle_name: str | None
    position: str


@dataclasses.dataclass(frozen=True)
class LegalEntity:
    inn: str
    kpp: str
    ogrn: str
    full_name: str
    short_name: str | None
    address: str
    status: str  # active | liquidating | liquidated
    head: Head
    okved: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class PowerOfAttorney:
    number: str
    principal_inn: str
    principal_head_inn: str
    representative_inn: str
    representative_name: str
    powers: frozenset[str]
    issued_on: date
    valid_until: date
    status: str  # active | revoked
    revoked_at: str | None


def _legal_entity(data: dict) -> LegalEntity:
    head = data["head"]
    return LegalEntity(data["inn"], data["kpp"], data["ogrn"], data["full_name"],
                       data.get("short_name"), data["address"], data["status"],
                       Head(head["inn"], head["last_name"], head["first_name"],
                            head.get("middle_name"), head["position"]),
                       tuple(data.get("okved", ())))


def _power(data: dict) -> PowerOfAttorney:
    rep = data["representative"]
    name = " ".join(p for p in (rep.get("last_name"), rep.get("first_name"), rep.get("middle_name")) if p)
    return PowerOfAttorney(data["number"], data["principal"]["inn"], data["principal"].get("head_inn", ""),
                           rep["inn"], name, frozenset(data["powers"]),
                           date.fromisoformat(data["issued_on"]), date.fromisoformat(data["valid_until"]),
                           data["status"], data.get("revoked_at"))


class Registers:
    """``cache_seconds``: legal entities and persons change rarely and are read on every request,
    so their answers (also "not found") are kept that long; powers of attorney never are — a
    revocation must apply at once."""

    def __init__(self, base_url: str, *, timeout: float = 2.0, retries: int = 2,
                 cache_seconds: float = 0.0):
        self.base_url = base_url.rstrip("/")
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self.timeout = (min(1.0, timeout), timeout)
        self.session = requests.Session()
        retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                      backoff_factor=0.1, status_forcelist=(500, 502, 503, 504),
                      allowed_methods=frozenset({"GET"}), raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def _request(self, register: str, method: str, path: str, **kwargs):
        try:
            reply = self.session.request(method, f"{self.base_url}{path}", timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise RegisterUnavailable(register, type(exc).__name__) from None
        if reply.status_code == 404:
            return None
        if reply.status_code >= 500:
            raise RegisterUnavailable(register, f"HTTP {reply.status_code}")
        if reply.status_code >= 400:
            raise RegisterUnavailable(register, f"HTTP {reply.status_code}: {reply.text[:200]}")
        try:
            return reply.json()
        except ValueError:
            raise RegisterUnavailable(register, "the answer is not JSON") from None

    def _cached(self, key: str, load):
        if self.cache_seconds <= 0:
            return load()
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (now + self.cache_seconds, value)
        return value

    def legal_entity(self, inn: str) -> LegalEntity | None:
        def load():
            data = self._request("legal-entity", "GET", f"/egrul/legal-entities/{inn}")
            return _legal_entity(data) if data else None
        return self._cached(f"le:{inn}", load)

    def person(self, inn: str) -> dict | None:
        return self._cached(f"p:{inn}", lambda: self._request("persons", "GET", f"/fns/persons/{inn}"))

    def power_of_attorney(self, number: str) -> PowerOfAttorney | None:
        data = self._request("powers-of-attorney", "GET", f"/poa/powers-of-attorney/{number}")
        return _power(data) if data else None

    def powers_of_attorney(self, *, principal_inn: str | None = None,
                           representative_inn: str | None = None) -> list[PowerOfAttorney]:
        params = {k: v for k, v in (("principal_inn", principal_inn),
                                    ("representative_inn", representative_inn)) if v}
        data = self._request("powers-of-attorney", "GET", "/poa/powers-of-attorney", params=params)
        return [_power(item) for item in data or []]

    def _write(self, register: str, path: str, body: dict) -> tuple[int, dict | None]:
        """POST without retries (not idempotent): (status, JSON) for 2xx/409, else unavailable."""
        try:
            reply = self.session.post(f"{self.base_url}{path}", json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise RegisterUnavailable(register, type(exc).__name__) from None
        if reply.status_code in (200, 201, 404, 409):
            try:
                return reply.status_code, reply.json()
            except ValueError:
                raise RegisterUnavailable(register, "the answer is not JSON") from None
        raise RegisterUnavailable(register, f"HTTP {reply.status_code}: {reply.text[:200]}")


    def register_power_of_attorney(self, record: dict) -> tuple[bool, PowerOfAttorney | None]:
        """(True, registered) or (False, the one already registered under that number)."""
        status, data = self._write("powers-of-attorney", "/poa/powers-of-attorney", record)
        if status == 201:
            return True, _power(data)
        return False, self.power_of_attorney(record["number"])


    def revoke_power_of_attorney(self, number: str, at: date) -> bool:
        status, _ = self._write("powers-of-attorney", f"/poa/powers-of-attorney/{number}/revoke",
                                {"revoked_at": at.isoformat()})
        return status == 200

    def enter_licence(self, record: dict) -> bool:
        """Enter a granted licence; False if one with that number exists already."""
        status, _ = self._write("licences", "/licences/licences", record)
        return status == 201

    def licence(self, number: str) -> dict | None:
        return self._request("licences", "GET", f"/licences/licences/{number}")
