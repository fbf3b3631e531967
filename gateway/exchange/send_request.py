"""SendRequest: a consumer's signed request in; a signed receipt out after a durable commit.

Routing: the payload's root QName is a business type. A built-in domain handler decides at
once (its state change, its register writes and its answer to the consumer are stored in the
same transaction); an external provider registered to serve the type gets it in its GetRequest
queue. Neither: ``BusinessDataTypeIsNotSupported``. The sender needs a ``send`` permission.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import datetime

from lxml import etree

from envelopes import ids, ns
from envelopes.tree import child
from gateway import faults
from gateway.exchange import attachments, delivery
from gateway.pipeline import stages
from gateway.pipeline.context import Context
from gateway.pipeline.persist import IncomingMessage, Queued, store_decided
from gateway.pipeline.receipt import Party, ReceiptData, send_request_response
from gateway.pipeline.sequence import Operation
from gateway.domains.base import HandlerContext
from gateway.pipeline.views import Applications
from gateway.storage import messages, queues

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
_PATTERNS: dict[str, re.Pattern] = {}


def request_checks(svc, ctx: Context) -> None:
    """The request's own limits: its EOL has not passed, its TransactionCode has the form the
    deployment demands."""
    eol_text = ctx.data_text(ns.q(T, "EOL"))
    if eol_text and datetime.fromisoformat(eol_text) <= ctx.now:
        raise faults.EndOfLifeReached(f"the request's EOL {eol_text} has passed", code="END_OF_LIFE")
    transaction_code = ctx.data_text(ns.q(T, "TransactionCode"))
    if transaction_code is not None:
        wanted = svc.settings.transaction_code_pattern
        pattern = _PATTERNS.get(wanted) or _PATTERNS.setdefault(wanted, re.compile(wanted))
        if not pattern.match(transaction_code):
            raise faults.TransactionCodeInvalid(
                f"TransactionCode {transaction_code[:60]!r} does not match {wanted}",
                code="TRANSACTION_CODE_INVALID")


def decide(svc, ctx: Context) -> None:
    """A built-in domain's handler decides (reads only; it writes nothing)."""
    if ctx.handler is None:
        return
    ctx.decision = ctx.handler(HandlerContext(
        payload=ctx.payload, message_id=ctx.message_id, sender=ctx.caller.system.mnemonic,
        signer=ctx.caller.verified.identity, test_message=is_test(ctx),
        registers=svc.registers, applications=Applications(svc.engine), now=ctx.now,
        person=ctx.person, schemas=svc.schemas))


def is_test(ctx: Context) -> bool:
    """``TestMessage`` in the signed data (SendRequest and SendResponse): decide, do nothing."""
    return ctx.data_child(ns.q(T, "TestMessage")) is not None


@dataclasses.dataclass(frozen=True)
class Prepared:
    """What the commit stores besides the message: built and signed outside the transaction."""

    reply_to: str
    recipient: str  # the first provider, or the gateway itself
    deliveries: tuple[dict, ...]  # queue items
    queued: tuple[Queued, ...] = ()  # the same items as a test message's preview names them


def prepare(svc, ctx: Context) -> None:
    """Everything to deliver is built (and the forwarded requests signed) now, outside the
    write transaction."""
    data, sender, decision = ctx.data, ctx.caller.system, ctx.decision
    qname = etree.QName(ctx.payload)
    namespace, root = qname.namespace or "", qname.localname
    eol_text = ctx.data_text(ns.q(T, "EOL"))
    eol = datetime.fromisoformat(eol_text) if eol_text else None
    reply_to = ids.random_hex()
    consumer = Party(sender.mnemonic, sender.name)
    signature = stages.caller_signature(ctx)
    deliveries = []
    for provider in (ctx.providers if decision is None or decision.forward else []):
        meta = ReceiptData(ctx.message_id, "REQUEST", consumer, Party(provider, provider), ctx.now,
                           None, None, None, None, destination=provider,
                           content_type_name=f"{{{namespace}}}{root}")
        deliveries.append(dict(message_id=ctx.message_id, kind="REQUEST", recipient=provider,
                               namespace_uri=namespace, root_element=root, node_id=None, eol=eol,
                               body=delivery.request_message(data, signature, meta, reply_to,
                                                             svc.signer)))
    if decision is not None:
        deliveries.append(_gateway_answer(svc, ctx, reply_to, consumer, namespace, root))
        if decision.forward_original:
            deliveries.extend(_forward_original(svc, decision.forward_original, ctx.now))
    answer = -1 if decision is None else \
        next(i for i, d in enumerate(deliveries) if d["kind"] == "RESPONSE")
    queued = [Queued(d["kind"], d["recipient"], f"{{{d['namespace_uri']}}}{d['root_element']}")
              if i != answer else  # the gateway's own answer: say what it holds
              Queued(d["kind"], d["recipient"], f"{{{d['namespace_uri']}}}{d['root_element']}",
                     status=None if (decision.response is not None or decision.rejections)
                     else f"{decision.kind}: {decision.state}",
                     rejections=tuple(decision.rejections), content=decision.response)
              for i, d in enumerate(deliveries)]
    ctx.prepared = Prepared(reply_to, ctx.providers[0] if ctx.providers else svc.settings.mnemonic,
                            tuple(deliveries), tuple(queued))


