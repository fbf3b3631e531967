"""The seeds' story of a power of attorney, over real HTTP: the head registers it, the
representative acts with it, the head revokes it and the same action is refused; expired,
insufficient and missing powers are refused with the reason; nothing changes on a refusal."""
from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from envelopes import build, ns
from envelopes.demo_data import DEMO, ROMASHKA
from envelopes.payloads import codec, poa as codec_poa, reporting
from envelopes.payloads.poa import (PowerOfAttorney, PowerOfAttorneyRegistered, PowerOfAttorneyRegistration,
                                    PowerOfAttorneyRejected, PowerOfAttorneyResult, PowerOfAttorneyRevocation,
                                    Principal, Representative)
from envelopes.payloads.registration import build_organisation_registration
from gateway.pipeline.participants import add_system
from gateway.ops.setup import open_pki
from gateway.storage.schema import applications, messages
from registry_stubs.registers import FIXTURES
from support import T, answers, fault, ok

TODAY = date.today()


def registration(number, principal, representative, powers, issued, valid_until, *, substitution=False,
                 parent_number=None):
    return codec.build(PowerOfAttorneyRegistration(PowerOfAttorney(
        number, issued, valid_until, Principal.of(principal), representative, tuple(powers), substitution,
        parent_number)))


def revocation(number, principal_inn, on, reason):
    return codec.build(PowerOfAttorneyRevocation(number, principal_inn, on, reason))


def outcome(url, key, cert, kw, message_id):
    """The one answer to ``message_id``, parsed: PowerOfAttorneyRegistered or PowerOfAttorneyRejected
    to a registration, PowerOfAttorneyResult to a revocation, ReportReceipt to a report."""
    [answer] = answers(url, (key, cert, kw), message_id)
    return codec.parse(answer)


def reasons(rejected: PowerOfAttorneyRejected) -> dict[str, tuple[str, str | None]]:
    assert isinstance(rejected, PowerOfAttorneyRejected), rejected
    return {r.code: (r.description, r.xpath) for r in rejected.reasons}


def report(year, period, power_of_attorney):
    balance = reporting.canonical(reporting.build_balance(reporting.Balance(1, 1, 1, 1)))
    return codec.build(reporting.ReportSubmission(ROMASHKA.inn, ROMASHKA.kpp, "BALANCE", year, period, balance,
                                                  power_of_attorney=power_of_attorney))


def persons():
    return json.loads((FIXTURES / "persons.json").read_text("utf-8"))


def representative_credentials(demo_settings, engine, person):
    """A certificate for a representative, used through ROMASHKA's information system."""
    pki = open_pki(demo_settings)
    issued = pki.issue(f"rep-{person['inn']}-{uuid.uuid4().hex[:4]}",
                       common_name=f"{person['last_name']} {person['first_name']}",
                       inn=person["inn"], snils=person["snils"], key_type="ec-p256")
    add_system(engine, "ROMASHKA", ROMASHKA.full_name, [issued.certificate])
    return issued.private_key, issued.certificate, {"extra_certificates": tuple(pki.intermediates())}


@pytest.fixture(scope="module")
def head(demo_client):
    key, cert, chain = demo_client
    return key, cert, {"extra_certificates": chain}


