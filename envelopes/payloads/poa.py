"""Powers of attorney, МЧД (xsd/power-of-attorney-1.0.xsd, docs/payloads.md).

A registration carries either this gateway's simple structure (:class:`PowerOfAttorney`) or an
EMCHD_1 document (:class:`~envelopes.payloads.emchd.EmchdDocument`, embedded as it is). Either
way :func:`terms` gives the same :class:`PowerOfAttorney` — number, dates, principal, head,
representative, this gateway's power codes, substitution — which is what the gateway checks and
registers. Power codes and their EMCHD_1 classifier equivalents: ``powers.json``.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from lxml import etree

from envelopes.payloads import _xml as x
from envelopes.payloads import emchd
from envelopes.payloads._declare import Codec, DomainDescriptor, PayloadModule, identifier
from envelopes.payloads.emchd import E as EMCHD, EMCHD_DOC, EMCHD_ORG, EMCHD_REP

P = "urn://smev-gateway/services/power-of-attorney/1.0"

DOMAIN = DomainDescriptor(
    name="poa", namespace=P, prefix="poa", xsd="power-of-attorney-1.0.xsd", constant="POWER_OF_ATTORNEY",
    requests=("PowerOfAttorneyRegistration", "PowerOfAttorneyRevocation"),
    answers=("PowerOfAttorneyRegistered", "PowerOfAttorneyRejected", "PowerOfAttorneyResult"),
    provider_answers={"PowerOfAttorneyRegistration": frozenset({"PowerOfAttorneyRegistered",
                                                                "PowerOfAttorneyRejected"}),
                      "PowerOfAttorneyRevocation": frozenset({"PowerOfAttorneyResult"})},
)

__all__ = ["Representative", "Principal", "PowerOfAttorney", "PowerOfAttorneyRegistration",
           "PowerOfAttorneyRevocation", "PowerOfAttorneyRegistered", "PowerOfAttorneyRejected",
           "Rejection", "PowerOfAttorneyResult", "PowerCode", "power_codes", "terms", "TERM_XPATHS",
           "term_xpath"]


@dataclasses.dataclass(frozen=True)
class PowerCode:
    code: str
    name: str
    emchd_codes: tuple[str, ...]  # КодПолн of the tax service's classifier that grant it


@functools.cache
def power_codes() -> Mapping[str, PowerCode]:
    """The fixed list of power codes, from ``powers.json`` beside this module (read-only: shared)."""
    raw = json.loads(Path(__file__).with_name("powers.json").read_text(encoding="utf-8"))
    return MappingProxyType({code: PowerCode(code, item["name"], tuple(item["emchd_codes"]))
                             for code, item in raw.items()})


@dataclasses.dataclass(frozen=True)
class Representative:
    last_name: str
    first_name: str
    middle_name: str | None
    inn: str
    snils: str  # 11 digits


@dataclasses.dataclass(frozen=True)
class Principal:
    inn: str
    ogrn: str
    kpp: str
    name: str
    head_inn: str  # the head who signs the power of attorney

    @classmethod
    def of(cls, organisation) -> "Principal":
        """The principal as a registration request (:class:`~envelopes.payloads.registration.
        Organisation`) declares it: its short name if it has one, and its head."""
        return cls(organisation.inn, organisation.ogrn, organisation.kpp,
                   organisation.short_name or organisation.full_name, organisation.head.inn)


@dataclasses.dataclass(frozen=True)
class PowerOfAttorney:
    """The simple structure, and the terms of any registration (see :func:`terms`)."""

    number: str  # UUID, lower case
    issue_date: date
    valid_until: date
    principal: Principal
    representative: Representative
    powers: tuple[str, ...]
    substitution: bool = False
    parent_number: str | None = None  # a substituted power: the power it is issued under


@dataclasses.dataclass(frozen=True)
class PowerOfAttorneyRegistration:
    """Request, signed by the principal's head; ``id`` lets a PersonalSignature reference it."""

    document: PowerOfAttorney | emchd.EmchdDocument
    id: str | None = None


