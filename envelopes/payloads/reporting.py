"""Reporting (xsd/reporting-1.0.xsd, docs/payloads.md): the submission, the receipt (квитанция),
the refusal notice and the provider's "processed"; and report kinds with their own content XSD
(``REPORT_KINDS``, declared here and merged into :mod:`envelopes.payloads.descriptors`).

The report content travels as one namespace-qualified element; the dataclass keeps it as its
exclusive canonical form (bytes), so equal content compares equal whatever namespace
declarations surrounded it (prefixes, being part of the content, do count).
"""
from __future__ import annotations

import copy
import dataclasses
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Literal, Mapping

from lxml import etree

from envelopes.payloads import _xml as x
from envelopes.payloads._declare import Codec, DomainDescriptor, PayloadModule, ReportKind, identifier

R = "urn://smev-gateway/services/reporting/1.0"
BAL = "urn://smev-gateway/reports/balance/1.0"

DOMAIN = DomainDescriptor(
    name="reporting", namespace=R, prefix="rep", xsd="reporting-1.0.xsd",
    requests=("ReportSubmission",),
    answers=("ReportReceipt", "ReportRefusal", "ReportProcessed"),
    # the tax authority's later word on an accepted report
    provider_answers={"ReportSubmission": frozenset({"ReportProcessed", "ReportRefusal"})},
)

#: report kind code → kind
REPORT_KINDS: Mapping[str, ReportKind] = MappingProxyType(
    {"BALANCE": ReportKind("BALANCE", BAL, "bal", "Balance", "report-balance-1.0.xsd")})

PeriodCode = Literal["21", "31", "33", "34"]  # first quarter, half-year, nine months, year


def canonical(element: etree._Element) -> bytes:
    """Exclusive C14N of ``element`` alone: what the content *is*, independent of its parent."""
    return etree.tostring(copy.deepcopy(element), method="c14n", exclusive=True)


@dataclasses.dataclass(frozen=True)
class Attachment:
    file_name: str
    sha256: str  # hex, lower case
    attachment_id: str  # the SMEV attachment (AttachmentHeader / MTOM part) carrying the file
    signature_attachment_id: str | None = None  # the attachment with its detached signature


@dataclasses.dataclass(frozen=True)
class ReportSubmission:
    """Request: one report of one organisation for one period (correction 0 = first)."""

    inn: str
    kpp: str
    kind: str
    year: int
    period: PeriodCode
    content: bytes  # canonical XML of the report kind's root element, see :func:`canonical`
    correction: int = 0
    ogrn: str | None = None
    power_of_attorney: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def content_element(self) -> etree._Element:
        return etree.fromstring(self.content, etree.XMLParser(resolve_entities=False, no_network=True))


def build_report_submission(s: ReportSubmission) -> etree._Element:
    root = x.root(R, "ReportSubmission")
    x.sub(root, "OrganisationINN", s.inn)
    x.sub(root, "KPP", s.kpp)
    x.sub_opt(root, "OGRN", s.ogrn)
    for tag, value in (("ReportKind", s.kind), ("Year", str(s.year)), ("Period", s.period),
                       ("CorrectionNumber", str(s.correction))):
        x.sub(root, tag, value)
    x.sub_opt(root, "PowerOfAttorneyNumber", s.power_of_attorney)
    x.sub(root, "Content").append(s.content_element())
    for a in s.attachments:
        item = x.sub(root, "Attachment")
        x.sub(item, "FileName", a.file_name)
        x.sub(item, "SHA256", a.sha256)
        x.sub(item, "AttachmentId", a.attachment_id)
        x.sub_opt(item, "SignatureAttachmentId", a.signature_attachment_id)
    return root


def submission_content(element: etree._Element) -> etree._Element:
    """The report content element of a ``ReportSubmission`` where it sits (so that what is said
    about it, e.g. by its kind's XSD, names its place in the request)."""
    x.expect_root(element, R, "ReportSubmission")
    content = [c for c in x.need(element, "Content") if isinstance(c.tag, str)]
    if len(content) != 1:
        raise x.PayloadError("Content", "must hold exactly one element")
    return content[0]


