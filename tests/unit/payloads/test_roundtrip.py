"""Every builder's output is valid against its XSD (libxml2 and xmlschema agree), parses back to
the same dataclass, and the sample files in envelopes/samples/ are exactly what is built."""
from __future__ import annotations

from datetime import date

import dataclasses

import pytest
from lxml import etree

from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec, licensing, poa, registration, reporting, samples, schemas
from envelopes.payloads.ns import SCHEMA_FILES

NAMES = sorted(samples.payloads())


@pytest.mark.parametrize("name", NAMES)
def test_built_payload_is_valid(name, sample_elements):
    element = sample_elements[name]
    filename = schemas.schema_file(element)
    assert schemas.lxml_schema(filename).validate(element), schemas.lxml_schema(filename).error_log
    assert schemas.detailed_schema(filename).is_valid(element)
    assert schemas.issues(element) == []


@pytest.mark.parametrize("name", NAMES)
def test_build_then_parse_gives_the_same_dataclass(name, sample_payloads, sample_elements):
    assert codec.parse(sample_elements[name]) == sample_payloads[name]


@pytest.mark.parametrize("name", NAMES)
def test_sample_file_is_current_and_round_trips(name, sample_payloads, sample_elements):
    path = samples.SAMPLES_DIR / name
    assert path.read_bytes() == samples.serialise(sample_elements[name]), \
        "stale sample: run python -m envelopes.payloads.samples"
    element = samples.read_xml(path)
    assert schemas.issues(element) == []
    assert codec.parse(element) == sample_payloads[name]


def test_every_global_element_has_a_sample_and_a_parser(sample_elements):
    """No request or answer of the domain XSDs is left without builder, parser and sample."""
    declared = set()
    for namespace, filename in SCHEMA_FILES.items():
        tree = etree.parse(str(schemas.XSD_DIR / filename))
        declared |= {f"{{{namespace}}}{e.get('name')}"
                     for e in tree.getroot().findall("{http://www.w3.org/2001/XMLSchema}element")}
    roots = {root for root, _, _ in codec.CODECS.values()}
    assert declared == roots
    sampled = {e.tag for e in sample_elements.values()}
    embedded = {"{urn://x-artefacts/EMCHD_1}Доверенность", "{urn://smev-gateway/reports/balance/1.0}Balance"}
    assert declared - sampled == embedded  # those two travel inside other payloads' samples


REPRESENTATIVE = poa.Representative("Михайлов", "Александр", None, "161164104516", "04079337962")


def test_minimal_payloads_leave_every_optional_field_out_and_round_trip():
    """What the samples do not show: each optional field left out (None, or empty where the old
    builders treated empty as absent) is not written, validates, and parses back as left out."""
    bare_head = dataclasses.replace(ROMASHKA.head, middle_name=None)
    organisation = dataclasses.replace(ROMASHKA, short_name=None, postal_code=None, head=bare_head)
    content = reporting.canonical(reporting.build_balance(reporting.Balance(1, 2, 3, 4)))
    minimal = (
        organisation,
        reporting.ReportSubmission(ROMASHKA.inn, ROMASHKA.kpp, "BALANCE", 2026, "21", content),
        licensing.LicenceApplication(ROMASHKA.inn, "PHARMACY", "Аптека", ("г. Москва",),
                                     (licensing.Document.of("CHARTER", "charter.pdf", b"c"),)),
        licensing.LicenceDecision("N1", granted=licensing.LicenceGrant("L1", date(2026, 12, 1))),
        poa.PowerOfAttorneyRegistration(poa.PowerOfAttorney(
            "7c9e6679-7425-40de-944b-e07fc1f90ae7", date(2026, 11, 1), date(2027, 11, 1),
            poa.Principal.of(ROMASHKA), REPRESENTATIVE, ("REPORTS_SUBMIT",))),
    )
    for payload in minimal:
        element = codec.build(payload)
        assert schemas.issues(element) == [], etree.tostring(element)
        assert codec.parse(element) == payload
    empty = codec.build(dataclasses.replace(organisation, short_name="", postal_code=""))
    assert codec.parse(empty) == organisation


def test_principal_of_an_organisation_is_what_its_registration_declares():
    principal = poa.Principal.of(ROMASHKA)
    assert principal == poa.Principal(ROMASHKA.inn, ROMASHKA.ogrn, ROMASHKA.kpp, ROMASHKA.short_name,
                                      ROMASHKA.head.inn)
    assert poa.Principal.of(dataclasses.replace(ROMASHKA, short_name=None)).name == ROMASHKA.full_name
    parsed = registration.parse_organisation_registration(codec.build(ROMASHKA))
    assert poa.Principal.of(parsed) == principal


def test_codec_refuses_unknown_types_and_roots():
    with pytest.raises(TypeError):
        codec.build(object())
    with pytest.raises(Exception, match="Unknown"):
        codec.parse(etree.Element("{urn:x}Unknown"))


def test_licence_decision_is_either_granted_or_refused():
    with pytest.raises(ValueError, match="Granted|Refused"):
        licensing.LicenceDecision("N1")
    with pytest.raises(ValueError):
        licensing.LicenceDecision("N1", granted=licensing.LicenceGrant("L", date(2026, 1, 1)), refused=("r",))


def test_missing_documents_follow_the_kind():
    required = licensing.licence_kinds()["PHARMACY"].documents
    checklist = licensing.checklist_for("N1", "PHARMACY", ["CHARTER"])
    assert dict(checklist.missing) == {k: v for k, v in required.items() if k != "CHARTER"}
    assert licensing.missing_documents("PHARMACY", required) == {}


def test_parsers_name_the_missing_field(fresh):
    from envelopes.payloads import PayloadError, registration
    element = fresh("registration/HeadConfirmationRequest.xml")
    element.remove(element.find("{urn://smev-gateway/services/organisation-registration/1.0}HeadINN"))
    with pytest.raises(PayloadError) as caught:
        registration.parse_head_confirmation(element)
    assert caught.value.field == "HeadINN"
    with pytest.raises(PayloadError) as caught:
        registration.parse_head_confirmation(fresh("registration/OrganisationStatusChangeRequest.xml"))
    assert caught.value.field == "HeadConfirmationRequest"


def test_a_substituted_power_keeps_its_parent_through_build_schema_and_parse():
    parent = "7C9E6679-7425-40DE-944B-E07FC1F90AE7"
    element = codec.build(poa.PowerOfAttorneyRegistration(poa.PowerOfAttorney(
        "0b1f8e2a-5c3d-4e6f-8a9b-0c1d2e3f4a5b", date(2026, 11, 1), date(2027, 11, 1), poa.Principal.of(ROMASHKA),
        REPRESENTATIVE, ("REPORTS_SUBMIT",), parent_number=parent.lower())))
    assert schemas.issues(element) == []
    document = poa.parse_power_of_attorney_registration(element).document
    assert poa.terms(document).parent_number == parent.lower()
    rebuilt = poa.build_power_of_attorney_registration(poa.PowerOfAttorneyRegistration(document))
    assert poa.parse_power_of_attorney_registration(rebuilt).document == document
    element.find(f"{{{element.nsmap[None]}}}ParentNumber").text = "not-a-uuid"
    assert schemas.issues(element) != []
