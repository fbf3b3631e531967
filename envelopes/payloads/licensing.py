"""Licence and permit applications (xsd/licensing-1.0.xsd, docs/payloads.md).

Requests from the applicant: application, supplement, withdrawal. Answers: the gateway's
checklist of missing documents and status; the licensing authority's decision and status (an
external provider answering with SendResponse). The licence kinds and the documents each needs
are one data file, ``licence_kinds.json``, read by :func:`licence_kinds`.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Literal, Mapping

from lxml import etree

from envelopes.payloads import _xml as x
from envelopes.payloads._declare import Codec, DomainDescriptor, PayloadModule, identifier

L = "urn://smev-gateway/services/licensing/1.0"

DOMAIN = DomainDescriptor(
    name="licensing", namespace=L, prefix="lic", xsd="licensing-1.0.xsd",
    requests=("LicenceApplication", "LicenceApplicationSupplement", "LicenceApplicationWithdrawal"),
    answers=("MissingDocumentsChecklist", "LicenceApplicationStatus", "LicenceDecision"),
    # the licensing authority's status (under review) and decision
    provider_answers={"LicenceApplication": frozenset({"LicenceDecision", "LicenceApplicationStatus"})},
)

State = Literal["incomplete", "submitted", "under_review", "granted", "refused", "withdrawn"]


@dataclasses.dataclass(frozen=True)
class LicenceKind:
    code: str
    name: str
    documents: Mapping[str, str]  # required document kind code → description


@functools.cache
def licence_kinds() -> Mapping[str, LicenceKind]:
    """Licence kinds (code → kind), from ``licence_kinds.json`` beside this module; read once and
    shared, so read-only."""
    raw = json.loads(Path(__file__).with_name("licence_kinds.json").read_text(encoding="utf-8"))
    return MappingProxyType({code: LicenceKind(code, item["name"], MappingProxyType(dict(item["documents"])))
                             for code, item in raw.items()})


def missing_documents(kind: str, present: Iterable[str]) -> dict[str, str]:
    """The documents ``kind`` requires that are not among the kinds in ``present``."""
    required = licence_kinds()[kind].documents
    have = set(present)
    return {code: text for code, text in required.items() if code not in have}


@dataclasses.dataclass(frozen=True)
class Document:
    """An attached document: its kind, file, SHA-256 (hex) and the attachments carrying it."""

    kind: str
    file_name: str
    sha256: str
    attachment_id: str | None = None
    signature_attachment_id: str | None = None  # the detached signature's attachment

    @classmethod
    def of(cls, kind: str, file_name: str, data: bytes, **refs: str) -> "Document":
        return cls(kind, file_name, hashlib.sha256(data).hexdigest(), **refs)


def _documents(parent: etree._Element, documents: Iterable[Document]) -> None:
    for d in documents:
        item = x.sub(parent, "Document")
        x.sub(item, "Kind", d.kind)
        x.sub(item, "FileName", d.file_name)
        x.sub(item, "SHA256", d.sha256)
        x.sub_opt(item, "AttachmentId", d.attachment_id)
        x.sub_opt(item, "SignatureAttachmentId", d.signature_attachment_id)


def _parse_documents(f: x.Fields) -> tuple[Document, ...]:
    return tuple(Document(d.text("Kind"), d.text("FileName"), d.text("SHA256"),
                          d.text_opt("AttachmentId"), d.text_opt("SignatureAttachmentId"))
                 for d in map(x.Fields, f.children("Document")))


@dataclasses.dataclass(frozen=True)
class LicenceApplication:
    """Request: apply for a licence of ``kind`` (a code of :func:`licence_kinds`)."""

    inn: str
    kind: str
    activity: str
    addresses: tuple[str, ...]
    documents: tuple[Document, ...] = ()
    ogrn: str | None = None
    kpp: str | None = None
    power_of_attorney: str | None = None


def build_licence_application(a: LicenceApplication) -> etree._Element:
    root = x.root(L, "LicenceApplication")
    x.sub(root, "OrganisationINN", a.inn)
    x.sub_opt(root, "OGRN", a.ogrn)
    x.sub_opt(root, "KPP", a.kpp)
    x.sub(root, "LicenceKind", a.kind)
    x.sub(root, "Activity", a.activity)
    x.each(root, "Address", a.addresses)
    x.sub_opt(root, "PowerOfAttorneyNumber", a.power_of_attorney)
    _documents(root, a.documents)
    return root


def parse_licence_application(element: etree._Element) -> LicenceApplication:
    x.expect_root(element, L, "LicenceApplication")
    f = x.Fields(element)
    return LicenceApplication(
        inn=f.text("OrganisationINN"), ogrn=f.text_opt("OGRN"),
        kpp=f.text_opt("KPP"), kind=f.text("LicenceKind"),
        activity=f.text("Activity"), addresses=f.texts("Address"),
        power_of_attorney=f.text_opt("PowerOfAttorneyNumber"),
        documents=_parse_documents(f))


@dataclasses.dataclass(frozen=True)
class LicenceApplicationSupplement:
    """Request: add documents to an application, by its number."""

    inn: str
    application_number: str
    documents: tuple[Document, ...]
    power_of_attorney: str | None = None


def build_licence_application_supplement(s: LicenceApplicationSupplement) -> etree._Element:
    root = x.root(L, "LicenceApplicationSupplement")
    x.sub(root, "OrganisationINN", s.inn)
    x.sub(root, "ApplicationNumber", s.application_number)
    x.sub_opt(root, "PowerOfAttorneyNumber", s.power_of_attorney)
    _documents(root, s.documents)
    return root


def parse_licence_application_supplement(element: etree._Element) -> LicenceApplicationSupplement:
    x.expect_root(element, L, "LicenceApplicationSupplement")
    f = x.Fields(element)
    return LicenceApplicationSupplement(
        f.text("OrganisationINN"), f.text("ApplicationNumber"),
        _parse_documents(f), f.text_opt("PowerOfAttorneyNumber"))


@dataclasses.dataclass(frozen=True)
class LicenceApplicationWithdrawal:
    """Request: withdraw an application before a decision."""

    inn: str
    application_number: str
    reason: str
    power_of_attorney: str | None = None


def build_licence_application_withdrawal(w: LicenceApplicationWithdrawal) -> etree._Element:
    root = x.root(L, "LicenceApplicationWithdrawal")
    x.sub(root, "OrganisationINN", w.inn)
    x.sub(root, "ApplicationNumber", w.application_number)
    x.sub_opt(root, "PowerOfAttorneyNumber", w.power_of_attorney)
    x.sub(root, "Reason", w.reason)
    return root


def parse_licence_application_withdrawal(element: etree._Element) -> LicenceApplicationWithdrawal:
    x.expect_root(element, L, "LicenceApplicationWithdrawal")
    f = x.Fields(element)
    return LicenceApplicationWithdrawal(
        f.text("OrganisationINN"), f.text("ApplicationNumber"),
        f.text("Reason"), f.text_opt("PowerOfAttorneyNumber"))


@dataclasses.dataclass(frozen=True)
class MissingDocumentsChecklist:
    """Answer: the application is incomplete; these documents are missing (kind → description)."""

    application_number: str
    missing: tuple[tuple[str, str], ...]


def checklist_for(application_number: str, kind: str, present: Iterable[str]) -> MissingDocumentsChecklist:
    return MissingDocumentsChecklist(application_number,
                                     tuple(missing_documents(kind, present).items()))


def build_missing_documents_checklist(c: MissingDocumentsChecklist) -> etree._Element:
    if not c.missing:
        raise x.PayloadError("MissingDocument", "a checklist names at least one document")
    root = x.root(L, "MissingDocumentsChecklist")
    x.sub(root, "ApplicationNumber", c.application_number)
    for kind, description in c.missing:
        item = x.sub(root, "MissingDocument")
        x.sub(item, "Kind", kind)
        x.sub(item, "Description", description)
    return root


def parse_missing_documents_checklist(element: etree._Element) -> MissingDocumentsChecklist:
    x.expect_root(element, L, "MissingDocumentsChecklist")
    f = x.Fields(element)
    return MissingDocumentsChecklist(
        f.text("ApplicationNumber"),
        tuple((m.text("Kind"), m.text("Description"))
              for m in map(x.Fields, f.children("MissingDocument"))))


@dataclasses.dataclass(frozen=True)
class LicenceApplicationStatus:
    """Answer (gateway or authority): the application's state."""

    application_number: str
    state: State
    comment: str | None = None


