"""Change of an organisation's details (xsd/organisation-details-1.0.xsd, docs/payloads.md).

Requests: :class:`DetailsChange` (``DetailsChangeRequest``: legal address, phone, e-mail and/or
head), :class:`DetailsChangeConfirmation`; the answer: :class:`DetailsChangeResult`.
"""
from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Literal

from lxml import etree

from envelopes.payloads import _xml as x
from envelopes.payloads._declare import Codec, DomainDescriptor, PayloadModule, identifier

D = "urn://smev-gateway/services/organisation-details/1.0"

DOMAIN = DomainDescriptor(
    name="details", namespace=D, prefix="det", xsd="organisation-details-1.0.xsd",
    requests=("DetailsChangeRequest", "DetailsChangeConfirmation"),
    answers=("DetailsChangeResult",),
    provider_answers={"DetailsChangeRequest": frozenset({"DetailsChangeResult"}),
                      "DetailsChangeConfirmation": frozenset({"DetailsChangeResult"})},
)

State = Literal["verified", "rejected", "applied"]


@dataclasses.dataclass(frozen=True)
class Address:
    text: str
    postal_code: str | None = None


@dataclasses.dataclass(frozen=True)
class NewHead:
    last_name: str
    first_name: str
    middle_name: str | None
    inn: str
    position: str


@dataclasses.dataclass(frozen=True)
class DetailsChange:
    """Request ``DetailsChangeRequest``: who the organisation is (checked against ЕГРЮЛ) and the
    details that change; ``None`` leaves a detail as it is."""

    inn: str
    ogrn: str
    kpp: str
    legal_address: Address | None = None
    phone: str | None = None
    email: str | None = None
    new_head: NewHead | None = None
    reason: str | None = None
    power_of_attorney: str | None = None  # the number, when a representative signs

    @property
    def changes_something(self) -> bool:
        return any(v is not None for v in (self.legal_address, self.phone, self.email, self.new_head))

    def register_changes(self) -> dict:
        """The change as the ЕГРЮЛ register's details endpoint takes it (JSON; only what changes)."""
        changes: dict = {}
        if self.legal_address is not None:
            changes["address"] = self.legal_address.text
            if self.legal_address.postal_code is not None:
                changes["postal_code"] = self.legal_address.postal_code
        if self.phone is not None:
            changes["phone"] = self.phone
        if self.email is not None:
            changes["email"] = self.email
        if self.new_head is not None:
            h = self.new_head
            changes["head"] = {"inn": h.inn, "last_name": h.last_name, "first_name": h.first_name,
                               "middle_name": h.middle_name, "position": h.position}
        return changes


#: where each field checked against the registers sits in ``DetailsChangeRequest``, relative to
#: its root (see :func:`envelopes.payloads.schemas.field_node`)
FIELD_XPATHS = MappingProxyType({
    "inn": "det:INN", "ogrn": "det:OGRN", "kpp": "det:KPP", "legal_address": "det:LegalAddress",
    "phone": "det:Phone", "email": "det:Email", "new_head": "det:NewHead",
    "new_head.inn": "det:NewHead/det:INN", "new_head.last_name": "det:NewHead/det:LastName",
    "new_head.first_name": "det:NewHead/det:FirstName",
    "new_head.middle_name": "det:NewHead/det:MiddleName"})


def build_details_change(c: DetailsChange) -> etree._Element:
    root = x.root(D, "DetailsChangeRequest")
    x.sub(root, "INN", c.inn)
    x.sub(root, "OGRN", c.ogrn)
    x.sub(root, "KPP", c.kpp)
    if c.legal_address is not None:
        address = x.sub(root, "LegalAddress")
        x.sub_opt(address, "PostalCode", c.legal_address.postal_code)
        x.sub(address, "Text", c.legal_address.text)
    x.sub_opt(root, "Phone", c.phone)
    x.sub_opt(root, "Email", c.email)
    if c.new_head is not None:
        h = c.new_head
        head = x.sub(root, "NewHead")
        x.sub(head, "LastName", h.last_name)
        x.sub(head, "FirstName", h.first_name)
        x.sub_opt(head, "MiddleName", h.middle_name)
        x.sub(head, "INN", h.inn)
        x.sub(head, "Position", h.position)
    x.sub_opt(root, "Reason", c.reason)
    x.sub_opt(root, "PowerOfAttorneyNumber", c.power_of_attorney)
    return root


def parse_details_change(element: etree._Element) -> DetailsChange:
    x.expect_root(element, D, "DetailsChangeRequest")
    f = x.Fields(element)
    address = None if (found := f.child("LegalAddress")) is None else x.Fields(found)
    head = None if (found := f.child("NewHead")) is None else x.Fields(found)
    return DetailsChange(
        inn=f.text("INN"), ogrn=f.text("OGRN"), kpp=f.text("KPP"),
        legal_address=None if address is None else Address(
            address.text("Text"), address.text_opt("PostalCode")),
        phone=f.text_opt("Phone"), email=f.text_opt("Email"),
        new_head=None if head is None else NewHead(
            head.text("LastName"), head.text("FirstName"), head.text_opt("MiddleName"),
            head.text("INN"), head.text("Position")),
        reason=f.text_opt("Reason"),
        power_of_attorney=f.text_opt("PowerOfAttorneyNumber"))


