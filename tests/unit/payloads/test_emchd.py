"""EMCHD_1 powers of attorney: real-looking documents validate against our xsd/emchd-1.xsd and read
into the terms the gateway registers; broken ones are rejected with the field named."""
from __future__ import annotations

import copy
import dataclasses
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from envelopes.payloads import PayloadError, emchd, poa, samples, schemas
from envelopes.payloads.ns import EMCHD

VALID = sorted(samples.EMCHD_DIR.glob("ON_EMCHD_*.xml"))
INVALID = {  # file → the field the report must name
    "bad-file-id.xml": "@ИдФайл",
    "bad-substitution.xml": "@ПрПередов",
    "empty-system-info.xml": "СведСист",
    "missing-number.xml": "@НомДовер",
    "no-representative.xml": "Довер",
    "short-inn.xml": "@ИННЮЛ",
    "unexpected-attribute.xml": "@Роль",
    "wrong-version.xml": "@ВерсФорм",
}


def _doc(name: str) -> etree._Element:
    return samples.read_xml(samples.EMCHD_DIR / name)


def test_there_are_valid_and_broken_samples():
    assert len(VALID) >= 3
    assert sorted(p.name for p in (samples.EMCHD_DIR / "invalid").glob("*.xml")) == sorted(INVALID)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name[:30])
def test_valid_sample_validates_with_both_validators(path: Path):
    element = samples.read_xml(path)
    assert schemas.lxml_schema("emchd-1.xsd").validate(element)
    assert schemas.detailed_schema("emchd-1.xsd").is_valid(str(path))
    doc = emchd.parse_emchd(element)
    assert path.stem == doc.file_id == emchd.file_id(doc.issue_date, doc.number)


@pytest.mark.parametrize("name,field", sorted(INVALID.items()))
def test_broken_sample_is_rejected_with_the_field(name, field):
    element = samples.read_xml(samples.EMCHD_DIR / "invalid" / name)
    assert not schemas.lxml_schema("emchd-1.xsd").validate(element)
    found = schemas.issues(element)
    assert field in {i.field for i in found}, found


def test_missing_representative_is_explained():
    found = schemas.issues(samples.read_xml(samples.EMCHD_DIR / "invalid" / "no-representative.xml"))
    assert any("СвУпПред" in i.message for i in found), found


def test_reads_a_tax_service_document():
    doc = emchd.parse_emchd(_doc("ON_EMCHD_20261102_3f2b6c1e-9a47-4d2b-8e61-5c0a7d9e1b24.xml"))
    assert doc.number == "3f2b6c1e-9a47-4d2b-8e61-5c0a7d9e1b24"
    assert (doc.internal_number, doc.issue_date, doc.valid_until) == ("17", date(2026, 11, 2), date(2027, 11, 2))
    assert (doc.revocable, doc.substitution, doc.form_flags, doc.knd, doc.tax_office) == \
        (True, "1", "00010000", "1110415", "7702")
    assert doc.tax_file_id.startswith("ON_DOVEL_7702_7702_7702123454770201001_")
    assert (doc.principal.inn, doc.principal.ogrn, doc.principal.kpp, doc.principal.region) == \
        ("7702123454", "1027700123450", "770201001", "77")
    (head,) = doc.heads
    assert (head.last_name, head.inn, head.snils, head.position) == \
        ("ИВАНОВ", "771234567859", "112-233-445 95", "ГЕНЕРАЛЬНЫЙ ДИРЕКТОР")
    (rep,) = doc.representatives
    assert rep.id_document == emchd.IdentityDocument("21", "63 52 147114", date(2020, 12, 20),
                                                     "ГУ МВД России по г. Москве", "770-001")
    assert [p.code for p in doc.powers] == ["2_FNS02", "2_FNS05", "LICENCE_APPLY"]


def test_terms_map_classifier_codes_to_the_gateways_powers():
    terms = poa.terms(emchd.parse_emchd(_doc("ON_EMCHD_20261102_3f2b6c1e-9a47-4d2b-8e61-5c0a7d9e1b24.xml")))
    assert terms.principal == poa.Principal("7702123454", "1027700123450", "770201001",
                                            'ОБЩЕСТВО С ОГРАНИЧЕННОЙ ОТВЕТСТВЕННОСТЬЮ "РОМАШКА"', "771234567859")
    assert terms.representative == poa.Representative("МИХАЙЛОВ", "АЛЕКСАНДР", "ОЛЕГОВИЧ", "161164104516",
                                                      "04079337962")
    assert terms.powers == ("REPORTS_SUBMIT", "REGISTRATION_CHANGE", "LICENCE_APPLY")
    assert terms.substitution is False


