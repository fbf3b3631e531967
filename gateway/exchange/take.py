"""GetRequest, GetResponse, GetStatus and GetIncomingQueueStatistics: read one's own queue.

The caller signs ``MessageTypeSelector`` (or ``Timestamp``); its queue follows from its
certificate, never from anything it claims. A taken message stays invisible for the visibility
timeout and is delivered again unless acknowledged with Ack (at-least-once delivery).
"""
from __future__ import annotations

from datetime import timedelta

from lxml import etree

from envelopes import ns
from gateway import faults
from gateway.exchange import attachments, delivery
from gateway.pipeline.identity import new_message_id
from gateway.pipeline.answer import MtomAnswer
from gateway.pipeline import stages
from gateway.pipeline.context import Context
from gateway.pipeline.participants import SERVE
from gateway.pipeline.sequence import Operation
from gateway.storage import messages, queues
from gateway.storage.db import write_transaction

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC


def _take(svc, ctx: Context, kind: str) -> None:
    selector_el, me = ctx.data, ctx.caller.system
    namespace = selector_el.findtext(ns.q(B, "NamespaceURI"))
    root = selector_el.findtext(ns.q(B, "RootElementLocalName"))
    if kind == "REQUEST" and namespace is not None and not svc.participants.allowed(
            me.mnemonic, SERVE, namespace, root):
        raise faults.UnknownMessageType(
            f"{me.mnemonic} is not a provider of {{{namespace}}}{root}", code="UNKNOWN_MESSAGE_TYPE")
    selector = queues.Selector(me.mnemonic, kind, namespace, root,
                               selector_el.findtext(ns.q(B, "NodeID")))
    settings, now = svc.settings, ctx.now
    with write_transaction(svc.engine) as conn:
        item = queues.take(conn, selector, now, timedelta(seconds=settings.visibility_timeout_seconds),
                           settings.max_deliveries)
        if item is not None and kind == "REQUEST" and item.deliveries == 1:
            _tell_consumer(svc, conn, item.message_id, now)
        body = item.body if item else None
        if body is not None and body.startswith(delivery.PENDING):
            body = delivery.sign_pending(body, svc.signer)  # once: redeliveries are byte-identical
            queues.set_body(conn, item.id, body)
        parts = ()
        if item is not None:
            files, parts = attachments.content_list(conn, settings, item.message_id,
                                                    as_parts=settings.attachment_delivery == "mtom")
            if files:  # outside the signed Request/Response, before the SMEVSignature
                body = delivery.with_attachments(body, files)
        reply = delivery.wrap_operation(f"{ctx.operation.name}Response", body)
        stages.journal_exchange(conn, ctx, reply,
                                message_id=item.message_id if item else None,
                                delivered=item.message_id if item else None,
                                delivery=item.deliveries if item else None)
    ctx.answer = MtomAnswer(reply, parts) if parts else reply


def _tell_consumer(svc, conn, message_id: str, now) -> None:
    """The consumer learns through GetStatus that its request reached the provider."""
    found = messages.sender_of(conn, message_id)
    if found is None:
        return
    queues.enqueue(conn, message_id=new_message_id(),
                   kind="STATUS", recipient=found[0], namespace_uri="", root_element="",
                   body=delivery.status_message(message_id, "underProcessing",
                                                "the request was delivered to its provider",
                                                svc.signer),
                   now=now, related_message_id=message_id)


def take_request(svc, ctx: Context) -> None:
    """The next request of a business type this provider serves."""
    _take(svc, ctx, "REQUEST")


def take_response(svc, ctx: Context) -> None:
    """The next answer to this consumer's requests."""
    _take(svc, ctx, "RESPONSE")


def take_status(svc, ctx: Context) -> None:
    """Statuses carry no id the caller could acknowledge, so taking one acknowledges it."""
    me = ctx.caller.system.mnemonic
    with write_transaction(svc.engine) as conn:
        item = queues.take(conn, queues.Selector(me, "STATUS"), ctx.now, timedelta(0),
                           svc.settings.max_deliveries)
        if item is not None:
            queues.acknowledge(conn, me, item.message_id, True, ctx.now)
        reply = delivery.wrap_operation("GetStatusResponse", item.body if item else None)
        stages.journal_exchange(conn, ctx, reply, about=item.related_message_id if item else None)
    ctx.answer = reply


def count_queues(svc, ctx: Context) -> None:
    """Pending messages per business type in the caller's queues."""
    with write_transaction(svc.engine) as conn:
        response = _statistics(queues.statistics(conn, ctx.caller.system.mnemonic))
        stages.journal_exchange(conn, ctx, response)
    ctx.answer = response


def _statistics(stats) -> bytes:
    response = etree.Element(ns.q(T, "GetIncomingQueueStatisticsResponse"), nsmap={"ns": T})
    for kind, namespace, root, count in stats:
        item = etree.SubElement(response, ns.q(T, "QueueStatistics"))
        name = f"{kind}:{{{namespace}}}{root}" if namespace else kind
        item.set("queueName", name[:200])
        item.set("pendingMessageNumber", str(count))
    return etree.tostring(response, encoding="UTF-8")


_SIGNED_READ = (stages.known_signer, stages.envelope_xsd, stages.signature, stages.participant,
                stages.freshness, stages.not_replayed)

GET_REQUEST = Operation("GetRequest", ns.q(T, "GetRequestRequest"),
                        signed=ns.q(B, "MessageTypeSelector"), stages=_SIGNED_READ + (take_request,))
GET_RESPONSE = Operation("GetResponse", ns.q(T, "GetResponseRequest"),
                         signed=ns.q(B, "MessageTypeSelector"), stages=_SIGNED_READ + (take_response,))
GET_STATUS = Operation("GetStatus", ns.q(T, "GetStatusRequest"), signed=ns.q(B, "Timestamp"),
                       stages=_SIGNED_READ + (take_status,))
GET_INCOMING_QUEUE_STATISTICS = Operation(
    "GetIncomingQueueStatistics", ns.q(T, "GetIncomingQueueStatisticsRequest"),
    signed=ns.q(B, "Timestamp"), stages=_SIGNED_READ + (count_queues,))