@dataclasses.dataclass(frozen=True)
class DetailsChangeConfirmation:
    """Confirm a verified change (request): it is then entered in ЕГРЮЛ."""

    inn: str
    registration_number: str
    power_of_attorney: str | None = None


def build_details_change_confirmation(c: DetailsChangeConfirmation) -> etree._Element:
    root = x.root(D, "DetailsChangeConfirmation")
    x.sub(root, "INN", c.inn)
    x.sub(root, "RegistrationNumber", c.registration_number)
    x.sub_opt(root, "PowerOfAttorneyNumber", c.power_of_attorney)
    return root


def parse_details_change_confirmation(element: etree._Element) -> DetailsChangeConfirmation:
    x.expect_root(element, D, "DetailsChangeConfirmation")
    f = x.Fields(element)
    return DetailsChangeConfirmation(f.text("INN"), f.text("RegistrationNumber"),
                                     f.text_opt("PowerOfAttorneyNumber"))


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """One field at fault: where it sits in the request, what was submitted, what the register
    holds, and the rule broken."""

    field: str
    xpath: str
    submitted: str
    register: str
    rule: str


@dataclasses.dataclass(frozen=True)
class DetailsChangeResult:
    """The answer to both requests: the change's state, and why when rejected."""

    inn: str
    state: State
    registration_number: str | None = None
    mismatches: tuple[Mismatch, ...] = ()


def build_details_change_result(r: DetailsChangeResult) -> etree._Element:
    root = x.root(D, "DetailsChangeResult")
    x.sub(root, "INN", r.inn)
    x.sub(root, "State", r.state)
    x.sub_opt(root, "RegistrationNumber", r.registration_number)
    for m in r.mismatches:
        item = x.sub(root, "Mismatch")
        for tag, value in (("Field", m.field), ("XPath", m.xpath), ("Submitted", m.submitted),
                           ("Register", m.register), ("Rule", m.rule)):
            x.sub(item, tag, value)
    return root


def parse_details_change_result(element: etree._Element) -> DetailsChangeResult:
    x.expect_root(element, D, "DetailsChangeResult")
    f = x.Fields(element)
    return DetailsChangeResult(
        inn=f.text("INN"), state=f.text("State"),  # type: ignore[arg-type]
        registration_number=f.text_opt("RegistrationNumber"),
        mismatches=tuple(Mismatch(m.text("Field"), m.text("XPath"), m.text("Submitted"),
                                  m.text("Register"), m.text("Rule"))
                         for m in map(x.Fields, f.children("Mismatch"))))


def _samples() -> dict[str, Any]:
    from envelopes.demo_data import ROMASHKA as r
    from envelopes.payloads.samples import POA_NUMBER

    return {
        "details/DetailsChangeRequest.xml": DetailsChange(
            r.inn, r.ogrn, r.kpp, Address("г. Москва, ул. Новый Арбат, д. 15", "119019"),
            "+74951234567", "office@romashka.example",
            NewHead("Яковлева", "Ксения", "Владимировна", "770701164152", "Генеральный директор"),
            "Переезд и смена руководителя", POA_NUMBER),
        "details/DetailsChangeConfirmation.xml": DetailsChangeConfirmation(r.inn, "DET-20261123-000031"),
        "details/DetailsChangeResult-applied.xml": DetailsChangeResult(r.inn, "applied", "DET-20261123-000031"),
        "details/DetailsChangeResult-rejected.xml": DetailsChangeResult(r.inn, "rejected", None, (
            Mismatch("ОГРН", "/det:DetailsChangeRequest/det:OGRN", "1035000123454", "1027700123450",
                     "must equal the ОГРН in ЕГРЮЛ"),)),
    }


PAYLOADS = PayloadModule(
    domain=DOMAIN,
    codecs=(
        Codec(DetailsChange, DOMAIN.qname("DetailsChangeRequest"), build_details_change, parse_details_change),
        Codec(DetailsChangeConfirmation, DOMAIN.qname("DetailsChangeConfirmation"),
              build_details_change_confirmation, parse_details_change_confirmation),
        Codec(DetailsChangeResult, DOMAIN.qname("DetailsChangeResult"),
              build_details_change_result, parse_details_change_result),
    ),
    identifiers={
        DOMAIN.qname("DetailsChangeRequest"): (
            identifier("ИНН организации", "inn_legal_entity", "det:INN"),
            identifier("ОГРН организации", "ogrn", "det:OGRN"),
            identifier("ИНН нового руководителя", "inn_person", "det:NewHead/det:INN"),
        ),
        DOMAIN.qname("DetailsChangeConfirmation"): (
            identifier("ИНН организации", "inn_legal_entity", "det:INN"),
        ),
    },
    samples=_samples,
)
