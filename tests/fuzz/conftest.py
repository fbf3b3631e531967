"""Fixtures of the fuzz harness: the in-process app and the corpus of signed envelopes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lxml import etree

from envelopes import build, ns
from envelopes.payloads import reporting
from fuzz.harness import Session, post, resigner, seeds

T, REPORTING_NS = ns.SMEV_TYPES, ns.REPORTING


@pytest.fixture(scope="session")
def app(demo_settings, engine):
    from gateway.wiring import build_app

    return build_app(demo_settings, engine=engine)


#: (year, period) of each ReportSubmission seed: a report is accepted once per period, and each
#: corpus needs one the tax office takes and answers
PERIODS = [(year, period) for year in range(2000, 2016) for period in ("21", "31", "33", "34")]


@pytest.fixture(scope="session")
def make_corpus(app, demo_settings, demo_client):
    """Re-signs the seven operations' envelopes on each call (fresh MessageIDs and timestamps)."""
    from envelopes.demo_data import ROMASHKA
    from gateway.ops.demo import load_client

    provider = load_client(demo_settings, "TAXOFFICE")
    periods = iter(PERIODS)
    last: list = []

    def make() -> list[bytes]:
        placeholder = etree.Element("{urn://fuzz}placeholder")
        year, period = next(periods, PERIODS[-1])  # past the list: answers are refused, still fuzz
        report = reporting.build_report_submission(reporting.ReportSubmission(
            ROMASHKA.inn, ROMASHKA.kpp, "BALANCE", year, period,
            reporting.canonical(reporting.build_balance(reporting.Balance(900, 300, 1000, 200)))))
        first = seeds(demo_client, provider, report, "-", placeholder)
        answer = post(app, first[1])  # the ReportSubmission: the tax office takes and answers it
        assert answer.status == 200, answer.body[:500]
        receipt = etree.fromstring(answer.body)
        message_id = receipt.findtext(f".//{{{T}}}MessageId")
        reply_to = _take(app, provider, message_id)
        if reply_to is None:
            assert last, "the first ReportSubmission seed must reach the tax office"
            return seeds(demo_client, provider, report, *last)
        processed = reporting.build_report_processed(reporting.ReportProcessed(
            receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber"),
            datetime.now(timezone.utc), "обработан"))
        last[:] = [reply_to, processed]
        make.session = Session(resigner(demo_client, provider), reply_to,
                               receipt.findtext(f".//{{{ns.RECEIPT}}}RegistrationNumber"))
        return seeds(demo_client, provider, report, reply_to, processed)

    return make


def _take(app, provider, message_id: str) -> str | None:
    """The provider works through its queue (GetRequest, Ack) up to ``message_id``; its ReplyTo,
    or None when the queue runs out first."""
    key, cert, chain = provider
    while True:
        got = etree.fromstring(post(app, build.get_request(
            key, cert, extra_certificates=chain, namespace=REPORTING_NS,
            root="ReportSubmission")).body)
        request = got.find(f".//{{{T}}}Request")
        if request is None:
            return None
        taken = request.findtext(f"{{{T}}}SenderProvidedRequestData/{{{T}}}MessageID")
        post(app, build.ack(taken, key, cert, extra_certificates=chain))
        if taken == message_id:
            return request.findtext(f"{{{T}}}ReplyTo")
