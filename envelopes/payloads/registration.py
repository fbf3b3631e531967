"""Organisation and head registration (xsd/organisation-registration-1.0.xsd, docs/payloads.md).

Requests: :class:`Organisation` (``OrganisationRegistrationRequest``), :class:`HeadConfirmation`,
:class:`StatusChange`; the answer: :class:`RegistrationResult`.
"""
from __future__ import annotations

import dataclasses
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

from lxml import etree

from envelopes.payloads import _xml as x
from envelopes.payloads._declare import Codec, DomainDescriptor, PayloadModule, identifier

R = "urn://smev-gateway/services/organisation-registration/1.0"

DOMAIN = DomainDescriptor(
    name="registration", namespace=R, prefix="reg", xsd="organisation-registration-1.0.xsd",
    requests=("OrganisationRegistrationRequest", "HeadConfirmationRequest", "OrganisationStatusChangeRequest"),
    answers=("RegistrationResult",),
    provider_answers={"OrganisationRegistrationRequest": frozenset({"RegistrationResult"}),
                      "HeadConfirmationRequest": frozenset({"RegistrationResult"}),
                      "OrganisationStatusChangeRequest": frozenset({"RegistrationResult"})},
)

Action = Literal["suspend", "resume", "close"]
State = Literal["received", "verified", "rejected", "active", "suspended", "closed"]


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
    """Request ``OrganisationRegistrationRequest``: the organisation as its head declares it."""

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


#: where each field checked against ЕГРЮЛ sits in ``OrganisationRegistrationRequest``, relative
#: to its root (see :func:`envelopes.payloads.schemas.field_node`)
FIELD_XPATHS = MappingProxyType({
    "inn": "reg:INN", "ogrn": "reg:OGRN", "kpp": "reg:KPP", "full_name": "reg:FullName",
    "head.inn": "reg:Head/reg:INN", "head.last_name": "reg:Head/reg:LastName"})


def build_organisation_registration(org: Organisation) -> etree._Element:
    root = x.root(R, "OrganisationRegistrationRequest")
    x.sub(root, "FullName", org.full_name)
    x.sub_opt(root, "ShortName", org.short_name or None)
    x.sub(root, "INN", org.inn)
    x.sub(root, "OGRN", org.ogrn)
    x.sub(root, "KPP", org.kpp)
    address = x.sub(root, "LegalAddress")
    x.sub_opt(address, "PostalCode", org.postal_code or None)
    x.sub(address, "Text", org.legal_address)
    x.each(root, "OKVED", org.okved)
    bank = x.sub(root, "BankDetails")
    x.sub(bank, "BIK", org.bik)
    x.sub(bank, "Account", org.account)
    x.sub(root, "Phone", org.phone)
    x.sub(root, "Email", org.email)
    h = org.head
    head = x.sub(root, "Head")
    x.sub(head, "LastName", h.last_name)
    x.sub(head, "FirstName", h.first_name)
    x.sub_opt(head, "MiddleName", h.middle_name or None)
    x.sub(head, "INN", h.inn)
    passport = x.sub(head, "Passport")
    x.sub(passport, "Series", h.passport_series)
    x.sub(passport, "Number", h.passport_number)
    x.sub(head, "BirthDate", h.birth_date.isoformat())
    x.sub(head, "Position", h.position)
    document = x.sub(head, "AppointmentDocument")
    x.sub(document, "Kind", h.appointment_kind)
    x.sub(document, "Number", h.appointment_number)
    x.sub(document, "Date", h.appointment_date.isoformat())
    x.sub_opt(root, "PowerOfAttorneyNumber", org.power_of_attorney or None)
    return root


def parse_organisation_registration(element: etree._Element) -> Organisation:
    x.expect_root(element, R, "OrganisationRegistrationRequest")
    f = x.Fields(element)
    head = f.fields("Head")
    passport = head.fields("Passport")
    appointment = head.fields("AppointmentDocument")
    address = f.fields("LegalAddress")
    return Organisation(
        full_name=f.text("FullName"),
        short_name=f.text_opt("ShortName"),
        inn=f.text("INN"), ogrn=f.text("OGRN"), kpp=f.text("KPP"),
        legal_address=address.text("Text"),
        postal_code=address.text_opt("PostalCode"),
        okved=f.texts("OKVED"),
        # BankDetails read here, as before, so a payload missing several fields names the same one
        bik=(bank := f.fields("BankDetails")).text("BIK"), account=bank.text("Account"),
        phone=f.text("Phone"), email=f.text("Email"),
        head=Head(
            last_name=head.text("LastName"), first_name=head.text("FirstName"),
            middle_name=head.text_opt("MiddleName"), inn=head.text("INN"),
            passport_series=passport.text("Series"), passport_number=passport.text("Number"),
            birth_date=x.to_date(head.text("BirthDate"), "Head/BirthDate"),
            position=head.text("Position"),
            appointment_kind=appointment.text("Kind"),
            appointment_number=appointment.text("Number"),
            appointment_date=x.to_date(appointment.text("Date"), "AppointmentDocument/Date")),
        power_of_attorney=f.text_opt("PowerOfAttorneyNumber"),
    )


@dataclasses.dataclass(frozen=True)
class HeadConfirmation:
    """The head confirms the registration (request, signed by the head)."""

    inn: str
    ogrn: str
    head_inn: str
    registration_number: str  # of the earlier OrganisationRegistrationRequest's result


def build_head_confirmation(c: HeadConfirmation) -> etree._Element:
    root = x.root(R, "HeadConfirmationRequest")
    for tag, value in (("INN", c.inn), ("OGRN", c.ogrn), ("HeadINN", c.head_inn),
                       ("RegistrationNumber", c.registration_number)):
        x.sub(root, tag, value)
    return root