def build_licence_application_status(s: LicenceApplicationStatus) -> etree._Element:
    root = x.root(L, "LicenceApplicationStatus")
    x.sub(root, "ApplicationNumber", s.application_number)
    x.sub(root, "State", s.state)
    x.sub_opt(root, "Comment", s.comment)
    return root


def parse_licence_application_status(element: etree._Element) -> LicenceApplicationStatus:
    x.expect_root(element, L, "LicenceApplicationStatus")
    f = x.Fields(element)
    return LicenceApplicationStatus(f.text("ApplicationNumber"),
                                    f.text("State"),  # type: ignore[arg-type]
                                    f.text_opt("Comment"))


@dataclasses.dataclass(frozen=True)
class LicenceGrant:
    licence_number: str
    valid_from: date
    valid_until: date | None = None


@dataclasses.dataclass(frozen=True)
class LicenceDecision:
    """The licensing authority's decision (SendResponse): exactly one of ``granted`` or
    ``refused`` (reasons)."""

    application_number: str
    granted: LicenceGrant | None = None
    refused: tuple[str, ...] = ()

    def __post_init__(self):
        if (self.granted is None) == (not self.refused):
            raise x.PayloadError("Granted|Refused", "a decision either grants or refuses with reasons")


def build_licence_decision(d: LicenceDecision) -> etree._Element:
    root = x.root(L, "LicenceDecision")
    x.sub(root, "ApplicationNumber", d.application_number)
    if d.granted is not None:
        granted = x.sub(root, "Granted")
        x.sub(granted, "LicenceNumber", d.granted.licence_number)
        x.sub(granted, "ValidFrom", d.granted.valid_from.isoformat())
        if d.granted.valid_until is not None:
            x.sub(granted, "ValidUntil", d.granted.valid_until.isoformat())
    else:
        x.each(x.sub(root, "Refused"), "Reason", d.refused)
    return root