def test_unmapped_codes_are_reported_and_substitution_follows_the_flag():
    doc = emchd.parse_emchd(_doc("ON_EMCHD_20261110_a71e0c55-2d3b-4f8e-9c16-0b7e4d2a9f63.xml"))
    granted, unmapped = poa.map_emchd_powers(doc.powers)
    assert granted == ("REPORTS_SUBMIT",)
    assert unmapped == ("2_FNS03", "BBDOCS_DOCS_DCSALL_SRCDOC_SOURCEDOCS5")
    assert doc.principal.address.startswith("142700") and doc.substitution == "3"
    assert poa.terms(doc).substitution is True


def test_text_powers_and_irrevocable_document():
    doc = emchd.parse_emchd(_doc("ON_EMCHD_20261116_5b9d2e70-61c4-4a3f-b8d2-e4f17a0c3d95.xml"))
    assert doc.revocable is False and doc.powers == () and "договору поставки" in doc.powers_text
    assert poa.terms(doc).powers == ()


def test_build_parse_round_trip_and_validity():
    original = emchd.parse_emchd(_doc("ON_EMCHD_20261110_a71e0c55-2d3b-4f8e-9c16-0b7e4d2a9f63.xml"))
    built = emchd.build_emchd(original)
    assert schemas.issues(built) == []
    # what the builder writes is a subset: the summary survives intact
    assert emchd.parse_emchd(built) == original
    fresh = emchd.EmchdDocument(
        number="0b1e7c2a-5d4f-4e3a-9b8c-7d6e5f4a3b2c", internal_number="1", issue_date=date(2026, 11, 23),
        valid_until=date(2027, 11, 23), principal=emchd.Organisation("ООО «Ромашка»", "770201001", "7702123454"),
        heads=(emchd.Person("Иванов", "Иван", inn="771234567859"),),
        representatives=(emchd.Person("Михайлов", "Александр", inn="161164104516", snils="04079337962"),),
        powers=(emchd.Power("REPORTS_SUBMIT", "Представлять отчётность"),))
    element = emchd.build_emchd(fresh)
    assert schemas.issues(element) == []
    assert element.get("ИдФайл") == "ON_EMCHD_20261123_0b1e7c2a-5d4f-4e3a-9b8c-7d6e5f4a3b2c"
    assert emchd.parse_emchd(element) == fresh


def test_embedded_document_travels_unchanged(sample_elements):
    """The issuer's signature covers its bytes: the registration embeds, never rewrites."""
    registration = sample_elements["power-of-attorney/PowerOfAttorneyRegistration-emchd.xml"]
    embedded = registration.find(f"{{{EMCHD}}}Доверенность")
    original = samples.read_xml(samples.EMCHD_SAMPLE)
    c14n = lambda e: etree.tostring(copy.deepcopy(e), method="c14n", exclusive=True)  # noqa: E731
    assert c14n(embedded) == c14n(original)


def _with(name: str, old: str, new: str) -> etree._Element:
    text = (samples.EMCHD_DIR / name).read_text(encoding="utf-8")
    assert old in text
    return etree.fromstring(text.replace(old, new).encode("utf-8"))


def test_other_principals_validate_but_are_not_summarised():
    """An entrepreneur principal is valid EMCHD_1; this gateway only registers organisations'."""
    element = _with("ON_EMCHD_20261116_5b9d2e70-61c4-4a3f-b8d2-e4f17a0c3d95.xml", '<СвДоверит ТипДоверит="1">',
                    '<СвДоверит ТипДоверит="3">')
    assert schemas.issues(element) == []  # the type code alone does not change the structure
    with pytest.raises(PayloadError) as caught:
        emchd.parse_emchd(element)
    assert caught.value.field == "СвДоверит/@ТипДоверит"


def test_terms_need_one_representative_with_inn_and_snils():
    doc = emchd.parse_emchd(_doc("ON_EMCHD_20261102_3f2b6c1e-9a47-4d2b-8e61-5c0a7d9e1b24.xml"))
    two = dataclasses.replace(doc, representatives=doc.representatives * 2)
    with pytest.raises(PayloadError, match="one representative"):
        poa.terms(two)
    no_snils = dataclasses.replace(doc, representatives=(dataclasses.replace(doc.representatives[0], snils=None),))
    with pytest.raises(PayloadError) as caught:
        poa.terms(no_snils)
    assert "СНИЛС" in caught.value.field
