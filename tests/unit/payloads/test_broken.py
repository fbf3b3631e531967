"""Broken payloads are rejected by their XSD, and the report names the field to correct."""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from envelopes.payloads import schemas
from envelopes.payloads.ns import PREFIXES

NS = dict(PREFIXES)


def _set(xpath: str, value: str):
    def mutate(root: etree._Element) -> None:
        (node,) = root.xpath(xpath, namespaces=NS)
        node.text = value
    return mutate


def _drop(xpath: str):
    def mutate(root: etree._Element) -> None:
        for node in root.xpath(xpath, namespaces=NS):
            node.getparent().remove(node)
    return mutate


def _add(after: str, tag: str, value: str):
    def mutate(root: etree._Element) -> None:
        (node,) = root.xpath(after, namespaces=NS)
        extra = etree.Element(f"{{{etree.QName(node).namespace}}}{tag}")
        extra.text = value
        node.addnext(extra)
    return mutate


def _attr(xpath: str, name: str, value: str):
    def mutate(root: etree._Element) -> None:
        (node,) = root.xpath(xpath, namespaces=NS)
        node.set(name, value)
    return mutate


E = "e:Доверенность/e:Документ/e:Довер"
CASES = [
    # (sample, mutation, the field the report must name)
    ("registration/OrganisationRegistrationRequest.xml", _set("reg:INN", "770212345"), "INN"),
    ("registration/OrganisationRegistrationRequest.xml", _set("reg:KPP", "77020100a"), "KPP"),
    ("registration/OrganisationRegistrationRequest.xml", _set("reg:OGRN", "10277001234501"), "OGRN"),
    ("registration/OrganisationRegistrationRequest.xml", _set("reg:Phone", "84951234567"), "Phone"),
    ("registration/OrganisationRegistrationRequest.xml", _set("reg:OKVED[1]", "6.01"), "OKVED"),
    ("registration/OrganisationRegistrationRequest.xml",
     _set("reg:BankDetails/reg:Account", "4070281020000001234"), "Account"),
    ("registration/OrganisationRegistrationRequest.xml", _set("reg:BankDetails/reg:BIK", "04452522"), "BIK"),
    ("registration/OrganisationRegistrationRequest.xml", _set("reg:Head/reg:Passport/reg:Series", "45 10"), "Series"),
    ("registration/OrganisationRegistrationRequest.xml", _set("reg:Head/reg:INN", "7712345678"), "INN"),
    ("registration/HeadConfirmationRequest.xml", _set("reg:HeadINN", "77123456785"), "HeadINN"),
    ("registration/OrganisationStatusChangeRequest.xml", _set("reg:Action", "pause"), "Action"),
    ("registration/RegistrationResult-rejected.xml", _set("reg:State", "unknown"), "State"),
    ("reporting/ReportSubmission.xml", _set("rep:OrganisationINN", "77021234"), "OrganisationINN"),
    ("reporting/ReportSubmission.xml", _set("rep:Period", "22"), "Period"),
    ("reporting/ReportSubmission.xml", _set("rep:CorrectionNumber", "-1"), "CorrectionNumber"),
    ("reporting/ReportSubmission.xml", _set("rep:OGRN", "102770012345"), "OGRN"),
    ("reporting/ReportSubmission.xml", _set("rep:Attachment/rep:SHA256", "abc"), "SHA256"),
    ("reporting/ReportReceipt.xml", _set("rep:Late", "maybe"), "Late"),
    ("reporting/ReportProcessed.xml", _set("rep:ProcessedAt", "yesterday"), "ProcessedAt"),
    ("licensing/LicenceApplication.xml", _set("lic:LicenceKind", "FISHING"), "LicenceKind"),
    ("licensing/LicenceApplication.xml", _set("lic:KPP", "7702010"), "KPP"),
    ("licensing/LicenceApplication.xml", _set("lic:Document[1]/lic:SHA256", "XYZ"), "SHA256"),
    ("licensing/LicenceApplicationStatus.xml", _set("lic:State", "lost"), "State"),
    ("licensing/LicenceDecision-granted.xml", _set("lic:Granted/lic:ValidFrom", "01.12.2026"), "ValidFrom"),
    ("power-of-attorney/PowerOfAttorneyRegistration.xml",
     _set("poa:Representative/poa:SNILS", "040-793-379 62"), "SNILS"),
    ("power-of-attorney/PowerOfAttorneyRegistration.xml", _set("poa:Power[1]", "EVERYTHING"), "Power"),
    ("power-of-attorney/PowerOfAttorneyRegistration.xml", _set("poa:Number", "not-a-uuid"), "Number"),
    ("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml",
     _attr(E + "/e:СвДов", "ВидДовер", "3"), "@ВидДовер"),
    ("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml",
     _attr(E + "/e:СвУпПред/e:Пред/e:СведФизЛ", "СНИЛС", "040-793-37962"), "@СНИЛС"),
    ("power-of-attorney/PowerOfAttorneyRegistration-emchd.xml",
     _attr(E + "/e:СвДоверит/e:Доверит/e:РосОргДовер/e:СвРосОрг", "КПП", "77020100"), "@КПП"),
    ("power-of-attorney/PowerOfAttorneyRevocation.xml", _set("poa:RevocationDate", "2026-13-01"), "RevocationDate"),
    ("power-of-attorney/PowerOfAttorneyRegistered.xml", _set("poa:RegisteredAt", "2026-11-20"), "RegisteredAt"),
    ("power-of-attorney/PowerOfAttorneyRejected.xml", _set("poa:Reason[1]/poa:Code", "not upper"), "Code"),
]