def parse_licence_decision(element: etree._Element) -> LicenceDecision:
    x.expect_root(element, L, "LicenceDecision")
    f = x.Fields(element)
    number = f.text("ApplicationNumber")
    found = f.child("Granted")
    if found is not None:
        granted = x.Fields(found)
        until = granted.text_opt("ValidUntil")
        return LicenceDecision(number, granted=LicenceGrant(
            granted.text("LicenceNumber"),
            x.to_date(granted.text("ValidFrom"), "Granted/ValidFrom"),
            None if until is None else x.to_date(until, "Granted/ValidUntil")))
    return LicenceDecision(number, refused=x.texts(f.need("Refused"), "Reason"))


def _samples() -> dict[str, Any]:
    from envelopes.demo_data import ROMASHKA as r
    from envelopes.payloads.samples import sha256_hex

    docs = licence_kinds()["ALCOHOL_RETAIL"].documents
    all_docs = tuple(Document(kind, f"{kind.lower()}.pdf", sha256_hex(kind.encode()),
                              f"att-{i}", f"att-{i}-sig") for i, kind in enumerate(docs, 1))
    return {
        "licensing/LicenceApplication.xml": LicenceApplication(
            inn=r.inn, ogrn=r.ogrn, kpp=r.kpp, kind="ALCOHOL_RETAIL",
            activity="Розничная продажа алкогольной продукции в магазине", addresses=(r.legal_address,),
            documents=all_docs[:2]),
        "licensing/LicenceApplicationSupplement.xml": LicenceApplicationSupplement(
            r.inn, "LIC-20261123-000005", all_docs[2:]),
        "licensing/LicenceApplicationWithdrawal.xml": LicenceApplicationWithdrawal(
            r.inn, "LIC-20261123-000005", "Деятельность не будет начата"),
        "licensing/MissingDocumentsChecklist.xml": checklist_for(
            "LIC-20261123-000005", "ALCOHOL_RETAIL", [d.kind for d in all_docs[:2]]),
        "licensing/LicenceApplicationStatus.xml": LicenceApplicationStatus(
            "LIC-20261123-000005", "under_review", "Принято к рассмотрению"),
        "licensing/LicenceDecision-granted.xml": LicenceDecision(
            "LIC-20261123-000005", granted=LicenceGrant("77РПА0012345", date(2026, 12, 1), date(2031, 12, 1))),
        "licensing/LicenceDecision-refused.xml": LicenceDecision(
            "LIC-20261123-000005", refused=("Помещение не соответствует требованиям",)),
    }


PAYLOADS = PayloadModule(
    domain=DOMAIN,
    codecs=(
        Codec(LicenceApplication, DOMAIN.qname("LicenceApplication"),
              build_licence_application, parse_licence_application),
        Codec(LicenceApplicationSupplement, DOMAIN.qname("LicenceApplicationSupplement"),
              build_licence_application_supplement, parse_licence_application_supplement),
        Codec(LicenceApplicationWithdrawal, DOMAIN.qname("LicenceApplicationWithdrawal"),
              build_licence_application_withdrawal, parse_licence_application_withdrawal),
        Codec(MissingDocumentsChecklist, DOMAIN.qname("MissingDocumentsChecklist"),
              build_missing_documents_checklist, parse_missing_documents_checklist),
        Codec(LicenceApplicationStatus, DOMAIN.qname("LicenceApplicationStatus"),
              build_licence_application_status, parse_licence_application_status),
        Codec(LicenceDecision, DOMAIN.qname("LicenceDecision"), build_licence_decision, parse_licence_decision),
    ),
    identifiers={
        DOMAIN.qname("LicenceApplication"): (
            identifier("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
            identifier("ОГРН организации", "ogrn", "lic:OGRN"),
        ),
        DOMAIN.qname("LicenceApplicationSupplement"): (
            identifier("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
        ),
        DOMAIN.qname("LicenceApplicationWithdrawal"): (
            identifier("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
        ),
    },
    samples=_samples,
)
