"""Reporting as the seeds tell it, over real HTTP: a receipt with a control code, a late report
accepted and flagged late, a duplicate refused, a correction superseding the first report, a
representative submitting by power of attorney, content checked by the report kind's XSD."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from envelopes import build, ns
from envelopes.demo_data import ROMASHKA
from envelopes.reporting import balance, submission
from gateway.pipeline.participants import add_system
from gateway.ops.setup import open_pki
from gateway.storage.schema import applications
from registry_stubs.registers import FIXTURES
from support import T, ok, taken

R = ns.REPORTING


def answer(url, key, cert, kw, message_id):
    for _ in range(100):
        inner, data = taken(ok(url, build.get_response(key, cert, **kw)), "Response")
        ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), key, cert, **kw))
        if inner.findtext(f"{{{T}}}OriginalMessageId") == message_id:
            content = data.find(f"{{{ns.SMEV_BASIC}}}MessagePrimaryContent")
            return content[0]
    raise AssertionError("no answer")


@pytest.fixture(scope="module")
def head(demo_client):
    key, cert, chain = demo_client
    return key, cert, {"extra_certificates": chain}


def send(url, creds, payload):
    key, cert, kw = creds
    message_id = build.new_message_id()
    ok(url, build.send_request(payload, key, cert, message_id=message_id, **kw))
    return answer(url, key, cert, kw, message_id)


def codes(notice):
    return [e.findtext(f"{{{R}}}Code") for e in notice.findall(f"{{{R}}}Error")]


def test_late_report_is_accepted_and_flagged_late(gateway_url, head):
    receipt = send(gateway_url, head, submission(ROMASHKA.inn, ROMASHKA.kpp, 2022, "34",
                                                 balance(100, 50, 120, 30)))
    assert receipt.tag == f"{{{R}}}ReportReceipt"
    assert receipt.findtext(f"{{{R}}}Late") == "true" and receipt.findtext(f"{{{R}}}Deadline") == "2023-03-31"
    assert len(receipt.findtext(f"{{{R}}}ControlCode")) == 16


def test_duplicate_refused_and_correction_supersedes(gateway_url, head, engine):
    year = 2026  # the year report is due on 2027-03-31: on time
    first = send(gateway_url, head, submission(ROMASHKA.inn, ROMASHKA.kpp, year, "34", balance(1, 2, 3, 0)))
    assert first.findtext(f"{{{R}}}Late") == "false"
    duplicate = send(gateway_url, head, submission(ROMASHKA.inn, ROMASHKA.kpp, year, "34", balance(1, 2, 3, 0)))
    assert duplicate.tag == f"{{{R}}}ReportRefusal" and codes(duplicate) == ["DUPLICATE"]
    skipped = send(gateway_url, head, submission(ROMASHKA.inn, ROMASHKA.kpp, year, "34",
                                                 balance(1, 2, 3, 0), correction=2))
    assert codes(skipped) == ["CORRECTION_OUT_OF_SEQUENCE"]
    correction = send(gateway_url, head, submission(ROMASHKA.inn, ROMASHKA.kpp, year, "34",
                                                    balance(1, 2, 2, 1), correction=1))
    assert correction.findtext(f"{{{R}}}Supersedes") == first.findtext(f"{{{R}}}RegistrationNumber")
    with engine.connect() as conn:
        states = dict(conn.execute(select(applications.c.registration_number, applications.c.state)
                                   .where(applications.c.kind.like(f"report BALANCE {year}-34 #%"))).all())
    assert states[first.findtext(f"{{{R}}}RegistrationNumber")] == "superseded"
    assert states[correction.findtext(f"{{{R}}}RegistrationNumber")] == "accepted"


def test_content_is_validated_by_the_report_kinds_schema(gateway_url, head):
    bad = balance(1, 2, 3, 0)
    bad[2].text = "три"
    notice = send(gateway_url, head, submission(ROMASHKA.inn, ROMASHKA.kpp, 2026, "21", bad))
    assert codes(notice) == ["CONTENT_INVALID"]
    assert "Equity" in notice.findtext(f"{{{R}}}Error/{{{R}}}Description")


def test_representative_submits_by_power_of_attorney(gateway_url, demo_settings, engine):
    poa = json.loads((FIXTURES / "powers_of_attorney.json").read_text("utf-8"))[0]  # REPORTS_SUBMIT
    person = next(p for p in json.loads((FIXTURES / "persons.json").read_text("utf-8"))
                  if p["inn"] == poa["representative"]["inn"])
    pki = open_pki(demo_settings)
    issued = pki.issue(f"accountant-{uuid.uuid4().hex[:6]}", common_name=person["last_name"],
                       inn=person["inn"], key_type="ec-p256")
    add_system(engine, "ROMASHKA", ROMASHKA.full_name, [issued.certificate])
    creds = (issued.private_key, issued.certificate, {"extra_certificates": tuple(pki.intermediates())})
    receipt = send(gateway_url, creds, submission(ROMASHKA.inn, ROMASHKA.kpp, 2026, "31",
                                                  balance(5, 5, 5, 5), power_of_attorney=poa["number"]))
    assert receipt.tag == f"{{{R}}}ReportReceipt"