@pytest.mark.parametrize("name,mutate,field", CASES, ids=[f"{c[0].split('/')[1]}:{c[2]}" for c in CASES])
def test_broken_field_is_rejected_and_named(name, mutate, field, fresh):
    element = fresh(name)
    mutate(element)
    found = schemas.issues(element)
    assert found, "the broken payload passed its schema"
    assert field in {issue.field for issue in found}, found
    assert all(issue.xpath.startswith("/") for issue in found)


MISSING = [
    ("reporting/ReportSubmission.xml", _drop("rep:Content"), "Content"),
    ("licensing/LicenceApplicationSupplement.xml", _drop("lic:Document"), "Document"),
    ("power-of-attorney/PowerOfAttorneyRejected.xml", _drop("poa:Reason"), "Reason"),
    ("registration/HeadConfirmationRequest.xml", _drop("reg:RegistrationNumber"), "RegistrationNumber"),
    ("licensing/LicenceDecision-refused.xml", _drop("lic:Refused"), "Refused"),
]


@pytest.mark.parametrize("name,mutate,field", MISSING, ids=[c[2] for c in MISSING])
def test_missing_required_element_is_named(name, mutate, field, fresh):
    element = fresh(name)
    mutate(element)
    found = schemas.issues(element)
    assert found and any(field in issue.message for issue in found), found


def test_simple_structure_and_emchd_together_are_rejected(fresh, sample_elements):
    element = fresh("power-of-attorney/PowerOfAttorneyRegistration.xml")
    embedded = sample_elements["power-of-attorney/PowerOfAttorneyRegistration-emchd.xml"]
    element.append(copy.deepcopy(embedded.find("{urn://x-artefacts/EMCHD_1}Доверенность")))
    assert schemas.issues(element)


def test_unexpected_element_is_rejected(fresh):
    element = fresh("reporting/ReportReceipt.xml")
    _add("rep:Late", "Penalty", "1000")(element)
    found = schemas.issues(element)
    assert found and any("Penalty" in issue.message for issue in found)


def test_unqualified_report_content_is_rejected(fresh):
    """Content must name its report kind's namespace, so the kind's XSD can be chosen."""
    element = fresh("reporting/ReportSubmission.xml")
    content = element.find("{urn://smev-gateway/services/reporting/1.0}Content")
    content[0].tag = "Balance"
    for child in content[0]:
        child.tag = etree.QName(child).localname
    assert schemas.issues(element)
