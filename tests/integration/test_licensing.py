"""A licence application as the seeds tell it, over real HTTP: it lacks a document and gets the
checklist, is supplemented, is taken by the licensing authority (an external provider) and
granted with SendResponse, and the licence appears in the licence register."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from envelopes import build, ns
from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec, licensing as lic
from gateway.pipeline.participants import SERVE, add_system, grant
from gateway.registers import Registers
from gateway.ops.setup import open_pki
from gateway.storage.applications import Applications
from gateway.storage.schema import applications
from support import T, answers, fault, ok, taken

L = ns.LICENSING
DOCS = {"CHARTER": b"charter", "PREMISES_RIGHT": b"lease", "STATE_FEE": b"fee", "CASH_REGISTER": b"kkt"}


def documents(files: dict[str, bytes]) -> tuple[lic.Document, ...]:
    return tuple(lic.Document.of(kind, f"{kind.lower()}.pdf", data) for kind, data in files.items())


def application(kind, activity, addresses, files):
    return lic.build_licence_application(lic.LicenceApplication(ROMASHKA.inn, kind, activity, tuple(addresses),
                                                                documents(files)))


def withdrawal(number, reason):
    return lic.build_licence_application_withdrawal(lic.LicenceApplicationWithdrawal(ROMASHKA.inn, number, reason))


def status(number, state):
    return lic.build_licence_application_status(lic.LicenceApplicationStatus(number, state))


@pytest.fixture(scope="module")
def authority(demo_settings, engine):
    pki = open_pki(demo_settings)
    issued = pki.issue(f"licensor-{uuid.uuid4().hex[:6]}", common_name="Licensing authority",
                       key_type="ec-p256")
    add_system(engine, "LICENSOR", "Licensing authority", [issued.certificate])
    grant(engine, "LICENSOR", SERVE, L, "LicenceApplication")
    return issued.private_key, issued.certificate, {"extra_certificates": tuple(pki.intermediates())}


@pytest.fixture(scope="module")
def head(demo_client):
    key, cert, chain = demo_client
    return key, cert, {"extra_certificates": chain}


def state_of(engine, number):
    with engine.connect() as conn:
        return conn.execute(select(applications.c.state)
                            .where(applications.c.registration_number == number)).scalar_one()


def test_checklist_supplement_review_grant(gateway_url, demo_settings, engine, authority, head):
    hk, hc, hkw = head
    ak, ac, akw = authority
    partial = {k: DOCS[k] for k in ("CHARTER", "STATE_FEE")}
    apply_id = build.new_message_id()
    receipt = ok(gateway_url, build.send_request(
        application("ALCOHOL_RETAIL", "Розничная продажа алкоголя", ["г. Москва, ул. Тверская, д. 1"], partial),
        hk, hc, message_id=apply_id, **hkw))
    number = receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber")
    [checklist] = answers(gateway_url, head, apply_id)
    assert lic.parse_missing_documents_checklist(checklist) == lic.checklist_for(number, "ALCOHOL_RETAIL", partial)
    assert {kind for kind, _ in lic.parse_missing_documents_checklist(checklist).missing} == \
        {"PREMISES_RIGHT", "CASH_REGISTER"}
    assert state_of(engine, number) == "incomplete"
    assert taken(ok(gateway_url, build.get_request(ak, ac, **akw)), "Request") is None  # held back

    supplement_id = build.new_message_id()
    ok(gateway_url, build.send_request(lic.build_licence_application_supplement(lic.LicenceApplicationSupplement(
        ROMASHKA.inn, number, documents({k: DOCS[k] for k in ("PREMISES_RIGHT", "CASH_REGISTER")}))),
        hk, hc, message_id=supplement_id, **hkw))
    [answer] = answers(gateway_url, head, supplement_id)
    assert lic.parse_licence_application_status(answer) == lic.LicenceApplicationStatus(number, "submitted")
    assert state_of(engine, number) == "submitted"

    inner, data = taken(ok(gateway_url, build.get_request(ak, ac, **akw)), "Request")  # the authority
    assert data.findtext(f"{{{T}}}MessageID") == apply_id  # the original, its signature verified
    ok(gateway_url, build.ack(apply_id, ak, ac, **akw))
    reply_to = inner.findtext(f"{{{T}}}ReplyTo")

    ok(gateway_url, build.send_response(reply_to, ak, ac, payload=status(number, "under_review"), **akw))
    assert state_of(engine, number) == "under_review"
    licence_number = f"77РПА{uuid.uuid4().int % 10**7:07d}"
    decision = lic.LicenceDecision(number, granted=lic.LicenceGrant(licence_number, date.today()))
    ok(gateway_url, build.send_response(reply_to, ak, ac, payload=lic.build_licence_decision(decision), **akw))
    assert state_of(engine, number) == "granted"
    licence = Registers(demo_settings.registers_url).licence(licence_number)
    assert licence.holder_inn == ROMASHKA.inn and licence.kind == "ALCOHOL_RETAIL"

    got = answers(gateway_url, head, apply_id)  # the consumer sees the authority's answers
    assert [codec.parse(a) for a in got] == [lic.LicenceApplicationStatus(number, "under_review"), decision]

    late = fault(gateway_url, build.send_request(withdrawal(number, "передумали"), hk, hc, **hkw))
    assert "withdraw" in late.description and "granted" in late.description


def test_each_supplement_adds_to_the_documents_of_the_earlier_ones(gateway_url, engine, head):
    """Two supplements, each bringing one missing document: the second completes the application
    because the first one's document still counts (it once was forgotten), and the timeline
    names every step with the message that made it."""
    hk, hc, hkw = head
    apply_id = build.new_message_id()
    receipt = ok(gateway_url, build.send_request(
        application("ALCOHOL_RETAIL", "Розничная продажа алкоголя", ["г. Москва"],
                    {k: DOCS[k] for k in ("CHARTER", "STATE_FEE")}), hk, hc, message_id=apply_id, **hkw))
    number = receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber")
    sent = [apply_id]
    for kind, expected in (("PREMISES_RIGHT", "incomplete"), ("CASH_REGISTER", "submitted")):
        message_id = build.new_message_id()
        ok(gateway_url, build.send_request(lic.build_licence_application_supplement(
            lic.LicenceApplicationSupplement(ROMASHKA.inn, number, documents({kind: DOCS[kind]}))),
            hk, hc, message_id=message_id, **hkw))
        sent.append(message_id)
        assert state_of(engine, number) == expected
        [answer] = answers(gateway_url, head, message_id)  # takes (and acks) the whole queue
        if expected == "incomplete":
            assert {k for k, _ in lic.parse_missing_documents_checklist(answer).missing} == {"CASH_REGISTER"}
        else:
            assert lic.parse_licence_application_status(answer) == lic.LicenceApplicationStatus(number, expected)

    store = Applications(engine)
    steps = store.transitions(store.by_number(number).id)
    assert [(s.from_state, s.to_state, s.message_id) for s in steps] == [
        (None, "incomplete", sent[0]), ("incomplete", "incomplete", sent[1]),
        ("incomplete", "submitted", sent[2])]
    assert {s.sender for s in steps} == {"ROMASHKA"}  # the demo IS that signs for the head


def test_withdrawal_before_a_decision(gateway_url, engine, head):
    hk, hc, hkw = head
    receipt = ok(gateway_url, build.send_request(
        application("PHARMACY", "Аптека", ["г. Москва"], {"CHARTER": b"c"}), hk, hc, **hkw))
    number = receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber")
    ok(gateway_url, build.send_request(withdrawal(number, "не нужно"), hk, hc, **hkw))
    assert state_of(engine, number) == "withdrawn"


def test_an_answer_must_concern_the_request_it_answers(gateway_url, engine, authority, head):
    hk, hc, hkw = head
    ak, ac, akw = authority
    numbers, reply_tos = [], {}
    for _ in range(2):
        message_id = build.new_message_id()
        receipt = ok(gateway_url, build.send_request(
            application("ALCOHOL_RETAIL", "Алкоголь", ["г. Москва"], DOCS), hk, hc, message_id=message_id, **hkw))
        numbers.append((message_id, receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber")))
    while True:
        got = taken(ok(gateway_url, build.get_request(ak, ac, **akw)), "Request")
        if got is None:
            break
        inner, data = got
        reply_tos[data.findtext(f"{{{T}}}MessageID")] = inner.findtext(f"{{{T}}}ReplyTo")
        ok(gateway_url, build.ack(data.findtext(f"{{{T}}}MessageID"), ak, ac, **akw))
    (first_id, first_number), (second_id, _) = numbers
    f = fault(gateway_url, build.send_response(reply_tos[second_id], ak, ac,
                                               payload=status(first_number, "under_review"), **akw))
    assert "is not the request this answers" in f.description
    assert state_of(engine, first_number) == "submitted"
