"""The seed data: every identifier passes the checksums of docs/payloads.md, the cross
references hold, the demo organisations are there exactly, and the files are what the generator
makes."""
from __future__ import annotations

import json
import re
from datetime import date

from envelopes.demo_data import DEMO
from envelopes.payloads import identifiers
from envelopes.payloads.poa import power_codes
from registry_stubs.register_store import RegisterStore
from registry_stubs.fixtures import generate
from registry_stubs.registers import FIXTURES

KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
OKVED = re.compile(r"[0-9]{2}(\.[0-9]{1,2}(\.[0-9]{1,2})?)?")
FAR_FUTURE = date(2030, 1, 1)


def test_every_organisation_passes_the_checksums(fixture_data):
    organisations = fixture_data["legal_entities"]
    assert len(organisations) >= 20
    for org in organisations:
        assert identifiers.inn_legal_entity(org["inn"]) is None, org["inn"]
        assert identifiers.ogrn(org["ogrn"]) is None, org["ogrn"]
        assert KPP.fullmatch(org["kpp"]), org["kpp"]
        assert org["kpp"][:4] == org["inn"][:4]  # both name the tax office the entity is registered at
        assert org["okved"] and all(OKVED.fullmatch(code) for code in org["okved"]), org["okved"]
        assert org["status"] in {"active", "liquidating", "liquidated"}
        assert identifiers.inn_person(org["head"]["inn"]) is None
        assert date.fromisoformat(org["registered_at"]).year % 100 == int(org["ogrn"][1:3])
    statuses = [o["status"] for o in organisations]
    assert statuses.count("liquidating") >= 2 and statuses.count("liquidated") >= 2
    for key in ("inn", "ogrn", "full_name"):
        assert len({o[key] for o in organisations}) == len(organisations), f"duplicate {key}"


def test_every_person_passes_the_checksums(fixture_data):
    persons = fixture_data["persons"]
    for person in persons:
        assert identifiers.inn_person(person["inn"]) is None, person["inn"]
        assert identifiers.snils(person["snils"]) is None, person["snils"]
        assert re.fullmatch(r"[0-9]{11}", person["snils"])
        assert re.fullmatch(r"[0-9]{4}", person["passport"]["series"])
        assert re.fullmatch(r"[0-9]{6}", person["passport"]["number"])
        assert date.fromisoformat(person["birth_date"]) < date(2008, 1, 1)
    for key in ("inn", "snils"):
        assert len({p[key] for p in persons}) == len(persons), f"duplicate {key}"


def test_every_head_is_in_the_persons_register_under_the_same_name(fixture_data):
    persons = {p["inn"]: p for p in fixture_data["persons"]}
    for org in fixture_data["legal_entities"]:
        head = persons[org["head"]["inn"]]
        assert [head[k] for k in ("last_name", "first_name", "middle_name")] == \
               [org["head"][k] for k in ("last_name", "first_name", "middle_name")]
    heads = {o["head"]["inn"] for o in fixture_data["legal_entities"]}
    representatives = [p for p in fixture_data["persons"] if p["inn"] not in heads]
    assert len(representatives) >= 4


def test_the_demo_organisations_are_there_exactly_and_active(fixture_data):
    organisations = {o["inn"]: o for o in fixture_data["legal_entities"]}
    persons = {p["inn"]: p for p in fixture_data["persons"]}
    for org, head_snils in DEMO.values():
        record = organisations[org.inn]
        assert (record["ogrn"], record["kpp"], record["full_name"], record["short_name"],
                record["address"], record["status"], tuple(record["okved"])) == \
               (org.ogrn, org.kpp, org.full_name, org.short_name, org.legal_address, "active", org.okved)
        assert (record["head"]["inn"], record["head"]["position"]) == (org.head.inn, org.head.position)
        head = persons[org.head.inn]
        assert (head["last_name"], head["first_name"], head["middle_name"]) == \
               (org.head.last_name, org.head.first_name, org.head.middle_name)
        assert head["passport"] == {"series": org.head.passport_series, "number": org.head.passport_number}
        assert head["birth_date"] == org.head.birth_date.isoformat() and head["snils"] == head_snils


def test_powers_of_attorney_tell_the_documented_story(fixture_data):
    """[0] active and granting reports and licence applications (not registration changes),
    [1] expired, [2] revoked; the principal's data matches ЕГРЮЛ; the representatives exist."""
    poas = fixture_data["powers_of_attorney"]
    organisations = {o["inn"]: o for o in fixture_data["legal_entities"]}
    persons = {p["inn"]: p for p in fixture_data["persons"]}
    codes = set(power_codes())
    romashka = DEMO["ROMASHKA"][0]
    assert [p["principal"]["inn"] for p in poas[:3]] == [romashka.inn] * 3
    assert poas[0]["status"] == "active" and date.fromisoformat(poas[0]["valid_until"]) > FAR_FUTURE
    assert {"REPORTS_SUBMIT", "LICENCE_APPLY"} <= set(poas[0]["powers"])
    assert "REGISTRATION_CHANGE" not in poas[0]["powers"]
    assert poas[1]["status"] == "active" and date.fromisoformat(poas[1]["valid_until"]) < date(2026, 6, 1)
    assert poas[2]["status"] == "revoked" and poas[2]["revoked_at"]
    for poa in poas:
        principal = organisations[poa["principal"]["inn"]]
        assert (poa["principal"]["ogrn"], poa["principal"]["kpp"], poa["principal"]["head_inn"]) == \
               (principal["ogrn"], principal["kpp"], principal["head"]["inn"])
        assert persons[poa["representative"]["inn"]]["snils"] == poa["representative"]["snils"]
        assert set(poa["powers"]) <= codes
        assert poa["issued_on"] <= poa["valid_until"]
    holders = {p["representative"]["inn"] for p in poas}
    assert not holders & {p["inn"] for p in fixture_data["persons"][-3:]}  # free to be empowered


def test_licences_belong_to_registered_organisations(fixture_data):
    organisations = {o["inn"]: o for o in fixture_data["legal_entities"]}
    kinds = set(json.loads((FIXTURES.parent.parent / "envelopes" / "payloads" / "licence_kinds.json")
                           .read_text(encoding="utf-8")))
    licences = fixture_data["licences"]
    assert len({lic["number"] for lic in licences}) == len(licences)
    for lic in licences:
        assert lic["holder_inn"] in organisations and lic["kind"] in kinds
        assert lic["status"] in {"active", "suspended", "revoked"}
        if organisations[lic["holder_inn"]]["status"] == "liquidated":
            assert lic["status"] == "revoked"
    assert {lic["kind"] for lic in licences if lic["status"] == "active"} == kinds


def test_the_register_takes_the_gateways_power_codes(fixture_data):
    """The stub reads the gateway's list itself (no copy to keep equal); the seeded powers of
    attorney use only codes of it."""
    assert RegisterStore().power_codes == frozenset(power_codes())
    for record in fixture_data["powers_of_attorney"]:
        assert set(record["powers"]) <= set(power_codes())


def test_the_files_are_what_the_generator_makes(fixture_data):
    """Re-running the (seeded) generator changes nothing: nobody edited the JSON by hand."""
    generated = generate.generate()
    for name, records in generated.items():
        assert json.loads(json.dumps(records, ensure_ascii=False)) == \
               json.loads((FIXTURES / name).read_text(encoding="utf-8")), name


def test_the_generator_refuses_a_bad_checksum():
    import pytest

    data = generate.generate()
    data["persons.json"][0] = dict(data["persons.json"][0], snils="11223344590")
    with pytest.raises(SystemExit, match="СНИЛС"):
        generate.check(data)
