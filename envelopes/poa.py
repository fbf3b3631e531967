"""Payload builders for powers of attorney (xsd/power-of-attorney-1.0.xsd)."""
from __future__ import annotations

import dataclasses
from datetime import date

from lxml import etree

from envelopes import ns
from envelopes.registration import Organisation

P = ns.POWER_OF_ATTORNEY


@dataclasses.dataclass(frozen=True)
class Representative:
    last_name: str
    first_name: str
    middle_name: str | None
    inn: str
    snils: str


def _sub(parent, tag, text=None):
    element = etree.SubElement(parent, ns.q(P, tag))
    if text is not None:
        element.text = text
    return element


def registration(number: str, principal: Organisation, representative: Representative,
                 powers: list[str], issued: date, valid_until: date,
                 substitution: bool = False, parent_number: str | None = None) -> etree._Element:
    """``parent_number``: a substituted power (передоверие), signed by that power's representative."""
    root = etree.Element(ns.q(P, "PowerOfAttorneyRegistration"), nsmap={None: P})
    _sub(root, "Number", number)
    _sub(root, "IssueDate", issued.isoformat())
    _sub(root, "ValidUntil", valid_until.isoformat())
    p = _sub(root, "Principal")
    for tag, value in (("INN", principal.inn), ("OGRN", principal.ogrn), ("KPP", principal.kpp),
                       ("Name", principal.short_name or principal.full_name),
                       ("HeadINN", principal.head.inn)):
        _sub(p, tag, value)
    r = _sub(root, "Representative")
    _sub(r, "LastName", representative.last_name)
    _sub(r, "FirstName", representative.first_name)
    if representative.middle_name:
        _sub(r, "MiddleName", representative.middle_name)
    _sub(r, "INN", representative.inn)
    _sub(r, "SNILS", representative.snils)
    for power in powers:
        _sub(root, "Power", power)
    _sub(root, "Substitution", "true" if substitution else "false")
    if parent_number:
        _sub(root, "ParentNumber", parent_number)
    return root


def revocation(number: str, principal_inn: str, on: date, reason: str) -> etree._Element:
    root = etree.Element(ns.q(P, "PowerOfAttorneyRevocation"), nsmap={None: P})
    _sub(root, "Number", number)
    _sub(root, "PrincipalINN", principal_inn)
    _sub(root, "RevocationDate", on.isoformat())
    _sub(root, "Reason", reason)
    return root