def parse_head_confirmation(element: etree._Element) -> HeadConfirmation:
    x.expect_root(element, R, "HeadConfirmationRequest")
    f = x.Fields(element)
    return HeadConfirmation(f.text("INN"), f.text("OGRN"), f.text("HeadINN"),
                            f.text("RegistrationNumber"))


@dataclasses.dataclass(frozen=True)
class StatusChange:
    """Suspend, resume or close an active registration (request)."""

    inn: str
    registration_number: str
    action: Action
    reason: str
    power_of_attorney: str | None = None


def build_status_change(c: StatusChange) -> etree._Element:
    root = x.root(R, "OrganisationStatusChangeRequest")
    for tag, value in (("INN", c.inn), ("RegistrationNumber", c.registration_number),
                       ("Action", c.action), ("Reason", c.reason)):
        x.sub(root, tag, value)
    x.sub_opt(root, "PowerOfAttorneyNumber", c.power_of_attorney)
    return root


def parse_status_change(element: etree._Element) -> StatusChange:
    x.expect_root(element, R, "OrganisationStatusChangeRequest")
    f = x.Fields(element)
    return StatusChange(f.text("INN"), f.text("RegistrationNumber"),
                        f.text("Action"), f.text("Reason"),  # type: ignore[arg-type]
                        f.text_opt("PowerOfAttorneyNumber"))


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """One field that does not match the legal-entity register."""

    field: str
    xpath: str
    submitted: str
    register: str  # the value expected from the register
    rule: str


@dataclasses.dataclass(frozen=True)
class RegistrationResult:
    """The answer to every registration request: the new state, and why when rejected."""

    inn: str
    state: State
    registration_number: str | None = None
    mismatches: tuple[Mismatch, ...] = ()


def build_registration_result(r: RegistrationResult) -> etree._Element:
    root = x.root(R, "RegistrationResult")
    x.sub(root, "INN", r.inn)
    x.sub(root, "State", r.state)
    x.sub_opt(root, "RegistrationNumber", r.registration_number)
    for m in r.mismatches:
        item = x.sub(root, "Mismatch")
        for tag, value in (("Field", m.field), ("XPath", m.xpath), ("Submitted", m.submitted),
                           ("Register", m.register), ("Rule", m.rule)):
            x.sub(item, tag, value)
    return root


def parse_registration_result(element: etree._Element) -> RegistrationResult:
    x.expect_root(element, R, "RegistrationResult")
    f = x.Fields(element)
    return RegistrationResult(
        inn=f.text("INN"), state=f.text("State"),  # type: ignore[arg-type]
        registration_number=f.text_opt("RegistrationNumber"),
        mismatches=tuple(Mismatch(m.text("Field"), m.text("XPath"), m.text("Submitted"),
                                  m.text("Register"), m.text("Rule"))
                         for m in map(x.Fields, f.children("Mismatch"))))


def _samples() -> dict[str, Any]:
    from envelopes.demo_data import ROMASHKA as r, VASILEK

    return {
        "registration/OrganisationRegistrationRequest.xml": r,
        "registration/HeadConfirmationRequest.xml": HeadConfirmation(
            r.inn, r.ogrn, r.head.inn, "REG-20261123-000017"),
        "registration/OrganisationStatusChangeRequest.xml": StatusChange(
            r.inn, "REG-20261123-000017", "suspend", "Приостановка деятельности на время реорганизации"),
        "registration/RegistrationResult-verified.xml": RegistrationResult(
            r.inn, "verified", "REG-20261123-000017"),
        "registration/RegistrationResult-rejected.xml": RegistrationResult(
            VASILEK.inn, "rejected", None, (
                Mismatch("КПП", "/reg:OrganisationRegistrationRequest/reg:KPP", "500301002",
                         "500301001", "must match ЕГРЮЛ"),
                Mismatch("ИНН руководителя", "/reg:OrganisationRegistrationRequest/reg:Head/reg:INN",
                         "771234567859", "501234567802", "must be the head in ЕГРЮЛ"))),
    }


PAYLOADS = PayloadModule(
    domain=DOMAIN,
    codecs=(
        Codec(Organisation, DOMAIN.qname("OrganisationRegistrationRequest"),
              build_organisation_registration, parse_organisation_registration),
        Codec(HeadConfirmation, DOMAIN.qname("HeadConfirmationRequest"),
              build_head_confirmation, parse_head_confirmation),
        Codec(StatusChange, DOMAIN.qname("OrganisationStatusChangeRequest"),
              build_status_change, parse_status_change),
        Codec(RegistrationResult, DOMAIN.qname("RegistrationResult"),
              build_registration_result, parse_registration_result),
    ),
    identifiers={
        DOMAIN.qname("OrganisationRegistrationRequest"): (
            identifier("ИНН организации", "inn_legal_entity", "reg:INN"),
            identifier("ОГРН организации", "ogrn", "reg:OGRN"),
            identifier("ИНН руководителя", "inn_person", "reg:Head/reg:INN"),
            identifier("Расчётный счёт", "settlement_account", "reg:BankDetails/reg:Account",
                       "reg:BankDetails/reg:BIK"),
        ),
        DOMAIN.qname("HeadConfirmationRequest"): (
            identifier("ИНН организации", "inn_legal_entity", "reg:INN"),
            identifier("ОГРН организации", "ogrn", "reg:OGRN"),
            identifier("ИНН руководителя", "inn_person", "reg:HeadINN"),
        ),
        DOMAIN.qname("OrganisationStatusChangeRequest"): (
            identifier("ИНН организации", "inn_legal_entity", "reg:INN"),
        ),
    },
    samples=_samples,
)