def parse_report_submission(element: etree._Element) -> ReportSubmission:
    content = submission_content(element)
    f = x.Fields(element)
    return ReportSubmission(
        inn=f.text("OrganisationINN"), kpp=f.text("KPP"),
        ogrn=f.text_opt("OGRN"), kind=f.text("ReportKind"),
        year=x.to_int(f.text("Year"), "Year"),
        period=f.text("Period"),  # type: ignore[arg-type]
        correction=x.to_int(f.text("CorrectionNumber"), "CorrectionNumber"),
        power_of_attorney=f.text_opt("PowerOfAttorneyNumber"),
        content=canonical(content),
        attachments=tuple(Attachment(a.text("FileName"), a.text("SHA256"),
                                     a.text("AttachmentId"), a.text_opt("SignatureAttachmentId"))
                          for a in map(x.Fields, f.children("Attachment"))))


@dataclasses.dataclass(frozen=True)
class Balance:
    """Content of report kind BALANCE (xsd/report-balance-1.0.xsd), thousands of roubles."""

    non_current_assets: int
    current_assets: int
    equity: int
    liabilities: int


_BALANCE_TAGS = ("NonCurrentAssets", "CurrentAssets", "Equity", "Liabilities")


def build_balance(b: Balance) -> etree._Element:
    root = x.root(BAL, "Balance")
    for tag, value in zip(_BALANCE_TAGS, (b.non_current_assets, b.current_assets, b.equity,
                                          b.liabilities)):
        x.sub(root, tag, str(value))
    return root


def parse_balance(element: etree._Element) -> Balance:
    x.expect_root(element, BAL, "Balance")
    f = x.Fields(element)
    return Balance(*(x.to_int(f.text(tag), tag) for tag in _BALANCE_TAGS))


@dataclasses.dataclass(frozen=True)
class ReportReceipt:
    """Answer: квитанция о приёме — the report is accepted."""

    registration_number: str
    control_code: str
    received_at: datetime
    deadline: date
    late: bool
    correction: int
    supersedes: str | None = None  # registration number of the report this correction replaces


def build_report_receipt(r: ReportReceipt) -> etree._Element:
    root = x.root(R, "ReportReceipt")
    for tag, value in (("RegistrationNumber", r.registration_number), ("ControlCode", r.control_code),
                       ("ReceivedAt", r.received_at.isoformat()), ("Deadline", r.deadline.isoformat()),
                       ("Late", x.xs_bool(r.late)), ("CorrectionNumber", str(r.correction))):
        x.sub(root, tag, value)
    x.sub_opt(root, "Supersedes", r.supersedes)
    return root


def parse_report_receipt(element: etree._Element) -> ReportReceipt:
    x.expect_root(element, R, "ReportReceipt")
    f = x.Fields(element)
    return ReportReceipt(
        registration_number=f.text("RegistrationNumber"),
        control_code=f.text("ControlCode"),
        received_at=x.to_datetime(f.text("ReceivedAt"), "ReceivedAt"),
        deadline=x.to_date(f.text("Deadline"), "Deadline"),
        late=x.to_bool(f.text("Late"), "Late"),
        correction=x.to_int(f.text("CorrectionNumber"), "CorrectionNumber"),
        supersedes=f.text_opt("Supersedes"))


@dataclasses.dataclass(frozen=True)
class ReportError:
    code: str
    description: str
    xpath: str | None = None


@dataclasses.dataclass(frozen=True)
class ReportRefusal:
    """Answer: уведомление об отказе — at submission, or later by the provider (then naming the
    accepted report's registration number)."""

    errors: tuple[ReportError, ...]
    registration_number: str | None = None


def build_report_refusal(r: ReportRefusal) -> etree._Element:
    if not r.errors:
        raise x.PayloadError("Error", "a refusal names at least one error")
    root = x.root(R, "ReportRefusal")
    x.sub_opt(root, "RegistrationNumber", r.registration_number)
    for e in r.errors:
        item = x.sub(root, "Error")
        x.sub(item, "Code", e.code)
        x.sub(item, "Description", e.description)
        x.sub_opt(item, "XPath", e.xpath)
    return root


