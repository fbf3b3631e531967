"""Payload builder for organisation registration (xsd/organisation-registration-1.0.xsd)."""
from __future__ import annotations

import dataclasses
from datetime import date

from lxml import etree

from envelopes import ns

R = ns.REGISTRATION


@dataclasses.dataclass(frozen=True)
class Head:
    last_name: str
    first_name: str
    middle_name: str | None
    inn: str
    passport_series: str
    passport_number: str
    birth_date: date
    position: str
    appointment_kind: str = "Решение единственного участника"
    appointment_number: str = "1"
    appointment_date: date = date(2020, 1, 15)


@dataclasses.dataclass(frozen=True)
class Organisation:
    full_name: str
    short_name: str | None
    inn: str
    ogrn: str
    kpp: str
    legal_address: str
    okved: tuple[str, ...]
    bik: str
    account: str
    phone: str
    email: str
    head: Head
    postal_code: str | None = None
    power_of_attorney: str | None = None  # the number, when a representative signs


def registration_request(org: Organisation) -> etree._Element:
    def sub(parent, tag, text=None):
        el = etree.SubElement(parent, ns.q(R, tag))
        if text is not None:
            el.text = text
        return el

    root = etree.Element(ns.q(R, "OrganisationRegistrationRequest"), nsmap={None: R})
    sub(root, "FullName", org.full_name)
    if org.short_name:
        sub(root, "ShortName", org.short_name)
    sub(root, "INN", org.inn)
    sub(root, "OGRN", org.ogrn)
    sub(root, "KPP", org.kpp)
    address = sub(root, "LegalAddress")
    if org.postal_code:
        sub(address, "PostalCode", org.postal_code)
    sub(address, "Text", org.legal_address)
    for code in org.okved:
        sub(root, "OKVED", code)
    bank = sub(root, "BankDetails")
    sub(bank, "BIK", org.bik)
    sub(bank, "Account", org.account)
    sub(root, "Phone", org.phone)
    sub(root, "Email", org.email)
    h = org.head
    head = sub(root, "Head")
    sub(head, "LastName", h.last_name)
    sub(head, "FirstName", h.first_name)
    if h.middle_name:
        sub(head, "MiddleName", h.middle_name)
    sub(head, "INN", h.inn)
    passport = sub(head, "Passport")
    sub(passport, "Series", h.passport_series)
    sub(passport, "Number", h.passport_number)
    sub(head, "BirthDate", h.birth_date.isoformat())
    sub(head, "Position", h.position)
    doc = sub(head, "AppointmentDocument")
    sub(doc, "Kind", h.appointment_kind)
    sub(doc, "Number", h.appointment_number)
    sub(doc, "Date", h.appointment_date.isoformat())
    if org.power_of_attorney:
        sub(root, "PowerOfAttorneyNumber", org.power_of_attorney)
    return root