def test_register_act_revoke_refuse(gateway_url, demo_settings, engine, head):
    hk, hc, hkw = head
    person = persons()[-1]  # a representative without any power yet
    rep = Representative(person["last_name"], person["first_name"], person["middle_name"],
                         person["inn"], person["snils"])
    number = str(uuid.uuid4())
    message_id = build.new_message_id()
    ok(gateway_url, build.send_request(
        registration(number, ROMASHKA, rep, ["REGISTRATION_CHANGE"], TODAY, TODAY + timedelta(days=90)),
        hk, hc, message_id=message_id, **hkw))
    result = outcome(gateway_url, hk, hc, hkw, message_id)
    assert isinstance(result, PowerOfAttorneyRegistered), result
    assert (result.number, result.valid_until) == (number, TODAY + timedelta(days=90))
    with engine.connect() as conn:  # the registration number is the one the history shows
        assert conn.execute(select(applications.c.state).where(
            applications.c.registration_number == result.registration_number)).scalar_one() == "registered"

    rk, rc, rkw = representative_credentials(demo_settings, engine, person)
    with_power = dataclasses.replace(ROMASHKA, power_of_attorney=number)
    ok(gateway_url, build.send_request(build_organisation_registration(with_power), rk, rc, **rkw))
    f = fault(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), rk, rc, **rkw))
    assert f.element == "AccessDenied" and f.code == "POWER_OF_ATTORNEY_REQUIRED"

    revoke_id = build.new_message_id()
    ok(gateway_url, build.send_request(revocation(number, ROMASHKA.inn, TODAY, "уволен"), hk, hc,
                                       message_id=revoke_id, **hkw))
    assert outcome(gateway_url, hk, hc, hkw, revoke_id) == PowerOfAttorneyResult(number, "revoked")

    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(messages)).scalar_one()
    f = fault(gateway_url, build.send_request(build_organisation_registration(with_power), rk, rc, **rkw))
    assert f.element == "AccessDenied" and f.code == "POA_REVOKED"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == before

    again = fault(gateway_url, build.send_request(revocation(number, ROMASHKA.inn, TODAY, "ещё раз"),
                                                  hk, hc, **hkw))
    assert "revoke" in again.description and "revoked" in again.description


@pytest.mark.parametrize("which,code", [(0, "POA_INSUFFICIENT"), (1, "POA_EXPIRED")])
def test_fixture_powers_that_do_not_allow_it(gateway_url, demo_settings, engine, which, code):
    poa = json.loads((FIXTURES / "powers_of_attorney.json").read_text("utf-8"))[which]
    person = next(p for p in persons() if p["inn"] == poa["representative"]["inn"])
    rk, rc, rkw = representative_credentials(demo_settings, engine, person)
    request = build_organisation_registration(dataclasses.replace(ROMASHKA, power_of_attorney=poa["number"]))
    f = fault(gateway_url, build.send_request(request, rk, rc, **rkw))
    assert f.element == "AccessDenied" and f.code == code, f.description


def test_a_power_not_signed_by_the_head_is_rejected(gateway_url, demo_settings, engine, head):
    person = persons()[-2]
    rk, rc, rkw = representative_credentials(demo_settings, engine, person)
    rep = Representative(person["last_name"], person["first_name"], None, person["inn"], person["snils"])
    number, message_id = str(uuid.uuid4()), build.new_message_id()
    ok(gateway_url, build.send_request(
        registration(number, ROMASHKA, rep, ["REPORTS_SUBMIT"], TODAY, TODAY + timedelta(days=9)),
        rk, rc, message_id=message_id, **rkw))  # a representative tries to empower himself
    result = outcome(gateway_url, rk, rc, rkw, message_id)
    description, xpath = reasons(result)["NOT_SIGNED_BY_HEAD"]
    assert "signed by the principal's head" in description
    assert xpath.endswith("/poa:PowerOfAttorneyRegistration/poa:Principal/poa:HeadINN"), xpath


def test_the_heads_personal_signature_over_the_document_suffices(gateway_url, demo_settings, engine,
                                                                  demo_client):
    """A system certificate signs the envelope (no person in it); the head signs the power of
    attorney itself with a PersonalSignature — that is who acts. A tampered one is refused."""
    from lxml import etree

    pki = open_pki(demo_settings)
    system = pki.issue(f"erp-{uuid.uuid4().hex[:6]}", common_name="ERP system of ROMASHKA",
                       inn_le=ROMASHKA.inn, key_type="ec-p256")
    add_system(engine, "ROMASHKA", ROMASHKA.full_name, [system.certificate])
    sk, sc, skw = system.private_key, system.certificate, {"extra_certificates": tuple(pki.intermediates())}
    person = persons()[-3]
    rep = Representative(person["last_name"], person["first_name"], None, person["inn"], person["snils"])

    def document():
        return registration(str(uuid.uuid4()), ROMASHKA, rep, ["REPORTS_SUBMIT"], TODAY,
                            TODAY + timedelta(days=30))

    unsigned_id = build.new_message_id()
    ok(gateway_url, build.send_request(document(), sk, sc, message_id=unsigned_id, **skw))
    result = outcome(gateway_url, sk, sc, skw, unsigned_id)
    assert set(reasons(result)) == {"NOT_SIGNED_BY_HEAD"}  # the system is not the head

    signed_id = build.new_message_id()
    ok(gateway_url, build.send_request(document(), sk, sc, message_id=signed_id,
                                       personal_signer=demo_client, **skw))
    result = outcome(gateway_url, sk, sc, skw, signed_id)
    assert isinstance(result, PowerOfAttorneyRegistered), result

    tampered = etree.fromstring(build.send_request(document(), sk, sc, personal_signer=demo_client, **skw))
    tampered.find(f".//{{{ns.POWER_OF_ATTORNEY}}}Power").text = "REGISTRATION_CHANGE"  # not what the head signed
    from signing.xmldsig import sign_detached

    holder = tampered.find(f".//{{{T}}}CallerInformationSystemSignature")
    holder.remove(holder[0])  # the system signs the tampered request anew: only the head's fails
    sign_detached(tampered.find(f".//{{{T}}}SenderProvidedRequestData"), holder, sk, sc,
                  extra_certificates=skw["extra_certificates"])
    f = fault(gateway_url, etree.tostring(tampered))
    assert f.element == "SignatureVerificationFault" and f.code == "HASH_FAILURE"