def _gateway_answer(svc, ctx: Context, reply_to: str, consumer: Party, namespace: str,
                    root: str) -> dict:
    """The built-in provider's answer to the consumer (signed when first taken)."""
    decision = ctx.decision
    answer = decision.response
    status = None if (answer is not None or decision.rejections) else (
        0, f"{decision.kind}: {decision.state}", {"state": decision.state})
    gateway = Party(svc.settings.mnemonic, svc.settings.human_readable_name)
    response_id, body = delivery.gateway_answer(
        reply_to, lambda response_id: ReceiptData(
            response_id, "RESPONSE", gateway, consumer, ctx.now, None, None, None, None,
            destination=ctx.caller.system.mnemonic),
        ctx.message_id, ctx.data_text(ns.q(T, "ReferenceMessageID")),
        payload=answer, rejections=list(decision.rejections), status=status)
    qname = etree.QName(answer) if answer is not None else None
    return dict(message_id=response_id, kind="RESPONSE", recipient=ctx.caller.system.mnemonic,
                namespace_uri=(qname.namespace or "") if qname is not None else namespace,
                root_element=qname.localname if qname is not None else root,
                node_id=ctx.data_text(ns.q(T, "NodeID")), eol=None,
                related_message_id=ctx.message_id, body=body)


def _forward_original(svc, message_id: str, now: datetime) -> list[dict]:
    """Deliver an earlier request (held back until now) to its type's providers, as received."""
    from gateway.pipeline.parse import parse_envelope

    row = messages.load_original(svc.engine, message_id)
    request = parse_envelope(row.envelope).body_child
    data = child(request, ns.q(T, "SenderProvidedRequestData"))
    signature = stages.signature_in(request)  # a ds:Signature, or a REST request's JWS
    items = []
    for provider in svc.participants.providers(row.namespace_uri, row.root_element):
        if not svc.participants.enabled(provider):
            continue
        meta = ReceiptData(message_id, "REQUEST", Party(row.sender, row.sender_name),
                           Party(provider, provider), now, None, None, None, None,
                           destination=provider,
                           content_type_name=f"{{{row.namespace_uri}}}{row.root_element}")
        items.append(dict(message_id=message_id, kind="REQUEST", recipient=provider,
                          namespace_uri=row.namespace_uri, root_element=row.root_element,
                          node_id=None, eol=row.eol,
                          body=delivery.request_message(data, signature, meta, row.reply_to,
                                                        svc.signer)))
    return items


def check_overflow(svc, conn, recipient: str) -> None:
    if queues.pending(conn, recipient) >= svc.settings.max_queue_depth:
        raise faults.DestinationOverflow(
            f"the queue of {recipient} holds {svc.settings.max_queue_depth} undelivered messages",
            code="DESTINATION_OVERFLOW",
            fields=[("MessageBrokerAddress", svc.settings.endpoint), ("DestinationName", recipient)])


def commit(svc, ctx: Context) -> None:
    """ONE transaction: the message, the state change, the register writes (outbox), the queue
    items, the attachments and the journal; then the register writes are carried out and the
    receipt may leave."""
    data, sender, prepared = ctx.data, ctx.caller.system, ctx.prepared
    qname = etree.QName(ctx.payload)
    namespace, root = qname.namespace or "", qname.localname
    providers = bool(ctx.providers)
    eol_text = ctx.data_text(ns.q(T, "EOL"))
    incoming = IncomingMessage(
        message_id=ctx.message_id, message_type="REQUEST",
        reference_message_id=ctx.data_text(ns.q(T, "ReferenceMessageID")),
        sender=sender.mnemonic, recipient=prepared.recipient, namespace_uri=namespace,
        root_element=root, content_digest=ctx.digest, test_message=is_test(ctx),
        received_at=ctx.now, envelope=ctx.raw, verification=ctx.caller.verified.journal_detail(),
        reply_to=prepared.reply_to, node_id=ctx.data_text(ns.q(T, "NodeID")),
        transaction_code=ctx.data_text(ns.q(T, "TransactionCode")),
        eol=datetime.fromisoformat(eol_text) if eol_text else None,
        person=ctx.person, person_not_after=ctx.person_not_after)

    def build_receipt(number: str, preview) -> bytes:
        return send_request_response(ReceiptData(
            message_id=ctx.message_id, message_type="REQUEST",
            sender=Party(sender.mnemonic, sender.name),
            recipient=Party(prepared.recipient, prepared.recipient) if providers else
            Party(svc.settings.mnemonic, svc.settings.human_readable_name),
            sending_timestamp=ctx.now, delivery_timestamp=None, status="requestIsQueued",
            registration_number=number, content_digest=ctx.digest, destination=prepared.recipient,
            content_type_name=f"{{{namespace}}}{root}", preview=preview), svc.signer)

    # read before the write lock is taken (``also`` runs under it), and only when there are files
    mime_types = attachments.header_mime_types(data) if ctx.received else {}

    def also(conn) -> None:
        for provider in {d["recipient"] for d in prepared.deliveries if d["kind"] == "REQUEST"}:
            check_overflow(svc, conn, provider)
        attachments.check_quota(conn, svc.settings, sender.mnemonic,
                                sum(a.size for a in ctx.received.values()), ctx.now)
        attachments.keep(conn, svc.settings, ctx.message_id, sender.mnemonic, ctx.received,
                         mime_types, ctx.now)
        for item in prepared.deliveries:
            queues.enqueue(conn, now=ctx.now, **item)

    ctx.answer = store_decided(svc, ctx, incoming, build_receipt, also, prepared.queued)


OPERATION = Operation(
    "SendRequest", ns.q(T, "SendRequestRequest"), signed=ns.q(T, "SenderProvidedRequestData"),
    attachments=True,
    stages=(stages.known_signer, attachments.resolve, stages.envelope_xsd, stages.signature, stages.participant,
            stages.replay, attachments.headers, stages.message_id, request_checks,
            stages.business_payload, stages.personal_signature, stages.route, stages.authorize,
            stages.payload_rules, decide, prepare, commit))
