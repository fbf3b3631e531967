"""The registers' data: fixtures, the writes made at run time, and the checks on those writes.

Records are JSON-ready dicts that are never changed in place — a write replaces the record —
so a reader may serialise what it got outside the lock. Writes (registered and revoked powers of
attorney, entered licences, changed details of legal entities) can be kept in a state file that overlays the fixtures, so a
restarted stub remembers them.
"""
from __future__ import annotations

import collections
import json
import os
import re
import threading
import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from envelopes.payloads import identifiers
from envelopes.payloads.poa import power_codes

__all__ = ["FIXTURES", "InvalidInput", "RegisterStore"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STATE_VERSION = 1

Record = dict[str, Any]

_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
_DIGITS = {n: re.compile(f"[0-9]{{{n}}}") for n in (10, 11, 12, 13, 15)}
_LICENCE_NUMBER = re.compile(r"[^\x00-\x1f\x7f]{1,40}")
_KIND = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
_POSTAL_CODE = re.compile(r"[0-9]{6}")
_PHONE = re.compile(r"\+7[0-9]{10}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class InvalidInput(ValueError):
    """A request the register refuses (HTTP 400): every problem, by field."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{field}: {rule}" for field, rule in problems))
        self.problems = problems


def _today() -> date:
    return datetime.now(timezone.utc).date()


class RegisterStore:
    """Thread-safe in-memory registers seeded from ``fixtures_dir``."""

    def __init__(self, fixtures_dir: Path | None = None, state_file: Path | None = None, *,
                 clock: Callable[[], date] = _today):
        fixtures_dir = Path(fixtures_dir) if fixtures_dir is not None else FIXTURES
        self.state_file = Path(state_file) if state_file is not None else None
        self.clock = clock
        self._lock = threading.Lock()
        self._idempotency_lock = threading.Lock()  # held across a keyed write and its memory
        self.applied: collections.Counter[str] = collections.Counter()  # key -> writes done
        self.replayed: collections.Counter[str] = collections.Counter()  # key -> answered again

        def load(name: str) -> list[Any]:
            return json.loads((fixtures_dir / name).read_text(encoding="utf-8"))

        # the gateway's own list (envelopes/payloads/powers.json), which the POA XSD enumerates
        self.power_codes = frozenset(power_codes())
        self._entities: dict[str, Record] = {o["inn"]: o for o in load("legal_entities.json")}
        self._persons: dict[str, Record] = {p["inn"]: p for p in load("persons.json")}
        self._powers: dict[str, Record] = {p["number"]: p for p in load("powers_of_attorney.json")}
        self._licences: dict[str, Record] = {lic["number"]: lic for lic in load("licences.json")}
        self._written: dict[str, dict[str, Record]] = {"powers_of_attorney": {}, "licences": {},
                                                       "legal_entities": {}}
        #: Idempotency-Key -> the answer first given to a write that carried it
        self._answers: dict[str, Record] = {}
        if self.state_file is not None and self.state_file.exists():
            self._load_state()

    def _load_state(self) -> None:
        """A state file that cannot be read stops the start: silently dropping writes would
        resurrect revoked powers of attorney."""
        assert self.state_file is not None
        state = json.loads(self.state_file.read_text(encoding="utf-8"))
        if not isinstance(state, dict):
            raise ValueError(f"{self.state_file}: not a registers state file")
        powers = state.get("powers_of_attorney", state.get("powers", {}))  # "powers": before v1
        licences = state.get("licences", {})
        entities = state.get("legal_entities", {})
        if not all(isinstance(t, dict) for t in (powers, licences, entities)):
            raise ValueError(f"{self.state_file}: not a registers state file")
        answers = state.get("idempotency", {})
        if not isinstance(answers, dict):
            raise ValueError(f"{self.state_file}: not a registers state file")
        self._powers.update(powers)
        self._licences.update(licences)
        self._entities.update(entities)
        self._written = {"powers_of_attorney": dict(powers), "licences": dict(licences),
                         "legal_entities": dict(entities)}
        self._answers = dict(answers)

    def _save(self, table: str | None = None, record: Record | None = None, key: str = "number") -> None:
        """Under the lock: remember the write (``record[key]`` names it), then replace the state
        file atomically."""
        if table is not None:
            self._written[table][record[key]] = record
        if self.state_file is None:
            return
        tmp = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": STATE_VERSION, **self._written,
                                   "idempotency": self._answers}, ensure_ascii=False),
                       encoding="utf-8")
        tmp.replace(self.state_file)

    # -- idempotency ---------------------------------------------------------------------------
    def once(self, key: str, request: str, write: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
        """Carry out ``write`` once per Idempotency-Key: a repeat of the same request (method,
        path and body, as ``request``) gets the first answer again and changes nothing; the key
        reused for another request is refused (422)."""
        with self._idempotency_lock:
            first = self._answers.get(key)
            if first is not None:
                if first["request"] != request:
                    return 422, {"error": "this Idempotency-Key was used for another request"}
                self.replayed[key] += 1
                return first["status"], first["body"]
            status, body = write()
            if status < 500:
                with self._lock:
                    self._answers[key] = {"request": request, "status": status, "body": body}
                    self._save()
                self.applied[key] += 1
            return status, body

    # -- reads -------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"legal_entities": len(self._entities), "persons": len(self._persons),
                    "powers_of_attorney": len(self._powers), "licences": len(self._licences)}

    def legal_entity(self, inn: str) -> Record | None:
        _need(("inn", inn, _inn_le))
        with self._lock:
            return self._entities.get(inn)

    def legal_entities_by_ogrn(self, ogrn: str) -> list[Record]:
        _need(("ogrn", ogrn, _ogrn))
        with self._lock:
            return [o for o in self._entities.values() if o["ogrn"] == ogrn]

    def person(self, inn: str) -> Record | None:
        _need(("inn", inn, _inn_person))
        with self._lock:
            return self._persons.get(inn)

    def power_of_attorney(self, number: str) -> Record | None:
        key = _need_uuid("number", number)
        with self._lock:
            return self._powers.get(key)

    def powers_of_attorney(self, principal_inn: str | None, representative_inn: str | None) -> list[Record]:
        if not principal_inn and not representative_inn:
            raise InvalidInput([("principal_inn", "give principal_inn and/or representative_inn")])
        checks = []
        if principal_inn:
            checks.append(("principal_inn", principal_inn, _inn_le))
        if representative_inn:
            checks.append(("representative_inn", representative_inn, _inn_person))
        _need(*checks)
        with self._lock:
            return [p for p in self._powers.values()
                    if (not principal_inn or p["principal"]["inn"] == principal_inn)
                    and (not representative_inn or p["representative"]["inn"] == representative_inn)]

    def licence(self, number: str) -> Record | None:
        _need(("number", number, _licence_number))
        with self._lock:
            return self._licences.get(number)

    def licences(self, holder_inn: str) -> list[Record]:
        _need(("holder_inn", holder_inn, _inn_holder))
        with self._lock:
            return [lic for lic in self._licences.values() if lic["holder_inn"] == holder_inn]

    # -- writes ------------------------------------------------------------------------------
    def register_power_of_attorney(self, body: Any) -> tuple[bool, Record]:
        """(True, the new entry) or (False, the entry already registered under that number)."""
        record = _power_of_attorney(body, self.power_codes)
        with self._lock:
            existing = self._powers.get(record["number"])
            if existing is not None:
                return False, existing
            self._powers[record["number"]] = record
            self._save("powers_of_attorney", record)
        return True, record

    def revoke_power_of_attorney(self, number: str, body: Any) -> tuple[str, Record | None]:
        """``("revoked", entry)``, ``("already", entry)`` or ``("unknown", None)``."""
        key = _need_uuid("number", number)
        if not isinstance(body, dict):
            raise InvalidInput([("", "a JSON object is expected")])
        at = body.get("revoked_at")
        revoked_at = _need_date("revoked_at", at) if at is not None else self.clock()
        with self._lock:
            existing = self._powers.get(key)
            if existing is None:
                return "unknown", None
            if existing["status"] == "revoked":
                return "already", existing
            record = dict(existing, status="revoked", revoked_at=revoked_at.isoformat())
            self._powers[key] = record
            self._save("powers_of_attorney", record)
        return "revoked", record

    def change_legal_entity_details(self, inn: str, body: Any) -> Record | None:
        """Enter a change of details (address, postal code, phone, e-mail, head); the changed
        record, or None for an unknown ИНН. A new head must be in the persons register under
        that ИНН and name."""
        _need(("inn", inn, _inn_le))
        changes = _details(body)
        head = changes.get("head")
        if head is not None:
            with self._lock:
                person = self._persons.get(head["inn"])
            if person is None:
                raise InvalidInput([("head.inn", "not in the persons register")])
            wrong = [(f"head.{k}", "not the persons register's") for k in
                     ("last_name", "first_name", "middle_name") if (person.get(k) or None) != head[k]]
            if wrong:
                raise InvalidInput(wrong)
        with self._lock:
            existing = self._entities.get(inn)
            if existing is None:
                return None
            record = {**existing, **changes}
            self._entities[inn] = record
            self._save("legal_entities", record, key="inn")
        return record

    def enter_licence(self, body: Any) -> tuple[bool, Record]:
        record = _licence(body)
        with self._lock:
            existing = self._licences.get(record["number"])
            if existing is not None:
                return False, existing
            self._licences[record["number"]] = record
            self._save("licences", record)
        return True, record


# -- checks ------------------------------------------------------------------------------------
Check = Callable[[Any], "str | None"]


def _digits(n: int, checksum: Callable[[str], str | None], what: str) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not _DIGITS[n].fullmatch(value):
            return f"{what}: {n} digits"
        return checksum(value)
    return check


_inn_le = _digits(10, identifiers.inn_legal_entity, "a legal entity's ИНН")
_inn_person = _digits(12, identifiers.inn_person, "a person's ИНН")
_ogrn = _digits(13, identifiers.ogrn, "ОГРН")
_snils = _digits(11, identifiers.snils, "СНИЛС")


def _inn_holder(value: Any) -> str | None:
    """A licence holder: an organisation (10 digits) or an entrepreneur (12)."""
    return _inn_person(value) if isinstance(value, str) and len(value) == 12 else _inn_le(value)


def _kpp(value: Any) -> str | None:
    ok = isinstance(value, str) and _KPP.fullmatch(value)
    return None if ok else "КПП: 4 digits, 2 of [0-9A-Z], 3 digits"


def _text(value: Any) -> str | None:
    ok = isinstance(value, str) and value.strip() and len(value) <= 1000
    return None if ok else "a non-empty string of at most 1000 characters"


def _licence_number(value: Any) -> str | None:
    ok = (isinstance(value, str) and _LICENCE_NUMBER.fullmatch(value)
          and any(c.isalnum() for c in value))
    return None if ok else "1 to 40 characters, at least one letter or digit, no control characters"


def _optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def _need(*checks: tuple[str, Any, Check]) -> None:
    problems = [(field, rule) for field, value, check in checks if (rule := check(value))]
    if problems:
        raise InvalidInput(problems)


def _need_uuid(field: str, value: Any) -> str:
    try:
        if isinstance(value, str) and len(value) == 36:
            return str(uuid.UUID(value))
    except ValueError:
        pass
    raise InvalidInput([(field, "a UUID (8-4-4-4-12 hexadecimal digits)")])


def _need_date(field: str, value: Any) -> date:
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidInput([(field, "a date, YYYY-MM-DD")])


def _object(body: dict[str, Any], field: str, problems: list[tuple[str, str]]) -> dict[str, Any]:
    value = body.get(field)
    if isinstance(value, dict):
        return value
    problems.append((field, "a JSON object is expected"))
    return {}


def _date_in(body: dict[str, Any], field: str, problems: list[tuple[str, str]]) -> date | None:
    try:
        return _need_date(field, body.get(field))
    except InvalidInput as exc:
        problems += exc.problems
        return None


def _power_of_attorney(body: Any, power_codes: frozenset[str]) -> Record:
    """The entry to register: only the known fields, checked; status is the register's.
    Every problem is reported at once, by field."""
    if not isinstance(body, dict):
        raise InvalidInput([("", "a JSON object is expected")])
    problems: list[tuple[str, str]] = []
    try:
        number = _need_uuid("number", body.get("number"))
    except InvalidInput as exc:
        problems += exc.problems
    p, r = _object(body, "principal", problems), _object(body, "representative", problems)
    issued_on, valid_until = _date_in(body, "issued_on", problems), _date_in(body, "valid_until", problems)
    powers = body.get("powers")
    if not isinstance(powers, list) or not all(isinstance(c, str) for c in powers):
        problems.append(("powers", "a list of power codes"))
    else:
        problems += [("powers", f"unknown power code {c!r}") for c in powers if c not in power_codes]
    if issued_on and valid_until and valid_until < issued_on:
        problems.append(("valid_until", "not before issued_on"))
    if not isinstance(body.get("substitution", False), bool):
        problems.append(("substitution", "true or false"))
    parent = body.get("parent_number")
    if parent is not None:
        try:
            parent = _need_uuid("parent_number", parent)
        except InvalidInput as exc:
            problems += exc.problems
    for field, value, check in (
            ("principal.inn", p.get("inn"), _inn_le), ("principal.ogrn", p.get("ogrn"), _ogrn),
            ("principal.kpp", p.get("kpp"), _optional(_kpp)),
            ("principal.name", p.get("name"), _optional(_text)),
            ("principal.head_inn", p.get("head_inn"), _inn_person),
            ("representative.last_name", r.get("last_name"), _text),
            ("representative.first_name", r.get("first_name"), _text),
            ("representative.middle_name", r.get("middle_name"), _optional(_text)),
            ("representative.inn", r.get("inn"), _inn_person),
            ("representative.snils", r.get("snils"), _optional(_snils))):
        if rule := check(value):
            problems.append((field, rule))
    if problems:
        raise InvalidInput(problems)
    assert issued_on is not None and valid_until is not None and isinstance(powers, list)
    return {"number": number,
            "principal": {k: p.get(k) for k in ("inn", "ogrn", "kpp", "name", "head_inn")},
            "representative": {k: r.get(k) for k in ("last_name", "first_name", "middle_name",
                                                     "inn", "snils")},
            "powers": list(dict.fromkeys(powers)), "issued_on": issued_on.isoformat(),
            "valid_until": valid_until.isoformat(), "substitution": body.get("substitution", False),
            "parent_number": parent, "status": "active", "revoked_at": None}


def _matching(pattern: re.Pattern[str], rule: str, max_length: int = 1000) -> Check:
    def check(value: Any) -> str | None:
        ok = isinstance(value, str) and len(value) <= max_length and pattern.fullmatch(value)
        return None if ok else rule
    return check


#: the details a change may name (besides ``head``), each with its check
_DETAILS: dict[str, Check] = {
    "address": _text, "postal_code": _matching(_POSTAL_CODE, "6 digits"),
    "phone": _matching(_PHONE, "+7 and 10 digits"),
    "email": _matching(_EMAIL, "an e-mail address of at most 254 characters", 254)}


def _details(body: Any) -> Record:
    """A change of details: only the known fields, at least one, each checked."""
    if not isinstance(body, dict):
        raise InvalidInput([("", "a JSON object is expected")])
    problems = [(field, "unknown field") for field in body if field not in {*_DETAILS, "head"}]
    if not body:
        problems.append(("", "name at least one of address, postal_code, phone, email, head"))
    problems += [(field, rule) for field, check in _DETAILS.items()
                 if field in body and (rule := check(body[field]))]
    changes = {field: body[field] for field in _DETAILS if field in body}
    if "head" in body:
        head = body["head"] if isinstance(body["head"], dict) else {}
        if not isinstance(body["head"], dict):
            problems.append(("head", "a JSON object is expected"))
        for field, check in (("inn", _inn_person), ("last_name", _text), ("first_name", _text),
                             ("middle_name", _optional(_text)), ("position", _text)):
            if rule := check(head.get(field)):
                problems.append((f"head.{field}", rule))
        changes["head"] = {k: head.get(k) for k in ("inn", "last_name", "first_name", "middle_name",
                                                    "position")}
    if problems:
        raise InvalidInput(problems)
    return changes


def _licence(body: Any) -> Record:
    if not isinstance(body, dict):
        raise InvalidInput([("", "a JSON object is expected")])
    problems = [(field, rule) for field, check in (
        ("number", _licence_number), ("holder_inn", _inn_holder),
        ("kind", lambda v: None if isinstance(v, str) and _KIND.fullmatch(v)
         else "an upper-case code, e.g. ALCOHOL_RETAIL"),
        ("activity", _optional(_text)), ("address", _optional(_text)),
        ("application_number", _optional(_text))) if (rule := check(body.get(field)))]
    dates = {}
    for field, required in (("valid_from", True), ("valid_until", False), ("granted_on", False)):
        value = body.get(field)
        if value is None and not required:
            dates[field] = None
            continue
        try:
            dates[field] = _need_date(field, value).isoformat()
        except InvalidInput as exc:
            problems += exc.problems
    if not problems and dates["valid_until"] and dates["valid_until"] < dates["valid_from"]:
        problems.append(("valid_until", "not before valid_from"))
    if problems:
        raise InvalidInput(problems)
    record = {"number": body["number"], "holder_inn": body["holder_inn"], "kind": body["kind"],
              "activity": body.get("activity"), "address": body.get("address"),
              "valid_from": dates["valid_from"], "valid_until": dates["valid_until"],
              "status": "active"}
    for optional in ("application_number", "granted_on"):
        value = dates.get(optional, body.get(optional))
        if value is not None:
            record[optional] = value
    return record
