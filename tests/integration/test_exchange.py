"""The whole SMEV exchange over real HTTP: SendRequest → GetRequest → SendResponse →
GetResponse → Ack, statuses, queue statistics, redelivery, and the faults each step can give."""
from __future__ import annotations

import hashlib

import dataclasses
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from conftest import serve_wsgi
from envelopes import build, ns
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration, parse_registration_result
from gateway.pipeline.participants import SEND, SERVE, add_system, grant, set_enabled
from gateway.ops.setup import open_pki
from support import T, fault, ok, taken

EXTERNAL = "urn://test/external-register/1.0"


class Clock:
    """The gateway's clock: real time plus an offset tests can move forward."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self):
        return datetime.now(timezone.utc) + self.offset


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def parties(demo_settings, engine, demo_client):
    """ROMASHKA (consumer), PROVIDER (serves EXTERNAL), OUTSIDER (registered, no rights)."""
    pki = open_pki(demo_settings)
    chain = tuple(pki.intermediates())
    made = {"ROMASHKA": demo_client}
    for name in ("PROVIDER", "OUTSIDER", "SLEEPER"):
        issued = pki.issue(f"{name.lower()}-{uuid.uuid4().hex[:6]}", common_name=name,
                           organization=f"{name} Ltd", key_type="ec-p256")
        add_system(engine, name, f"{name} Ltd", [issued.certificate])
        made[name] = (issued.private_key, issued.certificate, chain)
    grant(engine, "PROVIDER", SERVE, EXTERNAL)
    grant(engine, "ROMASHKA", SEND, EXTERNAL)
    grant(engine, "SLEEPER", SERVE, "urn://test/sleeping/1.0")
    grant(engine, "ROMASHKA", SEND, "urn://test/sleeping/1.0")
    set_enabled(engine, "SLEEPER", False)
    return made


@pytest.fixture(scope="module")
def url(demo_settings, engine, clock, parties):
    from gateway.wiring import build_app

    settings = dataclasses.replace(demo_settings, visibility_timeout_seconds=60, max_queue_depth=3)
    server, base = serve_wsgi(build_app(settings, engine=engine, clock=clock))
    yield f"{base}/ws"
    server.shutdown()


def creds(parties, name):
    key, cert, chain = parties[name]
    return key, cert, {"extra_certificates": chain}


def external_query(text="?"):
    query = etree.Element(f"{{{EXTERNAL}}}Query", nsmap={None: EXTERNAL})
    etree.SubElement(query, f"{{{EXTERNAL}}}Text").text = text
    return query


def drain(url, parties, name, maker):
    key, cert, kw = creds(parties, name)
    while True:
        root = ok(url, maker(key, cert, **kw))
        data = root.find(f".//{{{T}}}SenderProvidedRequestData")
        if data is None:
            data = root.find(f".//{{{T}}}SenderProvidedResponseData")
        if data is None:
            return
        ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), key, cert, **kw))


def drain_statuses(url, parties, name):
    key, cert, kw = creds(parties, name)
    while ok(url, build.get_status(key, cert, **kw)).find(f".//{{{T}}}SmevAsyncProcessingMessage") is not None:
        pass


def test_request_to_an_external_provider_and_its_answer_round_trip(url, parties):
    drain(url, parties, "PROVIDER", build.get_request)
    drain(url, parties, "ROMASHKA", build.get_response)
    drain_statuses(url, parties, "ROMASHKA")
    drain_statuses(url, parties, "PROVIDER")
    ck, cc, ckw = creds(parties, "ROMASHKA")
    pk, pc, pkw = creds(parties, "PROVIDER")
    message_id = build.new_message_id()
    receipt = ok(url, build.send_request(external_query("who?"), ck, cc, message_id=message_id, **ckw))
    assert receipt.findtext(f".//{{{T}}}Recipient/{{{T}}}Mnemonic") == "PROVIDER"

    inner, data = taken(ok(url, build.get_request(pk, pc, **pkw)), "Request")
    assert data.findtext(f"{{{T}}}MessageID") == message_id
    assert inner.findtext(f"{{{T}}}MessageMetadata/{{{T}}}Sender/{{{T}}}Mnemonic") == "ROMASHKA"
    assert data.find(f".//{{{EXTERNAL}}}Text").text == "who?"
    reply_to = inner.findtext(f"{{{T}}}ReplyTo")
    ok(url, build.ack(message_id, pk, pc, **pkw))
    assert taken(ok(url, build.get_request(pk, pc, **pkw)), "Request") is None  # acked: gone

    answer = etree.Element(f"{{{EXTERNAL}}}Answer")
    answer.text = "42"
    response_id = build.new_message_id()
    sent = ok(url, build.send_response(reply_to, pk, pc, payload=answer, message_id=response_id, **pkw))
    assert sent.find(f".//{{{T}}}SendResponseResponse/{{{T}}}MessageMetadata") is not None

    inner, data = taken(ok(url, build.get_response(ck, cc, **ckw)), "Response")
    assert inner.findtext(f"{{{T}}}OriginalMessageId") == message_id
    assert data.findtext(f".//{{{EXTERNAL}}}Answer") == "42"
    ok(url, build.ack(response_id, ck, cc, **ckw))

    # statuses: the consumer heard that the provider took it, the provider that it was delivered
    status = ok(url, build.get_status(ck, cc, **ckw))
    assert status.findtext(f".//{{{T}}}OriginalMessageId") == message_id
    assert status.findtext(f".//{{{T}}}StatusCategory") == "underProcessing"
    status = ok(url, build.get_status(pk, pc, **pkw))
    assert status.findtext(f".//{{{T}}}StatusCategory") == "responseIsDelivered"
    assert ok(url, build.get_status(pk, pc, **pkw)).find(f".//{{{T}}}SmevAsyncProcessingMessage") is None


def test_builtin_handler_answers_through_get_response(url, parties):
    drain(url, parties, "ROMASHKA", build.get_response)
    key, cert, kw = creds(parties, "ROMASHKA")
    message_id = build.new_message_id()
    ok(url, build.send_request(build_organisation_registration(ROMASHKA), key, cert, message_id=message_id, **kw))
    inner, data = taken(ok(url, build.get_response(key, cert, **kw)), "Response")
    assert inner.findtext(f"{{{T}}}OriginalMessageId") == message_id
    result = parse_registration_result(data.find(f"{{{ns.SMEV_BASIC}}}MessagePrimaryContent")[0])
    assert (result.inn, result.state) == (ROMASHKA.inn, "verified")
    ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), key, cert, **kw))


def test_unacknowledged_message_is_delivered_again_after_the_visibility_timeout(url, parties, clock):
    drain(url, parties, "PROVIDER", build.get_request)
    ck, cc, ckw = creds(parties, "ROMASHKA")
    pk, pc, pkw = creds(parties, "PROVIDER")
    message_id = build.new_message_id()
    ok(url, build.send_request(external_query(), ck, cc, message_id=message_id, **ckw))
    first = taken(ok(url, build.get_request(pk, pc, **pkw)), "Request")
    assert first[1].findtext(f"{{{T}}}MessageID") == message_id
    assert taken(ok(url, build.get_request(pk, pc, **pkw)), "Request") is None  # invisible now
    clock.offset += timedelta(seconds=61)
    again = taken(ok(url, build.get_request(pk, pc, **pkw)), "Request")
    assert again[1].findtext(f"{{{T}}}MessageID") == message_id
    # Ack accepted=false: the recipient refused our signature; it comes back at once
    ok(url, build.ack(message_id, pk, pc, accepted=False, **pkw))
    third = taken(ok(url, build.get_request(pk, pc, **pkw)), "Request")
    assert third[1].findtext(f"{{{T}}}MessageID") == message_id
    ok(url, build.ack(message_id, pk, pc, **pkw))
    assert taken(ok(url, build.get_request(pk, pc, **pkw)), "Request") is None


def test_selector_takes_only_the_named_type(url, parties):
    drain(url, parties, "PROVIDER", build.get_request)
    ck, cc, ckw = creds(parties, "ROMASHKA")
    pk, pc, pkw = creds(parties, "PROVIDER")
    ok(url, build.send_request(external_query(), ck, cc, **ckw))
    empty = ok(url, build.get_request(pk, pc, namespace=EXTERNAL, root="Other", **pkw))
    assert taken(empty, "Request") is None
    got = taken(ok(url, build.get_request(pk, pc, namespace=EXTERNAL, root="Query", **pkw)), "Request")
    ok(url, build.ack(got[1].findtext(f"{{{T}}}MessageID"), pk, pc, **pkw))
    f = fault(url, build.get_request(pk, pc, namespace=ns.REGISTRATION,
                                     root="OrganisationRegistrationRequest", **pkw))
    assert f.element == "UnknownMessageType"
    drain(url, parties, "PROVIDER", build.get_request)


def test_queue_statistics_count_pending_messages(url, parties):
    drain(url, parties, "PROVIDER", build.get_request)
    ck, cc, ckw = creds(parties, "ROMASHKA")
    pk, pc, pkw = creds(parties, "PROVIDER")
    for _ in range(2):
        ok(url, build.send_request(external_query(), ck, cc, **ckw))
    stats = ok(url, build.get_incoming_queue_statistics(pk, pc, **pkw))
    queues = {q.get("queueName"): int(q.get("pendingMessageNumber"))
              for q in stats.iter(f"{{{T}}}QueueStatistics")}
    assert queues == {f"REQUEST:{{{EXTERNAL}}}Query": 2}
    drain(url, parties, "PROVIDER", build.get_request)


def test_destination_overflow(url, parties):
    drain(url, parties, "PROVIDER", build.get_request)
    ck, cc, ckw = creds(parties, "ROMASHKA")
    for _ in range(3):  # max_queue_depth=3 in this gateway
        ok(url, build.send_request(external_query(), ck, cc, **ckw))
    f = fault(url, build.send_request(external_query(), ck, cc, **ckw))
    assert f.element == "DestinationOverflow"
    drain(url, parties, "PROVIDER", build.get_request)
    ok(url, build.send_request(external_query(), ck, cc, **ckw))
    drain(url, parties, "PROVIDER", build.get_request)


def test_access_denied_without_a_send_permission(url, parties):
    key, cert, kw = creds(parties, "OUTSIDER")
    assert fault(url, build.send_request(external_query(), key, cert, **kw)).element == "AccessDenied"


def test_recipient_not_found_when_every_provider_is_disabled(url, parties):
    key, cert, kw = creds(parties, "ROMASHKA")
    payload = etree.Element("{urn://test/sleeping/1.0}Ping")
    assert fault(url, build.send_request(payload, key, cert, **kw)).element == "RecipientIsNotFound"


def test_ack_of_an_unknown_message(url, parties):
    key, cert, kw = creds(parties, "ROMASHKA")
    assert fault(url, build.ack(str(uuid.uuid1()), key, cert, **kw)).element == "TargetMessageIsNotFound"


def test_send_response_to_an_unknown_or_foreign_request(url, parties):
    pk, pc, pkw = creds(parties, "PROVIDER")
    ok_payload = etree.Element(f"{{{EXTERNAL}}}Answer")
    f = fault(url, build.send_response("no-such-reply-address", pk, pc, payload=ok_payload, **pkw))
    assert f.element == "TargetMessageIsNotFound"
    # a request another provider served (the gateway itself): not this provider's to answer
    ck, cc, ckw = creds(parties, "ROMASHKA")
    drain(url, parties, "ROMASHKA", build.get_response)
    ok(url, build.send_request(build_organisation_registration(ROMASHKA), ck, cc, **ckw))
    inner, data = taken(ok(url, build.get_response(ck, cc, **ckw)), "Response")
    reply_to = data.findtext(f"{{{T}}}To")
    f = fault(url, build.send_response(reply_to, pk, pc, status=(1, "mine?"), **pkw))
    assert f.element == "TargetMessageIsNotFound"
    ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), ck, cc, **ckw))


def test_incorrect_response_content_type(url, parties, engine):
    grant(engine, "PROVIDER", SERVE, ns.REGISTRATION, "OrganisationRegistrationRequest")
    try:
        drain(url, parties, "PROVIDER", build.get_request)
        ck, cc, ckw = creds(parties, "ROMASHKA")
        pk, pc, pkw = creds(parties, "PROVIDER")
        ok(url, build.send_request(build_organisation_registration(ROMASHKA), ck, cc, **ckw))
        inner, data = taken(ok(url, build.get_request(pk, pc, namespace=ns.REGISTRATION,
                                                      root="OrganisationRegistrationRequest", **pkw)),
                            "Request")
        wrong = build_organisation_registration(ROMASHKA)  # a request is no answer to a request
        f = fault(url, build.send_response(inner.findtext(f"{{{T}}}ReplyTo"), pk, pc, payload=wrong, **pkw))
        assert f.element == "IncorrectResponseContentType"
        ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), pk, pc, **pkw))
    finally:
        from gateway.pipeline.participants import revoke_grant
        revoke_grant(engine, "PROVIDER", SERVE, ns.REGISTRATION, "OrganisationRegistrationRequest")


def _uuid1_at(moment: datetime) -> str:
    ticks = int((moment - datetime(1582, 10, 15, tzinfo=timezone.utc)).total_seconds() * 10**7)
    node = uuid.uuid1().node
    return str(uuid.UUID(fields=(ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF,
                                 ((ticks >> 48) & 0x0FFF) | 0x1000, 0x80, 0x00, node)))


def test_message_id_format_and_window(url, parties):
    key, cert, kw = creds(parties, "ROMASHKA")
    payload = build_organisation_registration(ROMASHKA)
    bad = fault(url, build.send_request(payload, key, cert, message_id=str(uuid.uuid4()), **kw))
    assert bad.element == "InvalidMessageIdFormat"
    old = _uuid1_at(datetime.now(timezone.utc) - timedelta(days=3))
    assert fault(url, build.send_request(payload, key, cert, message_id=old, **kw)).element == "StaleMessageId"
    future = _uuid1_at(datetime.now(timezone.utc) + timedelta(days=1))
    assert fault(url, build.send_request(payload, key, cert, message_id=future, **kw)).element == "StaleMessageId"


def test_transaction_code_and_end_of_life(url, parties):
    key, cert, kw = creds(parties, "ROMASHKA")
    f = fault(url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                      transaction_code="bad code with spaces", **kw))
    assert f.element == "TransactionCodeInvalid"
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    f = fault(url, build.send_request(build_organisation_registration(ROMASHKA), key, cert, eol=past, **kw))
    assert f.element == "EndOfLifeReached"


def test_stale_selector_timestamp_cannot_be_replayed(url, parties):
    pk, pc, pkw = creds(parties, "PROVIDER")
    stale = (datetime.now(timezone.utc) - timedelta(hours=3)).isoformat()
    assert fault(url, build.get_request(pk, pc, timestamp=stale, **pkw)).element == "InvalidContent"


def test_unsigned_get_request_is_refused(url, parties):
    pk, pc, pkw = creds(parties, "PROVIDER")
    body = build.get_request(pk, pc, **pkw)
    root = etree.fromstring(body)
    holder = root.find(f".//{{{T}}}CallerInformationSystemSignature")
    holder.getparent().remove(holder)
    f = fault(url, etree.tostring(root))
    assert f.element == "SignatureVerificationFault" and f.code == "NO_SIGNATURE"


def test_database_failure_is_a_retryable_smev_failure(demo_settings):
    from sqlalchemy import create_engine

    from gateway.wiring import build_app

    broken = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                           connect_args={"connect_timeout": 1})
    server, base = serve_wsgi(build_app(demo_settings, engine=broken))
    try:
        from envelopes.client import parse_fault
        from gateway.ops.demo import load_client
        import requests

        key, cert, chain = load_client(demo_settings, "ROMASHKA")
        body = build.send_request(build_organisation_registration(ROMASHKA), key, cert, extra_certificates=chain)
        reply = requests.post(f"{base}/ws", data=body, headers={"Content-Type": "text/xml"}, timeout=30)
        f = parse_fault(reply.status_code, etree.fromstring(reply.content))
        assert f.element == "SMEVFailure" and f.faultcode == "soap:Server"
    finally:
        server.shutdown()


def test_test_message_gets_a_receipt_with_its_preview_but_changes_no_state(url, parties, engine):
    from sqlalchemy import func, select

    from gateway.storage.schema import applications, messages

    drain(url, parties, "ROMASHKA", build.get_response)
    key, cert, kw = creds(parties, "ROMASHKA")
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(applications)).scalar_one()
    message_id = build.new_message_id()
    receipt = ok(url, build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                         message_id=message_id, test_message=True, **kw))
    assert receipt.findtext(f".//{{{T}}}MessageMetadata/{{{T}}}Status") == "requestIsQueued"
    preview = receipt.find(f".//{{{T}}}MessageMetadata/{{{ns.RECEIPT}}}TestPreview")
    assert preview.findtext(f"{{{ns.RECEIPT}}}Queued/{{{ns.RECEIPT}}}Recipient") == "ROMASHKA"
    assert taken(ok(url, build.get_response(key, cert, **kw)), "Response") is None  # not queued
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(applications)).scalar_one() == before
        stored = conn.execute(select(messages.c.test_message)
                              .where(messages.c.message_id == message_id)).scalar_one()
    assert stored is True


def test_every_message_in_and_out_is_journaled(url, parties, engine, demo_settings):
    from sqlalchemy import select

    from gateway.storage import journal
    from gateway.storage.schema import journal as table

    pk, pc, pkw = creds(parties, "PROVIDER")
    poll = build.get_request(pk, pc, **pkw)
    ok(url, poll)
    pki = open_pki(demo_settings)
    revoked = pki.issue(f"j-{uuid.uuid4().hex[:6]}", common_name="Journaled revoked signer")
    pki.revoke(revoked.name)
    from gateway.pipeline.participants import add_system

    add_system(engine, "ROMASHKA", "", [revoked.certificate])  # an IS whose certificate was revoked
    message_id = build.new_message_id()
    refused = build.send_request(build_organisation_registration(ROMASHKA), revoked.private_key,
                                 revoked.certificate, message_id=message_id,
                                 extra_certificates=tuple(pki.intermediates()))
    assert fault(url, refused).code == "REVOKED"
    with engine.connect() as conn:
        rows = conn.execute(select(table).order_by(table.c.id.desc()).limit(40)).all()
        assert journal.verify_chain(conn).intact
    polls = [r for r in rows if r.event == "GetRequest" and r.content == poll]
    assert polls and '"sender": "PROVIDER"' in polls[0].detail
    rejected = [r for r in rows if r.event == "rejected" and r.message_id == message_id]
    # the signer was not authenticated (its certificate is revoked): its bytes are not kept,
    # their SHA-256, size and a bounded prefix are
    assert rejected and rejected[0].content is None
    assert rejected[0].content_digest == hashlib.sha256(refused).hexdigest()
    assert f'"size": {len(refused)}' in rejected[0].detail and '"prefix": ' in rejected[0].detail
    assert "REVOKED" in rejected[0].detail and "Journaled revoked signer" in rejected[0].detail
    assert any(r.event == "fault" and r.message_id == message_id and b"REVOKED" in r.content
               for r in rows)


def test_a_builtin_answer_is_signed_once_and_redelivered_byte_for_byte(url, parties, clock):
    drain(url, parties, "ROMASHKA", build.get_response)
    key, cert, kw = creds(parties, "ROMASHKA")
    ok(url, build.send_request(build_organisation_registration(ROMASHKA), key, cert, **kw))
    first_root = ok(url, build.get_response(key, cert, **kw))
    first = etree.tostring(first_root.find(f".//{{{T}}}ResponseMessage"))
    first_id = taken(first_root, "Response")[1].findtext(f"{{{T}}}MessageID")
    clock.offset += timedelta(seconds=61)
    for _ in range(100):  # answers earlier files took without an ack may come back before it
        again = ok(url, build.get_response(key, cert, **kw))
        got = taken(again, "Response")
        assert got is not None, "the answer was not delivered again after its visibility timeout"
        data = got[1]
        if data.findtext(f"{{{T}}}MessageID") == first_id:
            break
        ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), key, cert, **kw))
    assert etree.tostring(again.find(f".//{{{T}}}ResponseMessage")) == first
    inner, data = taken(again, "Response")  # and its SMEVSignature verifies
    ok(url, build.ack(data.findtext(f"{{{T}}}MessageID"), key, cert, **kw))
