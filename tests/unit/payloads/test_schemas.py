"""The payload XSDs: each compiles with libxml2 and with xmlschema as XSD 1.0, has its own
namespace with qualified elements, imports only siblings, and its fixed code lists agree with
the data files the gateway reads."""
from __future__ import annotations

import pytest
import xmlschema
from lxml import etree

from envelopes.payloads import licensing, ns, poa, schemas

XS = "http://www.w3.org/2001/XMLSchema"

REQUESTS_AND_ANSWERS = {
    "organisation-registration-1.0.xsd": {
        "OrganisationRegistrationRequest", "HeadConfirmationRequest", "OrganisationStatusChangeRequest",
        "RegistrationResult"},
    "reporting-1.0.xsd": {"ReportSubmission", "ReportReceipt", "ReportRefusal", "ReportProcessed"},
    "licensing-1.0.xsd": {"LicenceApplication", "LicenceApplicationSupplement", "LicenceApplicationWithdrawal",
                          "LicenceDecision", "MissingDocumentsChecklist", "LicenceApplicationStatus"},
    "power-of-attorney-1.0.xsd": {"PowerOfAttorneyRegistration", "PowerOfAttorneyRevocation",
                                  "PowerOfAttorneyRegistered", "PowerOfAttorneyRejected", "PowerOfAttorneyResult"},
    "organisation-details-1.0.xsd": {"DetailsChangeRequest", "DetailsChangeConfirmation", "DetailsChangeResult"},
    "emchd-1.xsd": {"Доверенность"},
    "report-balance-1.0.xsd": {"Balance"},
}
FILES = sorted(ns.SCHEMA_FILES.items(), key=lambda item: item[1])


def _tree(filename: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(schemas.XSD_DIR / filename), parser).getroot()


@pytest.mark.parametrize("namespace,filename", FILES, ids=[f for _, f in FILES])
def test_compiles_with_libxml2_and_xmlschema(namespace, filename):
    assert isinstance(schemas.lxml_schema(filename), etree.XMLSchema)
    detailed = schemas.detailed_schema(filename)
    assert isinstance(detailed, xmlschema.XMLSchema10)
    assert detailed.validity == "valid"
    assert detailed.target_namespace == namespace


@pytest.mark.parametrize("namespace,filename", FILES, ids=[f for _, f in FILES])
def test_own_namespace_qualified_elements_sibling_imports(namespace, filename):
    root = _tree(filename)
    assert root.get("targetNamespace") == namespace
    assert root.get("elementFormDefault") == "qualified"
    for location in root.xpath("//xs:import/@schemaLocation | //xs:include/@schemaLocation",
                               namespaces={"xs": XS}):
        assert "/" not in location and ":" not in location
        assert (schemas.XSD_DIR / location).is_file()
    assert b"<!DOCTYPE" not in (schemas.XSD_DIR / filename).read_bytes()


def test_domain_namespaces_follow_the_pattern():
    for domain, namespace in (("organisation-registration", ns.REGISTRATION), ("reporting", ns.REPORTING),
                              ("licensing", ns.LICENSING), ("power-of-attorney", ns.POWER_OF_ATTORNEY),
                              ("organisation-details", ns.DETAILS)):
        assert namespace == f"urn://smev-gateway/services/{domain}/1.0"
    assert ns.EMCHD == "urn://x-artefacts/EMCHD_1"


@pytest.mark.parametrize("filename,roots", sorted(REQUESTS_AND_ANSWERS.items()))
def test_global_elements_are_the_requests_and_answers(filename, roots):
    declared = {e.get("name") for e in _tree(filename).findall(f"{{{XS}}}element")}
    assert declared == roots


def _enumeration(filename: str, type_name: str) -> list[str]:
    return _tree(filename).xpath(f"//xs:simpleType[@name='{type_name}']//xs:enumeration/@value",
                                 namespaces={"xs": XS})


def test_licence_kinds_file_is_the_schema_list():
    assert sorted(_enumeration("licensing-1.0.xsd", "LicenceKind")) == sorted(licensing.licence_kinds())
    for kind in licensing.licence_kinds().values():
        assert kind.name and kind.documents


def test_power_codes_file_is_the_schema_list():
    codes = sorted(poa.power_codes())
    assert codes == sorted(_enumeration("power-of-attorney-1.0.xsd", "Power"))
    assert set(codes) == {"REGISTRATION_CHANGE", "REPORTS_SUBMIT", "LICENCE_APPLY", "LICENCE_WITHDRAW",
                          "POA_SUBSTITUTE", "DETAILS_CHANGE"}
