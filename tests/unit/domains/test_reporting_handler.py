"""The reporting handlers as pure functions: deadline and lateness by the injected clock, content
checked against its kind's XSD from the pipeline's schemas (ctx.schemas), corrections against
the applications as read, answers built with the codecs."""
from __future__ import annotations

import dataclasses
import hashlib
from datetime import date

import pytest

from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec
from envelopes.payloads.reporting import (Balance, ReportError, ReportProcessed, ReportReceipt, ReportRefusal,
                                          ReportSubmission, build_balance, canonical)
from gateway.domains.reporting.handler import deadline, provider_processed, provider_refused, submit
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.persist import registration_number
from handler_kit import MESSAGE_ID, NOW, same_decision

HEAD = ROMASHKA.head.inn


def report(year: int, period: str = "34", correction: int = 0, content: bytes | None = None) -> ReportSubmission:
    content = content or canonical(build_balance(Balance(900, 300, 1000, 200)))
    return ReportSubmission(ROMASHKA.inn, ROMASHKA.kpp, "BALANCE", year, period, content, correction)


def test_a_report_is_accepted_with_a_receipt_dated_by_the_clock(context):
    decision = submit(context(report(2028), signed_by=HEAD))
    number = registration_number(NOW, MESSAGE_ID)
    control = hashlib.sha256(f"{number}|{ROMASHKA.inn}|BALANCE|2028|34|0".encode()).hexdigest()[:16].upper()
    assert (decision.kind, decision.state, decision.forward) == ("report BALANCE 2028-34 #0", "accepted", True)
    assert codec.parse(decision.response) == ReportReceipt(number, control, NOW, date(2029, 3, 31), True, 0)
    assert decision.register_writes == ()
    on_time = submit(context(report(2029), signed_by=HEAD))  # due 2030-03-31, after the clock's day
    assert codec.parse(on_time.response).late is False and date(2030, 3, 31) > NOW.date()


def test_deadlines_per_period():
    assert [deadline(2029, p) for p in ("21", "31", "33", "34")] == \
        [date(2029, 4, 30), date(2029, 7, 30), date(2029, 10, 30), date(2030, 3, 31)]


def test_content_is_checked_by_its_kinds_schema_from_the_context(context):
    bad = build_balance(Balance(1, 2, 3, 4))
    bad[2].text = "три"
    decision = submit(context(report(2029, content=canonical(bad)), signed_by=HEAD))
    assert (decision.state, decision.forward) == ("refused", False)
    [error] = codec.parse(decision.response).errors
    assert error.code == "CONTENT_INVALID"
    assert error.xpath == "/rep:ReportSubmission/rep:Content/bal:Balance/bal:Equity"
    assert error.description.startswith(error.xpath)


def test_the_kinds_schema_is_the_pipelines_one_from_the_context(context):
    class Recording:
        def __init__(self, schemas):
            self.schemas, self.asked = schemas, []

        def get(self, filename):
            self.asked.append(filename)
            return self.schemas.get(filename)

    ctx = context(report(2029), signed_by=HEAD)
    recording = Recording(ctx.schemas)
    assert submit(dataclasses.replace(ctx, schemas=recording)).state == "accepted"
    assert recording.asked == ["report-balance-1.0.xsd"]


@pytest.fixture
def accepted(applications):
    return applications.open("reporting", "report BALANCE 2029-34 #0", ROMASHKA.inn, "accepted", report(2029),
                             message_id=MESSAGE_ID)


def test_a_duplicate_is_refused_and_a_correction_supersedes(context, accepted):
    duplicate = submit(context(report(2029), signed_by=HEAD))
    assert [e.code for e in codec.parse(duplicate.response).errors] == ["DUPLICATE"]
    skipped = submit(context(report(2029, correction=2), signed_by=HEAD))
    assert [e.code for e in codec.parse(skipped.response).errors] == ["CORRECTION_OUT_OF_SEQUENCE"]
    correction = submit(context(report(2029, correction=1), signed_by=HEAD))
    assert correction.also_moves == ((accepted.id, "accepted", "superseded"),)
    assert codec.parse(correction.response).supersedes == accepted.registration_number


def test_the_tax_office_processes_or_refuses_the_report_it_was_sent(context, accepted):
    number = accepted.registration_number
    processed = provider_processed(context(ReportProcessed(number, NOW), signed_by=None))
    assert (processed.state, processed.application_id, processed.from_state) == \
        ("processed", accepted.id, "accepted")
    refusal = ReportRefusal((ReportError("0400400007", "контрольное соотношение не выполняется"),), number)
    refused = provider_refused(context(refusal, signed_by=None))
    assert (refused.state, refused.register_writes) == ("refused", ())
    with pytest.raises(IllegalTransition) as unnamed:
        provider_refused(context(dataclasses.replace(refusal, registration_number=None), signed_by=None))
    assert unnamed.value.code == "REGISTRATION_NUMBER_REQUIRED"
    with pytest.raises(IllegalTransition) as other:
        provider_processed(context(ReportProcessed(number, NOW), signed_by=None,
                                   message_id="5c5a7a3e-53f5-4c1e-9d4b-0a1b2c3d4e5f"))
    assert other.value.code == "ANSWER_TO_ANOTHER_REPORT"


def test_the_same_inputs_give_the_same_decision(context, accepted):
    assert same_decision(submit(context(report(2029, correction=1), signed_by=HEAD)),
                         submit(context(report(2029, correction=1), signed_by=HEAD)))
