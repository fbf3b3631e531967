"""Change of an organisation's details over real HTTP: verified against ЕГРЮЛ, confirmed, entered
in the register after the commit (once, however often the same signed bytes arrive), refused
naming every field at fault, authorized, illegal transitions refused, and shown in the history.

The registers' stub is shared by the session, so only ROMASHKA's contacts and address change
here (its head stays: other tests sign as him); the head change is proven by the handler and
register tests (tests/unit/domains/test_details_handler.py, tests/unit/registers/test_details_write.py)."""
from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import select

from envelopes import build, ns
from envelopes.demo_data import ROMASHKA, VASILEK
from envelopes.payloads.details import (Address, DetailsChange, DetailsChangeConfirmation, NewHead,
                                         build_details_change, build_details_change_confirmation,
                                         parse_details_change_result)
from gateway.http.history import new_token
from gateway.storage.schema import applications, outbox
from registry_stubs.registers import FIXTURES
from support import answers, fault, ok, post

ROOT = "/det:DetailsChangeRequest"
#: where the payload sits in a SendRequest envelope (a mismatch's XPath is the whole path)
CONTENT = ("/soap:Envelope/soap:Body/ns:SendRequestRequest/ns:SenderProvidedRequestData/"
           "b:MessagePrimaryContent")


def at(mismatch) -> str:
    """A mismatch's XPath inside the payload."""
    assert mismatch.xpath.startswith(CONTENT + ROOT), mismatch.xpath
    return mismatch.xpath[len(CONTENT):]


@pytest.fixture
def client(demo_client):
    key, cert, chain = demo_client
    return key, cert, {"extra_certificates": chain}


def send(url, creds, payload):
    """SendRequest (sent twice by support.post: the retry must get the same receipt); the
    registration number, the result from GetResponse, and the signed bytes."""
    key, cert, kw = creds
    message_id = build.new_message_id()
    body = build.send_request(payload, key, cert, message_id=message_id, **kw)
    receipt = ok(url, body)
    [result] = answers(url, creds, message_id)
    return receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber"), parse_details_change_result(result), body


def in_egrul(demo_settings, inn: str) -> dict:
    reply = requests.get(f"{demo_settings.registers_url}/egrul/legal-entities/{inn}", timeout=5)
    assert reply.status_code == 200
    return reply.json()


