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
