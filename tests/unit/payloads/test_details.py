"""The change-of-details payloads (xsd/organisation-details-1.0.xsd): the smallest request round
trips, what the XSD refuses is named by field, and the change reads as the register's JSON."""
from __future__ import annotations

from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec, details as det, schemas


def test_a_phone_only_change_leaves_every_other_detail_out_and_round_trips():
    change = det.DetailsChange(ROMASHKA.inn, ROMASHKA.ogrn, ROMASHKA.kpp, phone="+74950000001")
    element = codec.build(change)
    assert schemas.issues(element) == []
    assert [child.tag.split("}")[1] for child in element] == ["INN", "OGRN", "KPP", "Phone"]
    assert codec.parse(element) == change
    assert change.changes_something
    assert change.register_changes() == {"phone": "+74950000001"}


def test_nothing_to_change_is_valid_xml_but_changes_nothing():
    """The XSD leaves every detail optional; the handler refuses an empty change."""
    change = det.DetailsChange(ROMASHKA.inn, ROMASHKA.ogrn, ROMASHKA.kpp)
    assert schemas.issues(codec.build(change)) == []
    assert not change.changes_something
    assert change.register_changes() == {}


def test_the_register_changes_carry_address_postal_code_and_head(sample_payloads):
    change = sample_payloads["details/DetailsChangeRequest.xml"]
    assert change.register_changes() == {
        "address": "г. Москва, ул. Новый Арбат, д. 15", "postal_code": "119019",
        "phone": "+74951234567", "email": "office@romashka.example",
        "head": {"inn": "770701164152", "last_name": "Яковлева", "first_name": "Ксения",
                 "middle_name": "Владимировна", "position": "Генеральный директор"}}


def test_the_xsd_names_a_bad_phone_and_a_bad_email(fresh):
    element = fresh("details/DetailsChangeRequest.xml")
    ns = {"det": det.D}
    element.find("det:Phone", ns).text = "84951234567"
    element.find("det:Email", ns).text = "not an address"
    found = {(issue.field, issue.xpath) for issue in schemas.issues(element)}
    assert ("Phone", "/det:DetailsChangeRequest/det:Phone") in found
    assert ("Email", "/det:DetailsChangeRequest/det:Email") in found


def test_a_state_outside_the_table_is_refused(fresh):
    element = fresh("details/DetailsChangeResult-applied.xml")
    element.find("{%s}State" % det.D).text = "submitted"  # transient: never an answer
    assert [issue.field for issue in schemas.issues(element)] == ["State"]
