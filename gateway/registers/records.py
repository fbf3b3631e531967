"""Typed, immutable records of the state registers, parsed from their JSON answers.

Immutable because the client may cache them and hand the same object to several requests.
``from_json`` raises :class:`MalformedRecord` for an answer that does not have the documented
shape: the client reports that as the register being unavailable (the truth is unknown), never
as an internal error of the gateway.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from typing import Any

__all__ = ["Head", "LegalEntity", "Licence", "MalformedRecord", "Passport", "Person",
           "PowerOfAttorney", "Principal", "Representative"]


class MalformedRecord(ValueError):
    """A register answered JSON that is not the record it should be."""


def _need_object(data: object) -> None:
    if not isinstance(data, Mapping):
        raise MalformedRecord("a JSON object is expected")


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedRecord(f"{key}: a non-empty string is expected")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedRecord(f"{key}: a string is expected")
    return value


def _date(data: Mapping[str, Any], key: str) -> date:
    try:
        return date.fromisoformat(_str(data, key)[:10])
    except ValueError:
        raise MalformedRecord(f"{key}: an ISO date is expected") from None


def _opt_date(data: Mapping[str, Any], key: str) -> date | None:
    return None if data.get(key) in (None, "") else _date(data, key)


def _obj(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise MalformedRecord(f"{key}: an object is expected")
    return value


def _codes(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MalformedRecord(f"{key}: a list of strings is expected")
    return value


@dataclasses.dataclass(frozen=True)
class Head:
    inn: str
    last_name: str
    first_name: str
    middle_name: str | None
    position: str

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


@dataclasses.dataclass(frozen=True)
class LegalEntity:
    """An ЕГРЮЛ record. ``status``: active | liquidating | liquidated."""

    inn: str
    kpp: str
    ogrn: str
    full_name: str
    short_name: str | None
    address: str
    status: str
    head: Head
    okved: tuple[str, ...]
    registered_at: date | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LegalEntity:
        _need_object(data)
        head = _obj(data, "head")
        return cls(_str(data, "inn"), _str(data, "kpp"), _str(data, "ogrn"), _str(data, "full_name"),
                   _opt_str(data, "short_name"), _str(data, "address"), _str(data, "status"),
                   Head(_str(head, "inn"), _str(head, "last_name"), _str(head, "first_name"),
                        _opt_str(head, "middle_name"), _str(head, "position")),
                   tuple(_codes(data, "okved")), _opt_date(data, "registered_at"))


@dataclasses.dataclass(frozen=True)
class Passport:
    series: str
    number: str


@dataclasses.dataclass(frozen=True)
class Person:
    """A person in the tax service's register (by personal ИНН)."""

    inn: str
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date | None
    passport: Passport | None
    snils: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Person:
        _need_object(data)
        passport = None
        if data.get("passport") is not None:
            p = _obj(data, "passport")
            passport = Passport(_str(p, "series"), _str(p, "number"))
        return cls(_str(data, "inn"), _str(data, "last_name"), _str(data, "first_name"),
                   _opt_str(data, "middle_name"), _opt_date(data, "birth_date"), passport,
                   _opt_str(data, "snils"))


@dataclasses.dataclass(frozen=True)
class Principal:
    """The organisation that issued a power of attorney, and its head who signed it."""

    inn: str
    ogrn: str
    kpp: str | None
    name: str | None
    head_inn: str


@dataclasses.dataclass(frozen=True)
class Representative:
    last_name: str
    first_name: str
    middle_name: str | None
    inn: str
    snils: str | None


@dataclasses.dataclass(frozen=True)
class PowerOfAttorney:
    """A МЧД register entry. ``status``: active | revoked; expiry is a date, checked at use."""

    number: str
    principal: Principal
    representative: Representative
    powers: frozenset[str]
    issued_on: date
    valid_until: date
    substitution: bool = False
    status: str = "active"
    revoked_at: date | None = None
    parent_number: str | None = None  # a substituted power (передоверие): the power it stems from

    @property
    def principal_inn(self) -> str:
        return self.principal.inn

    @property
    def principal_head_inn(self) -> str:
        return self.principal.head_inn

    @property
    def representative_inn(self) -> str:
        return self.representative.inn

    @property
    def representative_name(self) -> str:
        r = self.representative
        return " ".join(p for p in (r.last_name, r.first_name, r.middle_name) if p)

    def state_on(self, day: date) -> str:
        """``revoked``, ``expired``, ``not_yet_valid`` or ``active`` on ``day``."""
        if self.status == "revoked":
            return "revoked"
        if self.valid_until < day:
            return "expired"
        if self.issued_on > day:
            return "not_yet_valid"
        return "active"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PowerOfAttorney:
        _need_object(data)
        p, r = _obj(data, "principal"), _obj(data, "representative")
        substitution = data.get("substitution", False)
        if not isinstance(substitution, bool):
            raise MalformedRecord("substitution: a boolean is expected")
        return cls(_str(data, "number"),
                   Principal(_str(p, "inn"), _str(p, "ogrn"), _opt_str(p, "kpp"), _opt_str(p, "name"),
                             _str(p, "head_inn")),
                   Representative(_str(r, "last_name"), _str(r, "first_name"),
                                  _opt_str(r, "middle_name"), _str(r, "inn"), _opt_str(r, "snils")),
                   frozenset(_codes(data, "powers")), _date(data, "issued_on"),
                   _date(data, "valid_until"), substitution, _str(data, "status"),
                   _opt_date(data, "revoked_at"), _opt_str(data, "parent_number"))

    def to_json(self) -> dict[str, Any]:
        """The registration body (status and revocation are the register's to set)."""
        return {"number": self.number, "principal": dataclasses.asdict(self.principal),
                "representative": dataclasses.asdict(self.representative),
                "powers": sorted(self.powers), "issued_on": self.issued_on.isoformat(),
                "valid_until": self.valid_until.isoformat(), "substitution": self.substitution,
                "parent_number": self.parent_number}


@dataclasses.dataclass(frozen=True)
class Licence:
    """A licence register entry. ``status``: active | suspended | revoked; expiry is a date
    (``valid_until`` None: indefinite)."""

    number: str
    holder_inn: str
    kind: str
    activity: str | None
    address: str | None
    valid_from: date
    valid_until: date | None = None
    status: str = "active"
    application_number: str | None = None
    granted_on: date | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Licence:
        _need_object(data)
        return cls(_str(data, "number"), _str(data, "holder_inn"), _str(data, "kind"),
                   _opt_str(data, "activity"), _opt_str(data, "address"), _date(data, "valid_from"),
                   _opt_date(data, "valid_until"), _str(data, "status"),
                   _opt_str(data, "application_number"), _opt_date(data, "granted_on"))

    def to_json(self) -> dict[str, Any]:
        """The entry body (status is the register's to set)."""
        body: dict[str, Any] = {
            "number": self.number, "holder_inn": self.holder_inn, "kind": self.kind,
            "activity": self.activity, "address": self.address,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None}
        if self.application_number:
            body["application_number"] = self.application_number
        if self.granted_on:
            body["granted_on"] = self.granted_on.isoformat()
        return body
