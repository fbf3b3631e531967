"""Reporting as the seeds tell it, over real HTTP: a receipt with a control code, a late report
accepted and flagged late, a duplicate refused, a correction superseding the first report, a
representative submitting by power of attorney, content checked by the report kind's XSD."""
from __future__ import annotations

import json
import uuid

import pytest
from lxml import etree
from sqlalchemy import select

from envelopes import build
from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec
from envelopes.payloads.reporting import (Balance, ReportReceipt, ReportRefusal, ReportSubmission,
                                          build_balance, canonical)
from gateway.pipeline.participants import add_system
from gateway.ops.setup import open_pki
from gateway.storage.schema import applications
from registry_stubs.registers import FIXTURES
from support import answers, ok


def balance(*figures: int) -> etree._Element:
    return build_balance(Balance(*figures))


def submission(year, period, content: etree._Element, correction=0, power_of_attorney=None):
    return codec.build(ReportSubmission(ROMASHKA.inn, ROMASHKA.kpp, "BALANCE", year, period, canonical(content),
                                        correction, power_of_attorney=power_of_attorney))


@pytest.fixture(scope="module")
def head(demo_client):
    key, cert, chain = demo_client
    return key, cert, {"extra_certificates": chain}


def send(url, creds, payload) -> ReportReceipt | ReportRefusal:
    key, cert, kw = creds
    message_id = build.new_message_id()
    ok(url, build.send_request(payload, key, cert, message_id=message_id, **kw))
    [answer] = answers(url, creds, message_id)
    return codec.parse(answer)


def codes(notice: ReportRefusal) -> list[str]:
    assert isinstance(notice, ReportRefusal), notice
    return [e.code for e in notice.errors]


def test_late_report_is_accepted_and_flagged_late(gateway_url, head):
    receipt = send(gateway_url, head, submission(2022, "34", balance(100, 50, 120, 30)))
    assert isinstance(receipt, ReportReceipt), receipt
    assert receipt.late and receipt.deadline.isoformat() == "2023-03-31"
    assert len(receipt.control_code) == 16


def test_duplicate_refused_and_correction_supersedes(gateway_url, head, engine):
    year = 2026  # the year report is due on 2027-03-31: on time
    first = send(gateway_url, head, submission(year, "34", balance(1, 2, 3, 0)))
    assert isinstance(first, ReportReceipt) and not first.late
    duplicate = send(gateway_url, head, submission(year, "34", balance(1, 2, 3, 0)))
    assert codes(duplicate) == ["DUPLICATE"]
    skipped = send(gateway_url, head, submission(year, "34", balance(1, 2, 3, 0), correction=2))
    assert codes(skipped) == ["CORRECTION_OUT_OF_SEQUENCE"]
    correction = send(gateway_url, head, submission(year, "34", balance(1, 2, 2, 1), correction=1))
    assert correction.supersedes == first.registration_number
    with engine.connect() as conn:
        states = dict(conn.execute(select(applications.c.registration_number, applications.c.state)
                                   .where(applications.c.kind.like(f"report BALANCE {year}-34 #%"))).all())
    assert states[first.registration_number] == "superseded"
    assert states[correction.registration_number] == "accepted"


def test_content_is_validated_by_the_report_kinds_schema(gateway_url, head):
    bad = balance(1, 2, 3, 0)
    bad[2].text = "три"
    notice = send(gateway_url, head, submission(2026, "21", bad))
    assert codes(notice) == ["CONTENT_INVALID"]
    assert "Equity" in notice.errors[0].description


def test_representative_submits_by_power_of_attorney(gateway_url, demo_settings, engine):
    poa = json.loads((FIXTURES / "powers_of_attorney.json").read_text("utf-8"))[0]  # REPORTS_SUBMIT
    person = next(p for p in json.loads((FIXTURES / "persons.json").read_text("utf-8"))
                  if p["inn"] == poa["representative"]["inn"])
    pki = open_pki(demo_settings)
    issued = pki.issue(f"accountant-{uuid.uuid4().hex[:6]}", common_name=person["last_name"],
                       inn=person["inn"], key_type="ec-p256")
    add_system(engine, "ROMASHKA", ROMASHKA.full_name, [issued.certificate])
    creds = (issued.private_key, issued.certificate, {"extra_certificates": tuple(pki.intermediates())})
    receipt = send(gateway_url, creds, submission(2026, "31", balance(5, 5, 5, 5), power_of_attorney=poa["number"]))
    assert isinstance(receipt, ReportReceipt), receipt
