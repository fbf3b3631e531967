"""The tax office's later word on accepted reports, over real HTTP: it takes them with GetRequest
and answers with SendResponse, processed (accepted → processed) or refused with error codes
(accepted → refused); the consumer reads that answer with GetResponse. Refused reports never
reach it, an answer about another report or a superseded one changes nothing."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from envelopes import build, ns
from envelopes.demo_data import ROMASHKA
from envelopes.payloads import reporting as codec
from envelopes.payloads.codec import parse
from gateway.ops.demo import load_client
from gateway.storage.schema import applications
from support import T, answers, fault, ok, taken

R = ns.REPORTING


@pytest.fixture(scope="module")
def head(demo_client):
    key, cert, chain = demo_client
    return key, cert, {"extra_certificates": chain}


@pytest.fixture(scope="module")
def tax(demo_settings):
    key, cert, chain = load_client(demo_settings, "TAXOFFICE")  # made by `gateway setup`
    return key, cert, {"extra_certificates": chain}


def submit(url, creds, year, period, correction=0):
    """(MessageID, the gateway's answer) of a BALANCE report."""
    key, cert, kw = creds
    message_id = build.new_message_id()
    content = codec.canonical(codec.build_balance(codec.Balance(1, 2, 3, 0)))
    report = codec.ReportSubmission(ROMASHKA.inn, ROMASHKA.kpp, "BALANCE", year, period, content, correction)
    ok(url, build.send_request(codec.build_report_submission(report), key, cert, message_id=message_id, **kw))
    [answer] = answers(url, creds, message_id)
    return message_id, parse(answer)  # ReportReceipt or ReportRefusal


def take_all(url, creds) -> dict[str, str]:
    """The tax office works through its queue: MessageID → ReplyTo of every report it took."""
    key, cert, kw = creds
    reply_to = {}
    while (got := taken(ok(url, build.get_request(key, cert, namespace=R, root="ReportSubmission",
                                                  **kw)), "Request")) is not None:
        inner, data = got
        message_id = data.findtext(f"{{{T}}}MessageID")
        ok(url, build.ack(message_id, key, cert, **kw))
        reply_to[message_id] = inner.findtext(f"{{{T}}}ReplyTo")
    return reply_to


def state_of(engine, number):
    with engine.connect() as conn:
        return conn.execute(select(applications.c.state)
                            .where(applications.c.registration_number == number)).scalar_one()


def number_of(receipt: codec.ReportReceipt) -> str:
    return receipt.registration_number


def processed(number):
    return codec.build_report_processed(codec.ReportProcessed(number, datetime.now(timezone.utc)))


def test_accepted_report_is_processed_and_the_consumer_reads_it(gateway_url, engine, head, tax):
    tk, tc, tkw = tax
    message_id, receipt = submit(gateway_url, head, 2025, "21")
    number = number_of(receipt)
    reply_to = take_all(gateway_url, tax)[message_id]  # the original, its signature verified
    ok(gateway_url, build.send_response(reply_to, tk, tc, payload=codec.build_report_processed(
        codec.ReportProcessed(number, datetime.now(timezone.utc), "принят в обработку")), **tkw))
    assert state_of(engine, number) == "processed"
    [answer] = answers(gateway_url, head, message_id)
    parsed = codec.parse_report_processed(answer)
    assert (parsed.registration_number, parsed.comment) == (number, "принят в обработку")

    again = fault(gateway_url, build.send_response(reply_to, tk, tc, payload=processed(number), **tkw))
    assert again.code == "ILLEGAL_TRANSITION" and "'processed' is not allowed in state 'processed'" \
        in again.description


def test_tax_office_refuses_an_accepted_report_with_error_codes(gateway_url, engine, head, tax):
    tk, tc, tkw = tax
    message_id, receipt = submit(gateway_url, head, 2025, "31")
    number = number_of(receipt)
    reply_to = take_all(gateway_url, tax)[message_id]
    refusal = codec.ReportRefusal((codec.ReportError("0400400007", "контрольное соотношение 1.1 "
                                                     "не выполняется"),), number)
    ok(gateway_url, build.send_response(reply_to, tk, tc, payload=codec.build_report_refusal(refusal),
                                        **tkw))
    assert state_of(engine, number) == "refused"
    [answer] = answers(gateway_url, head, message_id)
    assert codec.parse_report_refusal(answer) == refusal


def test_a_refusal_must_name_the_report(gateway_url, engine, head, tax):
    tk, tc, tkw = tax
    message_id, receipt = submit(gateway_url, head, 2025, "33")
    reply_to = take_all(gateway_url, tax)[message_id]
    anonymous = codec.build_report_refusal(codec.ReportRefusal((codec.ReportError("E", "нет"),)))
    f = fault(gateway_url, build.send_response(reply_to, tk, tc, payload=anonymous, **tkw))
    assert f.code == "REGISTRATION_NUMBER_REQUIRED"
    assert state_of(engine, number_of(receipt)) == "accepted"


def test_refused_reports_never_reach_the_tax_office(gateway_url, head, tax):
    take_all(gateway_url, tax)
    first_id, _ = submit(gateway_url, head, 2024, "21")
    duplicate_id, notice = submit(gateway_url, head, 2024, "21")
    assert isinstance(notice, codec.ReportRefusal)
    assert set(take_all(gateway_url, tax)) == {first_id}


def test_an_answer_about_another_or_a_superseded_report_changes_nothing(gateway_url, engine, head,
                                                                        tax):
    tk, tc, tkw = tax
    first_id, first = submit(gateway_url, head, 2023, "34")
    other_id, other = submit(gateway_url, head, 2023, "21")
    reply_to = take_all(gateway_url, tax)
    f = fault(gateway_url, build.send_response(reply_to[other_id], tk, tc,
                                               payload=processed(number_of(first)), **tkw))
    assert f.code == "ANSWER_TO_ANOTHER_REPORT" and state_of(engine, number_of(first)) == "accepted"

    _, correction = submit(gateway_url, head, 2023, "34", correction=1)
    assert state_of(engine, number_of(first)) == "superseded"
    f = fault(gateway_url, build.send_response(reply_to[first_id], tk, tc,
                                               payload=processed(number_of(first)), **tkw))
    assert f.code == "ILLEGAL_TRANSITION" and "superseded" in f.description
    assert state_of(engine, number_of(first)) == "superseded"
    assert state_of(engine, number_of(correction)) == "accepted"