def build_power_of_attorney_registration(r: PowerOfAttorneyRegistration,
                                         emchd_element: etree._Element | None = None) -> etree._Element:
    """The request element. For an EMCHD_1 document, pass the issuer's own element as
    ``emchd_element`` to embed it unchanged (its signature covers it); else it is built."""
    root = x.root(P, "PowerOfAttorneyRegistration")
    if r.id is not None:
        root.set("Id", r.id)
    d = r.document
    if isinstance(d, emchd.EmchdDocument):
        root.append(emchd_element if emchd_element is not None else emchd.build_emchd(d))
        return root
    x.sub(root, "Number", d.number)
    x.sub(root, "IssueDate", d.issue_date.isoformat())
    x.sub(root, "ValidUntil", d.valid_until.isoformat())
    p = x.sub(root, "Principal")
    for tag, value in (("INN", d.principal.inn), ("OGRN", d.principal.ogrn), ("KPP", d.principal.kpp),
                       ("Name", d.principal.name), ("HeadINN", d.principal.head_inn)):
        x.sub(p, tag, value)
    rep = d.representative
    r_el = x.sub(root, "Representative")
    x.sub(r_el, "LastName", rep.last_name)
    x.sub(r_el, "FirstName", rep.first_name)
    x.sub_opt(r_el, "MiddleName", rep.middle_name)
    x.sub(r_el, "INN", rep.inn)
    x.sub(r_el, "SNILS", rep.snils)
    x.each(root, "Power", d.powers)
    x.sub(root, "Substitution", x.xs_bool(d.substitution))
    x.sub_opt(root, "ParentNumber", d.parent_number)
    return root


def parse_power_of_attorney_registration(element: etree._Element) -> PowerOfAttorneyRegistration:
    x.expect_root(element, P, "PowerOfAttorneyRegistration")
    embedded = element.find(f"{{{EMCHD}}}Доверенность")
    if embedded is not None:
        return PowerOfAttorneyRegistration(emchd.parse_emchd(embedded), element.get("Id"))
    f = x.Fields(element)
    p, r = f.fields("Principal"), f.fields("Representative")
    return PowerOfAttorneyRegistration(PowerOfAttorney(
        number=f.text("Number"),
        issue_date=x.to_date(f.text("IssueDate"), "IssueDate"),
        valid_until=x.to_date(f.text("ValidUntil"), "ValidUntil"),
        principal=Principal(p.text("INN"), p.text("OGRN"), p.text("KPP"), p.text("Name"),
                            p.text("HeadINN")),
        representative=Representative(r.text("LastName"), r.text("FirstName"),
                                      r.text_opt("MiddleName"), r.text("INN"), r.text("SNILS")),
        powers=f.texts("Power"),
        substitution=x.to_bool(f.text("Substitution"), "Substitution"),
        parent_number=(f.text_opt("ParentNumber") or "").lower() or None), element.get("Id"))


