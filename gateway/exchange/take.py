"""GetRequest, GetResponse and GetStatus: take the next message from one's own queue.

The caller signs ``MessageTypeSelector`` (or ``Timestamp``); its queue follows from its
certificate, never from anything it claims. A taken message stays invisible for the visibility
timeout and is delivered again unless acknowledged with Ack (at-least-once delivery).
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from lxml import etree
from sqlalchemy import select, update

from envelopes import ns
from gateway import faults
from gateway.exchange import attachments
from gateway.exchange import delivery
from gateway.storage import queues
from gateway.pipeline.parse import ParsedEnvelope
from gateway.exchange.participants import SERVE
from gateway.pipeline.dispatch import Services
from gateway.storage.db import write_transaction
from gateway.storage.schema import messages, queue_items
from gateway.http.mtom_answer import MtomAnswer

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC


def _take(svc: Services, envelope: ParsedEnvelope, raw: bytes, kind: str, answer: str) -> bytes:
    now = svc.clock()
    request = envelope.body_child
    svc.validate_operation(request, raw)
    caller = svc.verify_caller(request, ns.q(B, "MessageTypeSelector"), now)
    selector_el, me = caller.element, caller.system
    svc.check_timestamp(selector_el.findtext(ns.q(B, "Timestamp")), now,
                        "MessageTypeSelector/Timestamp")
    namespace = selector_el.findtext(ns.q(B, "NamespaceURI"))
    root = selector_el.findtext(ns.q(B, "RootElementLocalName"))
    if kind == "REQUEST" and namespace is not None and not svc.participants.allowed(
            me.mnemonic, SERVE, namespace, root):
        raise faults.UnknownMessageType(
            f"{me.mnemonic} is not a provider of {{{namespace}}}{root}", code="UNKNOWN_MESSAGE_TYPE")
    selector = queues.Selector(me.mnemonic, kind, namespace, root,
                               selector_el.findtext(ns.q(B, "NodeID")))
    settings = svc.settings
    with write_transaction(svc.engine) as conn:
        item = queues.take(conn, selector, now, timedelta(seconds=settings.visibility_timeout_seconds),
                           settings.max_deliveries)
        if item is not None and kind == "REQUEST" and item.deliveries == 1:
            _tell_consumer(svc, conn, item.message_id, now)
        body = item.body if item else None
        if body is not None and body.startswith(delivery.PENDING):
            body = delivery.sign_pending(body, svc.signer)  # once: redeliveries are byte-identical
            conn.execute(update(queue_items).where(queue_items.c.id == item.id).values(body=body))
        parts = ()
        if item is not None:
            files, parts = attachments.content_list(conn, settings, item.message_id,
                                                    as_parts=settings.attachment_delivery == "mtom")
            if files:  # outside the signed Request/Response, before the SMEVSignature
                body = delivery.with_attachments(body, files)
        reply = delivery.wrap_operation(answer, body)
        svc.journal(conn, now, caller, answer[:-len("Response")], raw, reply,
                    message_id=item.message_id if item else None,
                    delivered=item.message_id if item else None,
                    delivery=item.deliveries if item else None)
    return MtomAnswer(reply, parts) if parts else reply


def _tell_consumer(svc: Services, conn, message_id: str, now) -> None:
    """The consumer learns through GetStatus that its request reached the provider."""
    sender = conn.execute(select(messages.c.sender).where(messages.c.message_id == message_id)).scalar()
    if sender is None:
        return
    queues.enqueue(conn, message_id=str(uuid.uuid1()),
                   kind="STATUS", recipient=sender, namespace_uri="", root_element="",
                   body=delivery.status_message(message_id, "underProcessing",
                                                "the request was delivered to its provider",
                                                svc.signer),
                   now=now, related_message_id=message_id)


def get_request(svc: Services, envelope: ParsedEnvelope, raw: bytes) -> bytes:
    return _take(svc, envelope, raw, "REQUEST", "GetRequestResponse")


def get_response(svc: Services, envelope: ParsedEnvelope, raw: bytes) -> bytes:
    return _take(svc, envelope, raw, "RESPONSE", "GetResponseResponse")


def _timestamped_caller(svc: Services, envelope: ParsedEnvelope, raw: bytes, now):
    """The caller of an operation whose signed element is a current ``b:Timestamp``."""
    request = envelope.body_child
    svc.validate_operation(request, raw)
    caller = svc.verify_caller(request, ns.q(B, "Timestamp"), now)
    svc.check_timestamp(caller.element.text, now, "Timestamp")
    return caller


def get_status(svc: Services, envelope: ParsedEnvelope, raw: bytes) -> bytes:
    """Statuses carry no id the caller could acknowledge, so taking one acknowledges it."""
    now = svc.clock()
    caller = _timestamped_caller(svc, envelope, raw, now)
    with write_transaction(svc.engine) as conn:
        item = queues.take(conn, queues.Selector(caller.system.mnemonic, "STATUS"), now,
                           timedelta(0), svc.settings.max_deliveries)
        if item is not None:
            queues.acknowledge(conn, caller.system.mnemonic, item.message_id, True, now)
        reply = delivery.wrap_operation("GetStatusResponse", item.body if item else None)
        svc.journal(conn, now, caller, "GetStatus", raw, reply,
                    about=item.related_message_id if item else None)
    return reply


def get_incoming_queue_statistics(svc: Services, envelope: ParsedEnvelope, raw: bytes) -> bytes:
    now = svc.clock()
    caller = _timestamped_caller(svc, envelope, raw, now)
    with write_transaction(svc.engine) as conn:
        stats = queues.statistics(conn, caller.system.mnemonic)
        response = _statistics(stats)
        svc.journal(conn, now, caller, "GetIncomingQueueStatistics", raw, response)
    return response


def _statistics(stats) -> bytes:
    response = etree.Element(ns.q(T, "GetIncomingQueueStatisticsResponse"), nsmap={"ns": T})
    for kind, namespace, root, count in stats:
        item = etree.SubElement(response, ns.q(T, "QueueStatistics"))
        name = f"{kind}:{{{namespace}}}{root}" if namespace else kind
        item.set("queueName", name[:200])
        item.set("pendingMessageNumber", str(count))
    return etree.tostring(response, encoding="UTF-8")