SAMPLES = FIXTURES.parent.parent / "envelopes" / "samples" / "emchd"


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("ON_EMCHD_*.xml")), ids=lambda p: p.name[:17])
def test_the_emchd_1_samples_register_as_they_are(gateway_url, demo_settings, sample):
    """Each real-format МЧД (EMCHD_1), embedded unchanged and sent by its principal's head, is
    registered while valid, and its terms are in the register."""
    from lxml import etree

    from envelopes.payloads import emchd
    from gateway.ops.demo import load_client
    from gateway.registers import Registers

    document = etree.parse(str(sample)).getroot()
    terms = emchd.parse_emchd(document)
    mnemonic = next(m for m, (org, _) in DEMO.items() if org.inn == terms.principal.inn)
    key, cert, chain = load_client(demo_settings, mnemonic)
    request = codec_poa.build_power_of_attorney_registration(PowerOfAttorneyRegistration(terms), document)
    message_id = build.new_message_id()
    ok(gateway_url, build.send_request(request, key, cert, message_id=message_id, extra_certificates=chain))
    result = outcome(gateway_url, key, cert, {"extra_certificates": chain}, message_id)
    if terms.valid_until < TODAY:  # the samples outlive their validity one day
        assert set(reasons(result)) == {"VALIDITY_ENDED"}, result
    else:
        assert isinstance(result, PowerOfAttorneyRegistered), result
        entry = Registers(demo_settings.registers_url).power_of_attorney(terms.number)
        assert (entry.principal_inn, entry.representative_inn, entry.valid_until) == \
            (terms.principal.inn, terms.representatives[0].inn, terms.valid_until)


def _emchd_for(representative: dict, number: str, powers=(("2_FNS02", "Представлять налоговую декларацию, другую отчетность"),)):
    """A tax-service МЧД (EMCHD_1) of ROMASHKA, issued today by its head to ``representative``."""
    from envelopes.payloads import emchd

    head = emchd.Person("ИВАНОВ", "ИВАН", "ИВАНОВИЧ", inn=ROMASHKA.head.inn,
                        snils="112-233-445 95", position="ГЕНЕРАЛЬНЫЙ ДИРЕКТОР")
    s = representative["snils"]
    rep = emchd.Person(representative["last_name"].upper(), representative["first_name"].upper(),
                       representative["middle_name"].upper(), inn=representative["inn"],
                       snils=f"{s[:3]}-{s[3:6]}-{s[6:9]} {s[9:]}")
    return emchd.EmchdDocument(
        number=number, internal_number="42", issue_date=TODAY, valid_until=TODAY + timedelta(days=365),
        principal=emchd.Organisation(ROMASHKA.full_name, ROMASHKA.kpp, inn=ROMASHKA.inn, ogrn=ROMASHKA.ogrn,
                                     region="77", address=ROMASHKA.legal_address),
        heads=(head,), representatives=(rep,), powers=tuple(emchd.Power(c, n) for c, n in powers))