def map_emchd_powers(powers: tuple[emchd.Power, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(this gateway's codes granted, КодПолн that grant none). A КодПолн that is itself one of
    this gateway's codes grants that code."""
    granted: list[str] = []
    unmapped: list[str] = []
    for power in powers:
        codes = [c.code for c in power_codes().values()
                 if power.code == c.code or power.code in c.emchd_codes]
        if not codes:
            unmapped.append(power.code)
        granted.extend(c for c in codes if c not in granted)
    return tuple(granted), tuple(unmapped)


def terms(document: PowerOfAttorney | emchd.EmchdDocument) -> PowerOfAttorney:
    """The terms the gateway checks and registers, whichever structure carried them."""
    if isinstance(document, PowerOfAttorney):
        return document
    d = document
    p = d.principal
    if p.inn is None or p.ogrn is None:
        raise x.PayloadError("СвРосОрг/@ИННЮЛ|@ОГРН", "the principal needs its ИНН and ОГРН")
    head = next((h for h in d.heads if h.inn), None)
    if head is None:
        raise x.PayloadError("ЛицоБезДов/СвФЛ/@ИННФЛ", "the principal's head needs a ИНН")
    if len(d.representatives) != 1:
        raise x.PayloadError("СвУпПред", "exactly one representative is registered per power of attorney")
    rep = d.representatives[0]
    if rep.inn is None or rep.snils is None:
        raise x.PayloadError("СведФизЛ/@ИННФЛ|@СНИЛС", "the representative needs a ИНН and a СНИЛС")
    granted, _ = map_emchd_powers(d.powers)
    return PowerOfAttorney(
        number=d.number.lower(), issue_date=d.issue_date, valid_until=d.valid_until,
        principal=Principal(p.inn, p.ogrn, p.kpp, p.name, head.inn),  # type: ignore[arg-type]
        representative=Representative(rep.last_name, rep.first_name, rep.middle_name, rep.inn,
                                      emchd.snils_digits(rep.snils)),
        powers=granted, substitution=d.substitution != "1")


#: where each term of :func:`terms` sits in a ``PowerOfAttorneyRegistration``, relative to its
#: root, in either structure (see :func:`envelopes.payloads.schemas.field_node`)
TERM_XPATHS = MappingProxyType({
    "simple": MappingProxyType({"number": "poa:Number", "issue_date": "poa:IssueDate", "valid_until": "poa:ValidUntil",
               "principal": "poa:Principal/poa:INN", "ogrn": "poa:Principal/poa:OGRN",
               "kpp": "poa:Principal/poa:KPP", "head": "poa:Principal/poa:HeadINN",
               "representative": "poa:Representative/poa:INN", "snils": "poa:Representative/poa:SNILS",
               "powers": "poa:Power", "parent": "poa:ParentNumber"}),
    "emchd": MappingProxyType({"number": f"{EMCHD_DOC}/e:СвДов/@НомДовер", "issue_date": f"{EMCHD_DOC}/e:СвДов/@ДатаВыдДовер",
              "valid_until": f"{EMCHD_DOC}/e:СвДов/@СрокДейст",
              "principal": f"{EMCHD_ORG}/e:СвРосОрг/@ИННЮЛ", "ogrn": f"{EMCHD_ORG}/e:СвРосОрг/@ОГРН",
              "kpp": f"{EMCHD_ORG}/e:СвРосОрг/@КПП", "head": f"{EMCHD_ORG}/e:ЛицоБезДов/e:СвФЛ/@ИННФЛ",
              "representative": f"{EMCHD_REP}/e:СведФизЛ/@ИННФЛ", "snils": f"{EMCHD_REP}/e:СведФизЛ/@СНИЛС"}),
})


def term_xpath(element: etree._Element, term: str) -> str | None:
    """The path of ``term`` (a key of :data:`TERM_XPATHS`) in this registration's structure, or
    None when that structure has no such term (an EMCHD_1 document names no parent)."""
    structure = "emchd" if element.find(f"{{{EMCHD}}}Доверенность") is not None else "simple"
    return TERM_XPATHS[structure].get(term)


@dataclasses.dataclass(frozen=True)
class PowerOfAttorneyRevocation:
    """Request, signed by the principal's head."""

    number: str
    principal_inn: str
    revocation_date: date
    reason: str
    id: str | None = None


def build_power_of_attorney_revocation(r: PowerOfAttorneyRevocation) -> etree._Element:
    root = x.root(P, "PowerOfAttorneyRevocation")
    if r.id is not None:
        root.set("Id", r.id)
    x.sub(root, "Number", r.number)
    x.sub(root, "PrincipalINN", r.principal_inn)
    x.sub(root, "RevocationDate", r.revocation_date.isoformat())
    x.sub(root, "Reason", r.reason)
    return root


def parse_power_of_attorney_revocation(element: etree._Element) -> PowerOfAttorneyRevocation:
    x.expect_root(element, P, "PowerOfAttorneyRevocation")
    f = x.Fields(element)
    return PowerOfAttorneyRevocation(
        f.text("Number"), f.text("PrincipalINN"),
        x.to_date(f.text("RevocationDate"), "RevocationDate"), f.text("Reason"),
        element.get("Id"))


@dataclasses.dataclass(frozen=True)
class PowerOfAttorneyRegistered:
    """Answer: registered (active) under ``registration_number``."""

    number: str
    registration_number: str
    registered_at: datetime
    valid_until: date


def build_power_of_attorney_registered(r: PowerOfAttorneyRegistered) -> etree._Element:
    root = x.root(P, "PowerOfAttorneyRegistered")
    for tag, value in (("Number", r.number), ("RegistrationNumber", r.registration_number),
                       ("RegisteredAt", r.registered_at.isoformat()), ("ValidUntil", r.valid_until.isoformat())):
        x.sub(root, tag, value)
    return root


def parse_power_of_attorney_registered(element: etree._Element) -> PowerOfAttorneyRegistered:
    x.expect_root(element, P, "PowerOfAttorneyRegistered")
    f = x.Fields(element)
    return PowerOfAttorneyRegistered(
        f.text("Number"), f.text("RegistrationNumber"),
        x.to_datetime(f.text("RegisteredAt"), "RegisteredAt"),
        x.to_date(f.text("ValidUntil"), "ValidUntil"))


@dataclasses.dataclass(frozen=True)
class Rejection:
    code: str
    description: str
    xpath: str | None = None


@dataclasses.dataclass(frozen=True)
class PowerOfAttorneyRejected:
    """Answer: not registered, with every reason."""

    number: str
    reasons: tuple[Rejection, ...]


def build_power_of_attorney_rejected(r: PowerOfAttorneyRejected) -> etree._Element:
    if not r.reasons:
        raise x.PayloadError("Reason", "a rejection names at least one reason")
    root = x.root(P, "PowerOfAttorneyRejected")
    x.sub(root, "Number", r.number)
    for reason in r.reasons:
        item = x.sub(root, "Reason")
        x.sub(item, "Code", reason.code)
        x.sub(item, "Description", reason.description)
        x.sub_opt(item, "XPath", reason.xpath)
    return root


def parse_power_of_attorney_rejected(element: etree._Element) -> PowerOfAttorneyRejected:
    x.expect_root(element, P, "PowerOfAttorneyRejected")
    f = x.Fields(element)
    return PowerOfAttorneyRejected(
        f.text("Number"),
        tuple(Rejection(r.text("Code"), r.text("Description"), r.text_opt("XPath"))
              for r in map(x.Fields, f.children("Reason"))))


@dataclasses.dataclass(frozen=True)
class PowerOfAttorneyResult:
    """The answer the gateway sends today for registration and revocation: the state and reasons."""

    number: str
    state: str  # registered | rejected | revoked | expired
    reasons: tuple[str, ...] = ()


def build_power_of_attorney_result(r: PowerOfAttorneyResult) -> etree._Element:
    root = x.root(P, "PowerOfAttorneyResult")
    x.sub(root, "Number", r.number)
    x.sub(root, "State", r.state)
    x.each(root, "Reason", r.reasons)
    return root


def parse_power_of_attorney_result(element: etree._Element) -> PowerOfAttorneyResult:
    x.expect_root(element, P, "PowerOfAttorneyResult")
    f = x.Fields(element)
    return PowerOfAttorneyResult(f.text("Number"), f.text("State"), f.texts("Reason"))


def _samples() -> dict[str, Any]:
    from envelopes.demo_data import ROMASHKA as r
    from envelopes.payloads.samples import EMCHD_SAMPLE, MSK, POA_NUMBER, read_xml

    representative = Representative("Михайлов", "Александр", "Олегович", "161164104516", "04079337962")
    return {
        "power-of-attorney/PowerOfAttorneyRegistration.xml": PowerOfAttorneyRegistration(
            PowerOfAttorney(POA_NUMBER, date(2026, 11, 20), date(2027, 11, 20),
                            Principal(r.inn, r.ogrn, r.kpp, r.short_name, r.head.inn),
                            representative, ("REPORTS_SUBMIT", "LICENCE_APPLY"), False), id="poa-1"),
        "power-of-attorney/PowerOfAttorneyRegistration-emchd.xml": PowerOfAttorneyRegistration(
            emchd.parse_emchd(read_xml(EMCHD_SAMPLE)), id="poa-1"),
        "power-of-attorney/PowerOfAttorneyRevocation.xml": PowerOfAttorneyRevocation(
            POA_NUMBER, r.inn, date(2026, 11, 23), "Увольнение представителя", id="revocation-1"),
        "power-of-attorney/PowerOfAttorneyRegistered.xml": PowerOfAttorneyRegistered(
            POA_NUMBER, "POA-20261120-000003", datetime(2026, 11, 20, 12, 0, tzinfo=MSK), date(2027, 11, 20)),
        "power-of-attorney/PowerOfAttorneyRejected.xml": PowerOfAttorneyRejected(POA_NUMBER, (
            Rejection("NOT_HEAD", "a power of attorney must be signed by the principal's head"),
            Rejection("SNILS_MISMATCH", "Representative/SNILS does not match the persons register",
                      "/poa:PowerOfAttorneyRegistration/poa:Representative/poa:SNILS"))),
        "power-of-attorney/PowerOfAttorneyResult.xml": PowerOfAttorneyResult(POA_NUMBER, "registered"),
    }


PAYLOADS = PayloadModule(
    domain=DOMAIN,
    codecs=(
        Codec(PowerOfAttorneyRegistration, DOMAIN.qname("PowerOfAttorneyRegistration"),
              build_power_of_attorney_registration, parse_power_of_attorney_registration),
        Codec(PowerOfAttorneyRevocation, DOMAIN.qname("PowerOfAttorneyRevocation"),
              build_power_of_attorney_revocation, parse_power_of_attorney_revocation),
        Codec(PowerOfAttorneyRegistered, DOMAIN.qname("PowerOfAttorneyRegistered"),
              build_power_of_attorney_registered, parse_power_of_attorney_registered),
        Codec(PowerOfAttorneyRejected, DOMAIN.qname("PowerOfAttorneyRejected"),
              build_power_of_attorney_rejected, parse_power_of_attorney_rejected),
        Codec(PowerOfAttorneyResult, DOMAIN.qname("PowerOfAttorneyResult"),
              build_power_of_attorney_result, parse_power_of_attorney_result),
    ),
    identifiers={
        DOMAIN.qname("PowerOfAttorneyRegistration"): (
            identifier("ИНН доверителя", "inn_legal_entity", "poa:Principal/poa:INN"),
            identifier("ОГРН доверителя", "ogrn", "poa:Principal/poa:OGRN"),
            identifier("ИНН руководителя", "inn_person", "poa:Principal/poa:HeadINN"),
            identifier("ИНН представителя", "inn_person", "poa:Representative/poa:INN"),
            identifier("СНИЛС представителя", "snils", "poa:Representative/poa:SNILS"),
            # the same, when an EMCHD_1 document is embedded
            identifier("ИНН доверителя (EMCHD_1)", "inn_legal_entity", EMCHD_ORG + "/e:СвРосОрг/@ИННЮЛ"),
            identifier("ОГРН доверителя (EMCHD_1)", "ogrn", EMCHD_ORG + "/e:СвРосОрг/@ОГРН"),
            identifier("ИНН руководителя (EMCHD_1)", "inn_person", EMCHD_ORG + "/e:ЛицоБезДов/e:СвФЛ/@ИННФЛ"),
            identifier("СНИЛС руководителя (EMCHD_1)", "snils", EMCHD_ORG + "/e:ЛицоБезДов/e:СвФЛ/@СНИЛС"),
            identifier("ИНН представителя (EMCHD_1)", "inn_person", EMCHD_REP + "/e:СведФизЛ/@ИННФЛ"),
            identifier("СНИЛС представителя (EMCHD_1)", "snils", EMCHD_REP + "/e:СведФизЛ/@СНИЛС"),
            identifier("ИНН организации-представителя (EMCHD_1)", "inn_legal_entity",
                       EMCHD_REP + "/e:СведОрг/@ИННЮЛ"),
            identifier("ОГРН организации-представителя (EMCHD_1)", "ogrn", EMCHD_REP + "/e:СведОрг/@ОГРН"),
            identifier("ОГРНИП доверителя (EMCHD_1)", "ogrnip",
                       EMCHD_DOC + "/e:СвДоверит/e:Доверит/e:ИПДовер/@ОГРНИП"),
            identifier("ОГРНИП представителя (EMCHD_1)", "ogrnip", EMCHD_REP + "/e:СведИП/@ОГРНИП"),
        ),
        DOMAIN.qname("PowerOfAttorneyRevocation"): (
            identifier("ИНН доверителя", "inn_legal_entity", "poa:PrincipalINN"),
        ),
    },
    samples=_samples,
)