def parse_report_refusal(element: etree._Element) -> ReportRefusal:
    x.expect_root(element, R, "ReportRefusal")
    f = x.Fields(element)
    return ReportRefusal(
        errors=tuple(ReportError(e.text("Code"), e.text("Description"), e.text_opt("XPath"))
                     for e in map(x.Fields, f.children("Error"))),
        registration_number=f.text_opt("RegistrationNumber"))


@dataclasses.dataclass(frozen=True)
class ReportProcessed:
    """The provider's answer: an accepted report is processed."""

    registration_number: str
    processed_at: datetime
    comment: str | None = None


def build_report_processed(r: ReportProcessed) -> etree._Element:
    root = x.root(R, "ReportProcessed")
    x.sub(root, "RegistrationNumber", r.registration_number)
    x.sub(root, "ProcessedAt", r.processed_at.isoformat())
    x.sub_opt(root, "Comment", r.comment)
    return root


def parse_report_processed(element: etree._Element) -> ReportProcessed:
    x.expect_root(element, R, "ReportProcessed")
    f = x.Fields(element)
    return ReportProcessed(f.text("RegistrationNumber"),
                           x.to_datetime(f.text("ProcessedAt"), "ProcessedAt"),
                           f.text_opt("Comment"))


def _samples() -> dict[str, Any]:
    from envelopes.demo_data import ROMASHKA as r
    from envelopes.payloads.samples import MSK, POA_NUMBER, sha256_hex

    balance = build_balance(Balance(1200, 3400, 2500, 2100))
    return {
        "reporting/ReportSubmission.xml": ReportSubmission(
            inn=r.inn, kpp=r.kpp, ogrn=r.ogrn, kind="BALANCE", year=2026, period="31",
            content=canonical(balance), correction=0, power_of_attorney=POA_NUMBER,
            attachments=(Attachment("explanatory-note.pdf", sha256_hex(b"note"), "att-1", "att-1-sig"),)),
        "reporting/ReportReceipt.xml": ReportReceipt(
            "REP-20261123-000042", "9F3A1C22B07D4E11", datetime(2026, 7, 28, 10, 15, tzinfo=MSK),
            date(2026, 7, 30), False, 0),
        "reporting/ReportRefusal.xml": ReportRefusal((
            ReportError("DUPLICATE", "the report for 2026/31 is already accepted"),
            ReportError("CONTENT_INVALID", "Equity is missing", "/rep:ReportSubmission/rep:Content/bal:Balance"),)),
        "reporting/ReportProcessed.xml": ReportProcessed(
            "REP-20261123-000042", datetime(2026, 8, 3, 9, 0, tzinfo=MSK), "Принят в обработку без замечаний"),
    }


_BALANCE = REPORT_KINDS["BALANCE"]

PAYLOADS = PayloadModule(
    domain=DOMAIN,
    report_kinds=tuple(REPORT_KINDS.values()),
    codecs=(
        Codec(ReportSubmission, DOMAIN.qname("ReportSubmission"), build_report_submission, parse_report_submission),
        Codec(ReportReceipt, DOMAIN.qname("ReportReceipt"), build_report_receipt, parse_report_receipt),
        Codec(ReportRefusal, DOMAIN.qname("ReportRefusal"), build_report_refusal, parse_report_refusal),
        Codec(ReportProcessed, DOMAIN.qname("ReportProcessed"), build_report_processed, parse_report_processed),
        Codec(Balance, f"{{{_BALANCE.namespace}}}{_BALANCE.root}", build_balance, parse_balance),
    ),
    identifiers={
        DOMAIN.qname("ReportSubmission"): (
            identifier("ИНН организации", "inn_legal_entity", "rep:OrganisationINN"),
            identifier("ОГРН организации", "ogrn", "rep:OGRN"),
        ),
    },
    samples=_samples,
)