def test_an_emchd_1_power_of_attorney_is_registered_and_used(gateway_url, demo_settings, engine, head):
    """The tax service's format as issued: the head registers it, the representative submits a
    report by it (2_FNS02 grants REPORTS_SUBMIT), the head revokes it and the same is refused."""
    hk, hc, hkw = head
    holders = {o["head"]["inn"] for o in json.loads((FIXTURES / "legal_entities.json").read_text("utf-8"))}
    person = next(p for p in persons() if p["inn"] not in holders)
    number = str(uuid.uuid4())
    request = codec.build(PowerOfAttorneyRegistration(_emchd_for(person, number)))
    message_id = build.new_message_id()
    ok(gateway_url, build.send_request(request, hk, hc, message_id=message_id, **hkw))
    assert isinstance(outcome(gateway_url, hk, hc, hkw, message_id), PowerOfAttorneyRegistered)

    pki = open_pki(demo_settings)
    issued = pki.issue(f"emchd-rep-{uuid.uuid4().hex[:6]}", common_name=person["last_name"],
                       inn=person["inn"], key_type="ec-p256")
    add_system(engine, "ROMASHKA", ROMASHKA.full_name, [issued.certificate])
    rk, rc, rkw = issued.private_key, issued.certificate, {"extra_certificates": tuple(pki.intermediates())}
    message_id = build.new_message_id()
    ok(gateway_url, build.send_request(report(2019, "21", number), rk, rc, message_id=message_id, **rkw))
    assert isinstance(outcome(gateway_url, rk, rc, rkw, message_id), reporting.ReportReceipt)

    ok(gateway_url, build.send_request(revocation(number, ROMASHKA.inn, TODAY, "отозвана"), hk, hc, **hkw))
    f = fault(gateway_url, build.send_request(report(2019, "31", number), rk, rc, **rkw))
    assert f.element == "AccessDenied" and "revoked" in f.description


