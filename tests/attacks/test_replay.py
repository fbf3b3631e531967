"""Replay and idempotency abuse: one captured envelope fired from 8 threads at once, one MessageID
raced with 8 different contents, MessageIDs outside the accepted time window, a captured signed
selector replayed later. The unique MessageID is the arbiter (gateway/pipeline/persist.py)."""
from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import datetime, timedelta, timezone

import requests
from lxml import etree
from sqlalchemy import func, select

from attacks.kit import SOAP11, T, read_answer, refused, signed_bytes, stored
from envelopes.build import get_request
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from gateway.storage.schema import applications, messages

THREADS = 8


def _fire(url: str, bodies: list[bytes]):
    """Post each body from its own thread, all released at the same instant."""
    barrier = threading.Barrier(len(bodies))
    answers = [None] * len(bodies)

    def run(i: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            reply = session.post(url, data=bodies[i], headers=SOAP11, timeout=30)
        answers[i] = read_answer(reply.status_code, reply.headers.get("Content-Type", ""),
                                 reply.content)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(a is not None for a in answers), "a request got no answer"
    return answers


def _answer_id(body: bytes) -> str | None:
    """The MessageID of the answer a GetResponse took; None when it took none."""
    return etree.fromstring(body).findtext(
        f".//{{{T}}}ResponseMessage//{{{T}}}SenderProvidedResponseData/{{{T}}}MessageID")


def _drain_answers(url: str, client) -> None:
    """Take and acknowledge every answer waiting for ``client``, each poll signed anew."""
    from envelopes.build import ack, get_response

    key, cert, chain = client
    while b"ResponseMessage" in (reply := _fire(url, [get_response(
            key, cert, extra_certificates=chain)])[0]).body:
        _fire(url, [ack(_answer_id(reply.body), key, cert, extra_certificates=chain)])


def _rows(engine, message_id: str) -> tuple[int, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(messages.c.id).where(messages.c.message_id == message_id)).all()
        apps = conn.execute(select(func.count()).select_from(applications).where(
            applications.c.message_pk.in_([r.id for r in rows]))).scalar_one()
    return len(rows), apps


def test_same_envelope_from_8_threads_is_stored_once_with_identical_receipts(gateway_url, engine,
                                                                            demo_client):
    body = signed_bytes(demo_client)
    message_id = etree.fromstring(body).findtext(f".//{{{T}}}MessageID")
    before = stored(engine)
    answers = _fire(gateway_url, [body] * THREADS)
    assert [a.status for a in answers] == [200] * THREADS, [a.fault for a in answers]
    assert len({a.body for a in answers}) == 1, "replays must return the original receipt byte for byte"
    assert _rows(engine, message_id) == (1, 1)
    assert stored(engine) == (before[0] + 1, before[1] + 1)
    with engine.connect() as conn:
        receipt = conn.execute(select(messages.c.receipt)
                               .where(messages.c.message_id == message_id)).scalar_one()
    assert receipt in answers[0].body


def test_one_message_id_with_8_different_contents_at_once_stores_exactly_one(gateway_url, engine,
                                                                           demo_client):
    """The race of a thief who captured a MessageID: 8 differently signed contents under it."""
    message_id = str(uuid.uuid1())
    bodies = [signed_bytes(demo_client, message_id=message_id,
                           payload=build_organisation_registration(dataclasses.replace(
                               ROMASHKA, phone=f"+7495000000{i}")))
              for i in range(THREADS)]
    before = stored(engine)
    answers = _fire(gateway_url, bodies)
    accepted = [a for a in answers if a.status == 200]
    others = [a.fault for a in answers if a.status != 200]
    assert len(accepted) == 1, [a.fault for a in answers]
    assert [(f.element, f.code) for f in others] == \
        [("MessageIsAlreadySent", "MESSAGE_ID_REUSED")] * (THREADS - 1)
    assert _rows(engine, message_id) == (1, 1)
    assert stored(engine) == (before[0] + 1, before[1] + 1)


def _uuid1_at(moment: datetime) -> str:
    """A well-formed version 1 UUID whose embedded timestamp is ``moment``."""
    ticks = int((moment - datetime(1582, 10, 15, tzinfo=timezone.utc)) / timedelta(microseconds=1)) * 10
    node_and_seq = uuid.uuid1()
    return str(uuid.UUID(fields=(ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF,
                                 ((ticks >> 48) & 0x0FFF) | 0x1000,
                                 node_and_seq.clock_seq_hi_variant, node_and_seq.clock_seq_low,
                                 node_and_seq.node)))


def test_message_id_older_than_the_window_is_stale(gateway_url, engine, demo_client):
    """A request replayed after the MessageID window (24 h): the unique index may have been
    pruned by then, so the age of the MessageID itself refuses it."""
    old = _uuid1_at(datetime.now(timezone.utc) - timedelta(days=2))
    assert uuid.UUID(old).version == 1
    refused(gateway_url, engine, signed_bytes(demo_client, message_id=old), "StaleMessageId",
            "STALE_MESSAGE_ID")


def test_message_id_from_the_future_is_refused(gateway_url, engine, demo_client):
    """Pre-dated MessageIDs would let a captured request live past the window."""
    future = _uuid1_at(datetime.now(timezone.utc) + timedelta(hours=2))
    refused(gateway_url, engine, signed_bytes(demo_client, message_id=future), "StaleMessageId",
            "FUTURE_MESSAGE_ID")


def test_message_id_that_is_not_uuid1_is_refused(gateway_url, engine, demo_client):
    """A random (v4) UUID carries no time, so it could never be judged stale."""
    refused(gateway_url, engine, signed_bytes(demo_client, message_id=str(uuid.uuid4())),
            "InvalidMessageIdFormat", "INVALID_MESSAGE_ID_FORMAT")


def test_captured_signed_selector_replayed_later_is_refused(gateway_url, engine, demo_client):
    """A GetRequest signed two hours ago (its signed Timestamp is old): a thief replaying it
    cannot drain the victim's queue."""
    key, cert, chain = demo_client
    stale = (datetime.now(timezone.utc) - timedelta(hours=2)).isoformat(timespec="milliseconds")
    body = get_request(key, cert, extra_certificates=chain, timestamp=stale)
    refused(gateway_url, engine, body, "InvalidContent", "STALE_TIMESTAMP")


def test_signed_read_requests_are_accepted_once_within_their_window(gateway_url, engine, demo_client):
    """Inside the freshness window the same signed bytes are refused the second time: the
    statistics poll (the outside test accepted one nine times) and GetStatus."""
    from envelopes.build import get_incoming_queue_statistics, get_status

    key, cert, chain = demo_client
    for build in (get_incoming_queue_statistics, get_status):
        body = build(key, cert, extra_certificates=chain)
        first = _fire(gateway_url, [body])[0]
        assert first.status == 200, first.fault
        answers = _fire(gateway_url, [body] * 4)  # four replays at once: every one refused
        assert [(a.fault.element, a.fault.code) for a in answers] == \
            [("InvalidContent", "REPLAYED_REQUEST")] * 4


def test_a_replayed_get_response_takes_nothing_off_the_queue(gateway_url, engine, demo_client):
    """The outside test: the same signed GetResponse sent again took the NEXT message. Now the
    replay is refused and the next answer stays for a fresh, signed poll."""
    from envelopes.build import get_response, send_request

    key, cert, chain = demo_client
    _drain_answers(gateway_url, demo_client)
    for _ in range(2):  # two answers waiting
        _fire(gateway_url, [send_request(build_organisation_registration(ROMASHKA), key, cert,
                                         extra_certificates=chain)])
    poll = get_response(key, cert, extra_certificates=chain)
    first = _fire(gateway_url, [poll])[0]
    assert b"ResponseMessage" in first.body
    replay = _fire(gateway_url, [poll])[0]
    assert (replay.fault.element, replay.fault.code) == ("InvalidContent", "REPLAYED_REQUEST")
    fresh = _fire(gateway_url, [get_response(key, cert, extra_certificates=chain)])[0]
    assert b"ResponseMessage" in fresh.body  # the second answer was still there


def test_a_replayed_ack_is_refused_and_an_early_one_is_not_remembered(gateway_url, engine,
                                                                        demo_client):
    """A copy of an Ack that was carried out is refused. An Ack of a message not (yet) delivered
    is refused as TargetMessageIsNotFound and not remembered: it did nothing, and its signer can
    send nothing else once the message is delivered (no timestamp: the same message, the same
    signed content). Remembered, the message could never be acknowledged and came back until it
    went DEAD (the fuzz corpus's early Ack once made an integration test meet it)."""
    from envelopes.build import ack, get_response, send_request
    from gateway.storage.schema import queue_items

    key, cert, chain = demo_client
    _drain_answers(gateway_url, demo_client)
    request_id = str(uuid.uuid1())
    _fire(gateway_url, [send_request(build_organisation_registration(ROMASHKA), key, cert,
                                     message_id=request_id, extra_certificates=chain)])
    with engine.connect() as conn:
        answer_id = conn.execute(select(queue_items.c.message_id).where(
            queue_items.c.related_message_id == request_id,
            queue_items.c.kind == "RESPONSE")).scalar_one()
    early = ack(answer_id, key, cert, extra_certificates=chain)
    for _ in range(2):  # queued, not delivered: not found, and not a replay the second time
        refused_early = _fire(gateway_url, [early])[0]
        assert refused_early.fault.code == "TARGET_MESSAGE_IS_NOT_FOUND"
    while True:  # an answer another file took may come back first, its visibility timeout over
        poll = get_response(key, cert, extra_certificates=chain)
        taken = _answer_id(_fire(gateway_url, [poll])[0].body)
        assert taken is not None, "the answer was not delivered"
        if taken == answer_id:
            break
        _fire(gateway_url, [ack(taken, key, cert, extra_certificates=chain)])
    carried_out = _fire(gateway_url, [early])[0]  # the same bytes, now that it was delivered
    assert carried_out.status == 200, carried_out.fault
    copy = _fire(gateway_url, [early])[0]
    assert (copy.fault.element, copy.fault.code) == ("InvalidContent", "REPLAYED_REQUEST")
    after = _fire(gateway_url, [get_response(key, cert, extra_certificates=chain)])[0]
    assert answer_id.encode() not in after.body  # acknowledged: never delivered again
    unknown = ack(str(uuid.uuid1()), key, cert, extra_certificates=chain)
    assert [a.fault.code for a in _fire(gateway_url, [unknown] * 2)] == \
        ["TARGET_MESSAGE_IS_NOT_FOUND"] * 2


def test_an_ack_whose_effect_was_lost_is_not_remembered(gateway_url, engine, demo_client,
                                                       monkeypatch):
    """An Ack cannot be signed anew (no timestamp: the same message, the same signed content),
    so its replay memory is written in the transaction of its effect. Here the effect fails
    after the memory was written (as a SIGKILL between two transactions would leave it): the
    same Ack sent again is carried out, not refused as a replay, and the message is not
    delivered again. (Before, the memory was committed first: the message could never be
    acknowledged and came back until it went DEAD; the two-node chaos run once met it.)"""
    from envelopes.build import ack, get_response, send_request
    from gateway.storage import queues

    key, cert, chain = demo_client
    _drain_answers(gateway_url, demo_client)
    _fire(gateway_url, [send_request(build_organisation_registration(ROMASHKA), key, cert,
                                     extra_certificates=chain)])
    taken = _fire(gateway_url, [get_response(key, cert, extra_certificates=chain)])[0]
    message_id = _answer_id(taken.body)
    body = ack(message_id, key, cert, extra_certificates=chain)

    real = queues.acknowledge

    def lost(*args, **kwargs):
        real(*args, **kwargs)  # the item is marked, the replay memory written: then it fails
        raise RuntimeError("the process died before COMMIT")

    monkeypatch.setattr(queues, "acknowledge", lost)
    assert _fire(gateway_url, [body])[0].status == 500
    monkeypatch.setattr(queues, "acknowledge", real)
    again = _fire(gateway_url, [body])[0]
    assert again.status == 200, again.fault
    copy = _fire(gateway_url, [body])[0]  # now it was carried out: a copy is a replay
    assert (copy.fault.element, copy.fault.code) == ("InvalidContent", "REPLAYED_REQUEST")
    after = _fire(gateway_url, [get_response(key, cert, extra_certificates=chain)])[0]
    assert message_id.encode() not in after.body  # acknowledged: never delivered again