def test_a_change_is_verified_confirmed_and_entered_in_egrul_once(gateway_url, client, engine, demo_settings):
    phone = f"+7495{int(build.new_message_id()[:8], 16) % 10**7:07d}"  # new on every run
    change = DetailsChange(ROMASHKA.inn, ROMASHKA.ogrn, ROMASHKA.kpp,
                           Address("г. Москва, ул. Новый Арбат, д. 15", "119019"), phone, "office@romashka.example")
    number, result, _ = send(gateway_url, client, build_details_change(change))
    assert (result.state, result.mismatches) == ("verified", ())
    assert in_egrul(demo_settings, ROMASHKA.inn).get("phone") != phone  # nothing entered yet

    key, cert, kw = client
    confirm_id = build.new_message_id()
    confirm = build.send_request(build_details_change_confirmation(DetailsChangeConfirmation(ROMASHKA.inn, number)),
                                 key, cert, message_id=confirm_id, **kw)
    first, _ = post(gateway_url, confirm)  # support.post sends it twice: same receipt bytes
    assert first.status_code == 200
    again, _ = post(gateway_url, confirm)  # and a later retry, once more
    assert again.content == first.content
    [answer] = answers(gateway_url, client, confirm_id)
    applied = parse_details_change_result(answer)
    assert (applied.state, applied.registration_number) == ("applied", number)

    record = in_egrul(demo_settings, ROMASHKA.inn)  # the outbox ran right after the commit
    assert (record["phone"], record["email"], record["address"], record["postal_code"]) == \
        (phone, "office@romashka.example", "г. Москва, ул. Новый Арбат, д. 15", "119019")
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.action, outbox.c.state, outbox.c.args)
                            .where(outbox.c.message_id == confirm_id)).all()
        state = conn.execute(select(applications.c.state)
                             .where(applications.c.registration_number == number)).scalar_one()
    assert [(r.action, r.state) for r in rows] == [("change_legal_entity_details", "done")]  # one write
    assert json.loads(rows[0].args)["changes"]["phone"] == phone
    assert state == "applied"

    # confirming again is an illegal transition: refused with the reason, nothing changes
    refused = fault(gateway_url, build.send_request(
        build_details_change_confirmation(DetailsChangeConfirmation(ROMASHKA.inn, number)), key, cert, **kw))
    assert (refused.element, refused.code) == ("AccessDenied", "ILLEGAL_TRANSITION")
    assert "'confirm' is not allowed in state 'applied'" in refused.description

    token = new_token(engine, "ROMASHKA")
    listed = requests.get(f"{gateway_url.replace('/ws', '/api/v1')}/organisations/{ROMASHKA.inn}/applications",
                          params={"kind": "organisation-details-change", "status": "applied"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert number in {item["number"] for item in listed["items"]}


def test_every_field_at_fault_is_named_and_a_rejected_change_cannot_be_confirmed(gateway_url, client, demo_settings):
    before = in_egrul(demo_settings, ROMASHKA.inn)
    persons = {p["inn"]: p for p in json.loads((FIXTURES / "persons.json").read_text("utf-8"))}
    yakovleva = persons["770701164152"]
    wrong_name = NewHead("Яковлев", yakovleva["first_name"], yakovleva["middle_name"], yakovleva["inn"], "Директор")
    number, result, _ = send(gateway_url, client, build_details_change(DetailsChange(
        ROMASHKA.inn, VASILEK.ogrn, "770201002", phone="+74950000001", new_head=wrong_name)))
    assert result.state == "rejected"
    assert [(m.field, at(m), m.submitted, m.register) for m in result.mismatches] == [
        ("ОГРН", f"{ROOT}/det:OGRN", VASILEK.ogrn, ROMASHKA.ogrn),
        ("КПП", f"{ROOT}/det:KPP", "770201002", ROMASHKA.kpp),
        ("фамилия нового руководителя", f"{ROOT}/det:NewHead/det:LastName", "Яковлев", "Яковлева")]

    _, nothing, _ = send(gateway_url, client, build_details_change(DetailsChange(ROMASHKA.inn, ROMASHKA.ogrn,
                                                                                 ROMASHKA.kpp)))
    assert [(m.field, at(m)) for m in nothing.mismatches] == [("изменения", ROOT)]

    head = ROMASHKA.head
    _, same_head, _ = send(gateway_url, client, build_details_change(DetailsChange(
        ROMASHKA.inn, ROMASHKA.ogrn, ROMASHKA.kpp,
        new_head=NewHead(head.last_name, head.first_name, head.middle_name, head.inn, head.position))))
    assert [m.rule for m in same_head.mismatches] == ["the new head must not be the head already"]

    _, unknown, _ = send(gateway_url, client, build_details_change(DetailsChange(
        "7707083893", ROMASHKA.ogrn, ROMASHKA.kpp, phone="+74950000001")))  # valid ИНН, no such entity
    assert [(m.field, at(m)) for m in unknown.mismatches] == [("ИНН", f"{ROOT}/det:INN")]

    key, cert, kw = client
    refused = fault(gateway_url, build.send_request(
        build_details_change_confirmation(DetailsChangeConfirmation(ROMASHKA.inn, number)), key, cert, **kw))
    assert (refused.element, refused.code) == ("AccessDenied", "ILLEGAL_TRANSITION")
    assert "'confirm' is not allowed in state 'rejected'" in refused.description
    assert in_egrul(demo_settings, ROMASHKA.inn) == before  # nothing of it reached the register


def test_a_bad_check_digit_is_refused_before_the_handler(gateway_url, client):
    key, cert, kw = client
    bad = ROMASHKA.ogrn[:-1] + str((int(ROMASHKA.ogrn[-1]) + 1) % 10)
    refused = fault(gateway_url, build.send_request(build_details_change(DetailsChange(
        ROMASHKA.inn, bad, ROMASHKA.kpp, phone="+74950000001")), key, cert, **kw))
    assert refused.element == "InvalidContent"
    assert any(e.get("xpath", "").endswith("det:OGRN") for e in refused.validation_errors)


def test_another_organisations_signer_needs_a_power_of_attorney(gateway_url, demo_settings):
    from gateway.ops.demo import load_client

    key, cert, chain = load_client(demo_settings, "VASILEK")  # signed by VASILEK's head
    refused = fault(gateway_url, build.send_request(build_details_change(DetailsChange(
        ROMASHKA.inn, ROMASHKA.ogrn, ROMASHKA.kpp, phone="+74950000001")), key, cert, extra_certificates=chain))
    assert (refused.element, refused.code) == ("AccessDenied", "POWER_OF_ATTORNEY_REQUIRED")
