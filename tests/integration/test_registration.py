"""Organisation registration as the seeds tell it, over real HTTP: checked against ЕГРЮЛ,
rejected naming every mismatching field, confirmed by the head, and safe when the register is
down."""
from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import func, select

from conftest import serve_wsgi
from envelopes import build, ns
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import (HeadConfirmation, RegistrationResult, StatusChange,
                                             build_head_confirmation, build_organisation_registration,
                                             build_status_change, parse_registration_result)
from gateway.storage.schema import applications, messages
from registry_stubs.registers import FIXTURES
from support import answers, fault, ok


def answer(url, key, cert, kw, message_id) -> RegistrationResult:
    """The RegistrationResult for ``message_id`` from the consumer's GetResponse queue."""
    [result] = answers(url, (key, cert, kw), message_id)
    return parse_registration_result(result)


def confirmation(org, number, head_inn=None):
    return build_head_confirmation(HeadConfirmation(org.inn, org.ogrn, head_inn or org.head.inn, number))


@pytest.fixture
def client(demo_client):
    key, cert, chain = demo_client
    return key, cert, {"extra_certificates": chain}


def test_wrong_ogrn_is_rejected_naming_the_field_and_the_register_value(gateway_url, client):
    key, cert, kw = client
    other = "1027700132195"  # a valid ОГРН (checksum), but not ROMASHKA's
    message_id = build.new_message_id()
    ok(gateway_url, build.send_request(build_organisation_registration(dataclasses.replace(ROMASHKA, ogrn=other)),
                                       key, cert, message_id=message_id, **kw))
    result = answer(gateway_url, key, cert, kw, message_id)
    assert result.state == "rejected"
    [mismatch] = result.mismatches
    assert mismatch.field == "ОГРН"
    assert mismatch.xpath.endswith("reg:OrganisationRegistrationRequest/reg:OGRN")
    assert (mismatch.submitted, mismatch.register) == (other, ROMASHKA.ogrn)


def test_liquidated_organisation_is_rejected(gateway_url, demo_settings, engine):
    from gateway.pipeline.participants import SEND, add_system, grant
    from gateway.ops.setup import open_pki

    liquidated = next(o for o in json.loads((FIXTURES / "legal_entities.json").read_text("utf-8"))
                      if o["status"] == "liquidated")
    head = liquidated["head"]
    pki = open_pki(demo_settings)
    issued = pki.issue(f"liq-{liquidated['inn']}", common_name=head["last_name"], inn=head["inn"],
                       inn_le=liquidated["inn"], ogrn=liquidated["ogrn"], key_type="ec-p256")
    add_system(engine, "LIQUIDATED", "A liquidated company's ERP", [issued.certificate])
    grant(engine, "LIQUIDATED", SEND, ns.REGISTRATION)
    key, cert, kw = issued.private_key, issued.certificate, {"extra_certificates": tuple(pki.intermediates())}
    org = dataclasses.replace(ROMASHKA, inn=liquidated["inn"], ogrn=liquidated["ogrn"],
                              kpp=liquidated["kpp"], full_name=liquidated["full_name"],
                              head=dataclasses.replace(ROMASHKA.head, inn=head["inn"],
                                                       last_name=head["last_name"]))
    message_id = build.new_message_id()
    ok(gateway_url, build.send_request(build_organisation_registration(org), key, cert, message_id=message_id, **kw))
    result = answer(gateway_url, key, cert, kw, message_id)
    assert {m.field: m.register for m in result.mismatches}.get("статус") == "liquidated"


def test_head_confirms_and_the_organisation_becomes_active(gateway_url, client, engine):
    key, cert, kw = client  # ROMASHKA's certificate is its head's (Иванов, ИНН 771234567859)
    message_id = build.new_message_id()
    receipt = ok(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                                 message_id=message_id, **kw))
    number = receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber")
    assert answer(gateway_url, key, cert, kw, message_id).state == "verified"

    confirm_id = build.new_message_id()
    ok(gateway_url, build.send_request(confirmation(ROMASHKA, number), key, cert,
                                       message_id=confirm_id, **kw))
    result = answer(gateway_url, key, cert, kw, confirm_id)
    assert (result.state, result.registration_number) == ("active", number)
    with engine.connect() as conn:
        state = conn.execute(select(applications.c.state)
                             .where(applications.c.registration_number == number)).scalar_one()
    assert state == "active"

    # confirming again is an illegal transition: refused with the reason, nothing changes
    again = fault(gateway_url, build.send_request(confirmation(ROMASHKA, number), key, cert, **kw))
    assert "head_confirmed" in again.description and "active" in again.description


def test_confirmation_by_someone_else_than_the_head_changes_nothing(gateway_url, demo_settings, client, engine):
    from gateway.ops.demo import load_client

    key, cert, kw = client
    message_id = build.new_message_id()
    receipt = ok(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                                 message_id=message_id, **kw))
    number = receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber")
    answer(gateway_url, key, cert, kw, message_id)
    vkey, vcert, vchain = load_client(demo_settings, "VASILEK")  # another organisation's head
    confirm_id = build.new_message_id()
    ok(gateway_url, build.send_request(confirmation(ROMASHKA, number), vkey, vcert,
                                       message_id=confirm_id, extra_certificates=vchain))
    result = answer(gateway_url, vkey, vcert, {"extra_certificates": vchain}, confirm_id)
    assert result.state == "verified"
    assert "подпись" in {m.field for m in result.mismatches}


def test_register_down_is_a_retryable_failure_and_nothing_is_written(demo_settings, engine, client):
    from gateway.wiring import build_app

    settings = dataclasses.replace(demo_settings, registers_url="http://127.0.0.1:9",
                                   registers_timeout=0.5)
    server, base = serve_wsgi(build_app(settings, engine=engine))
    try:
        key, cert, kw = client
        with engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(messages)).scalar_one()
        f = fault(f"{base}/ws", build.send_request(build_organisation_registration(ROMASHKA), key, cert, **kw))
        assert f.element == "SMEVFailure" and f.code == "REGISTER_UNAVAILABLE"
        assert f.faultcode == "soap:Server"
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == before
    finally:
        server.shutdown()


def status_change(org, number, action):
    return build_status_change(StatusChange(org.inn, number, action, "проверка"))


def test_suspend_resume_close_along_the_transition_table(gateway_url, client, engine):
    key, cert, kw = client
    message_id = build.new_message_id()
    receipt = ok(gateway_url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                                 message_id=message_id, **kw))
    number = receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber")
    answer(gateway_url, key, cert, kw, message_id)
    early = fault(gateway_url, build.send_request(status_change(ROMASHKA, number, "suspend"), key, cert, **kw))
    assert "'suspend' is not allowed in state 'verified'" in early.description
    ok(gateway_url, build.send_request(confirmation(ROMASHKA, number), key, cert, **kw))
    for action, expected in (("suspend", "suspended"), ("resume", "active"), ("close", "closed")):
        change_id = build.new_message_id()
        ok(gateway_url, build.send_request(status_change(ROMASHKA, number, action), key, cert,
                                           message_id=change_id, **kw))
        assert answer(gateway_url, key, cert, kw, change_id).state == expected
    with engine.connect() as conn:
        assert conn.execute(select(applications.c.state)
                            .where(applications.c.registration_number == number)).scalar_one() == "closed"
    late = fault(gateway_url, build.send_request(status_change(ROMASHKA, number, "resume"), key, cert, **kw))
    assert "no event is allowed" in late.description