def test_an_emchd_1_identifier_with_a_wrong_check_digit_is_named_by_its_attribute(gateway_url, engine, head):
    hk, hc, hkw = head
    person = dict(persons()[-1])
    person["inn"] = person["inn"][:-1] + str((int(person["inn"][-1]) + 1) % 10)
    request = codec.build(PowerOfAttorneyRegistration(_emchd_for(person, str(uuid.uuid4()))))
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(messages)).scalar_one()
    f = fault(gateway_url, build.send_request(request, hk, hc, **hkw))
    assert (f.element, f.code) == ("InvalidContent", "FIELD_RULE"), f.description
    [issue] = f.validation_errors
    assert issue["xpath"].endswith("/e:СвУпПред/e:Пред/e:СведФизЛ/@ИННФЛ"), issue
    assert "ИНН представителя (EMCHD_1)" in issue["message"] and "check digit" in issue["message"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == before


def test_an_emchd_1_rejection_names_each_term_by_its_attribute(gateway_url, head):
    """Valid checksums, wrong facts: a СНИЛС that is not the persons register's and a validity
    already over. Each reason has its code and the XPath of the EMCHD_1 attribute."""
    hk, hc, hkw = head
    holders = {o["head"]["inn"] for o in json.loads((FIXTURES / "legal_entities.json").read_text("utf-8"))}
    person = dict(next(p for p in persons() if p["inn"] not in holders))
    person["snils"] = next(p["snils"] for p in persons() if p["snils"] != person["snils"])
    document = dataclasses.replace(_emchd_for(person, str(uuid.uuid4())),
                                   issue_date=TODAY - timedelta(days=30), valid_until=TODAY - timedelta(days=1))
    message_id = build.new_message_id()
    ok(gateway_url, build.send_request(codec.build(PowerOfAttorneyRegistration(document)), hk, hc,
                                       message_id=message_id, **hkw))
    found = reasons(outcome(gateway_url, hk, hc, hkw, message_id))
    assert set(found) == {"SNILS_MISMATCH", "VALIDITY_ENDED"}, found
    assert found["SNILS_MISMATCH"][1].endswith("/e:СвУпПред/e:Пред/e:СведФизЛ/@СНИЛС")
    assert found["VALIDITY_ENDED"][1].endswith("/e:Довер/e:СвДов/@СрокДейст")


def test_substitution_within_the_parent_power_and_only_while_it_lives(gateway_url, demo_settings,
                                                                       engine, head):
    """The head empowers A with the right of substitution; A substitutes B for part of it (signed
    by A); B acts. More powers or a longer term than A's, or a parent without the right, are
    rejected with coded reasons. Once the head revokes A's power, B's is refused at use."""
    hk, hc, hkw = head
    holders = {o["head"]["inn"] for o in json.loads((FIXTURES / "legal_entities.json").read_text("utf-8"))}
    free = [p for p in persons() if p["inn"] not in holders]
    a, b = free[0], free[1]
    rep_a = Representative(a["last_name"], a["first_name"], a["middle_name"], a["inn"], a["snils"])
    rep_b = Representative(b["last_name"], b["first_name"], b["middle_name"], b["inn"], b["snils"])

    def register(document, creds):
        key, cert, kw = creds
        message_id = build.new_message_id()
        ok(gateway_url, build.send_request(document, key, cert, message_id=message_id, **kw))
        return outcome(gateway_url, key, cert, kw, message_id)

    def registered(document, creds) -> bool:
        return isinstance(register(document, creds), PowerOfAttorneyRegistered)

    parent, plain = str(uuid.uuid4()), str(uuid.uuid4())
    until = TODAY + timedelta(days=60)
    assert registered(registration(parent, ROMASHKA, rep_a, ["REPORTS_SUBMIT", "LICENCE_APPLY"], TODAY, until,
                                  substitution=True), head)
    assert registered(registration(plain, ROMASHKA, rep_a, ["REPORTS_SUBMIT"], TODAY, until), head)
    creds_a = representative_credentials(demo_settings, engine, a)

    too_much = register(registration(str(uuid.uuid4()), ROMASHKA, rep_b, ["REPORTS_SUBMIT", "LICENCE_WITHDRAW"],
                                     TODAY, until + timedelta(days=1), parent_number=parent), creds_a)
    found = reasons(too_much)
    assert set(found) == {"POWERS_EXCEED_PARENT", "VALIDITY_EXCEEDS_PARENT"}, found
    assert found["POWERS_EXCEED_PARENT"][0] == f"LICENCE_WITHDRAW not granted by {parent}"
    no_right = register(registration(str(uuid.uuid4()), ROMASHKA, rep_b, ["REPORTS_SUBMIT"], TODAY, until,
                                     parent_number=plain), creds_a)
    assert set(reasons(no_right)) == {"SUBSTITUTION_NOT_ALLOWED"}
    by_head = register(registration(str(uuid.uuid4()), ROMASHKA, rep_b, ["REPORTS_SUBMIT"], TODAY, until,
                                    parent_number=parent), head)
    found = reasons(by_head)
    assert set(found) == {"NOT_SIGNED_BY_REPRESENTATIVE"}
    assert found["NOT_SIGNED_BY_REPRESENTATIVE"][1].endswith("/poa:PowerOfAttorneyRegistration/poa:ParentNumber")

    child = str(uuid.uuid4())
    assert registered(registration(child, ROMASHKA, rep_b, ["REPORTS_SUBMIT"], TODAY, until,
                                  parent_number=parent), creds_a)
    bk, bc, bkw = representative_credentials(demo_settings, engine, b)
    ok(gateway_url, build.send_request(report(2018, "21", child), bk, bc, **bkw))

    # who substituted may take it back; the substitute may not revoke his own power
    second = str(uuid.uuid4())
    assert registered(registration(second, ROMASHKA, rep_b, ["REPORTS_SUBMIT"], TODAY, until,
                                  parent_number=parent), creds_a)
    own = register(revocation(second, ROMASHKA.inn, TODAY, "сам"), (bk, bc, bkw))
    assert own.state == "registered" and "who substituted it" in own.reasons[0]
    assert register(revocation(second, ROMASHKA.inn, TODAY, "не нужна"), creds_a) == \
        PowerOfAttorneyResult(second, "revoked")

    ok(gateway_url, build.send_request(revocation(parent, ROMASHKA.inn, TODAY, "отозвана"), hk, hc, **hkw))
    f = fault(gateway_url, build.send_request(report(2018, "31", child), bk, bc, **bkw))
    assert (f.element, f.code) == ("AccessDenied", "POA_PARENT_REVOKED"), f.description
    assert parent in f.description
