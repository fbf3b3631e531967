"""SendResponse: a provider answers a request it took with GetRequest.

``To`` must be the reply address of a request delivered to this provider (otherwise
``TargetMessageIsNotFound``: nothing reveals whether the request exists for someone else). A
business answer must be of a type the request's domain allows (``IncorrectResponseContentType``).
The answer goes to the consumer's GetResponse queue in the same transaction as the receipt.
"""
from __future__ import annotations

from lxml import etree

from envelopes import ns
from gateway import faults
from gateway.domains.base import HandlerContext
from gateway.exchange import attachments, delivery
from gateway.pipeline import stages
from gateway.pipeline.context import Context
from gateway.exchange.send_request import is_test
from gateway.pipeline.persist import IncomingMessage, Queued, store_decided
from gateway.pipeline.receipt import Party, ReceiptData, send_request_response
from gateway.pipeline.sequence import Operation
from gateway.pipeline.views import Applications
from gateway.storage import messages, queues

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC


def answered_request(svc, ctx: Context) -> None:
    """``To`` names a request delivered to this provider (and nothing else is revealed)."""
    reply_to = (ctx.data.findtext(ns.q(T, "To")) or "").strip()
    provider = ctx.caller.system.mnemonic
    original = messages.load_request_by_reply_to(svc.engine, reply_to)
    if original is None or provider not in svc.participants.providers(original.namespace_uri,
                                                                      original.root_element):
        raise faults.TargetMessageIsNotFound(
            f"no request delivered to {provider} has the reply address {reply_to[:100]!r}",
            code="TARGET_MESSAGE_IS_NOT_FOUND")
    ctx.original = original


def answer_payload(svc, ctx: Context) -> None:
    """A business answer (if any) of a type the answered request's domain allows."""
    if ctx.data.find(ns.q(B, "MessagePrimaryContent")) is None:
        return  # a status or rejections only
    stages.business_payload(svc, ctx)
    qname = etree.QName(ctx.payload)
    original = ctx.original
    domain = svc.router.domains.get(original.namespace_uri)
    allowed = domain.response_roots.get(original.root_element) if domain else None
    if allowed is not None and (qname.namespace != domain.namespace or qname.localname not in allowed):
        raise faults.IncorrectResponseContentType(
            f"{{{qname.namespace}}}{qname.localname} is not an answer to "
            f"{{{original.namespace_uri}}}{original.root_element}; expected one of "
            f"{', '.join(sorted(allowed))}", code="INCORRECT_RESPONSE_CONTENT_TYPE")
    ctx.domain = domain


def decide(svc, ctx: Context) -> None:
    """A provider's answer to a built-in domain drives its state machine onwards."""
    if ctx.payload is None or ctx.domain is None or \
            etree.QName(ctx.payload).namespace != ctx.domain.namespace:
        return
    handler = ctx.domain.response_handlers.get(etree.QName(ctx.payload).localname)
    if handler is not None:
        ctx.decision = handler(HandlerContext(  # message_id: the request being answered
            payload=ctx.payload, message_id=ctx.original.message_id,
            sender=ctx.caller.system.mnemonic, signer=ctx.caller.verified.identity,
            test_message=is_test(ctx), registers=svc.registers, applications=Applications(svc.engine),
            now=ctx.now, schemas=svc.schemas))


def prepare(svc, ctx: Context) -> None:
    """The ``ResponseMessage`` for the consumer, signed now, outside the write transaction."""
    provider, original = ctx.caller.system, ctx.original
    meta = ReceiptData(ctx.message_id, "RESPONSE", Party(provider.mnemonic, provider.name),
                       Party(original.sender, original.sender_name), ctx.now, None, None, None,
                       None, destination=original.sender)
    ctx.prepared = delivery.response_message(ctx.data, stages.caller_signature(ctx), meta,
                                             original.message_id, original.reference_message_id,
                                             svc.signer)


def commit(svc, ctx: Context) -> None:
    """ONE transaction: the answer, the state change, the register writes, the consumer's queue
    item, the attachments and the journal; then the register writes run and the receipt leaves."""
    provider, original, data = ctx.caller.system, ctx.original, ctx.data
    if ctx.payload is not None:
        qname = etree.QName(ctx.payload)
        namespace, root = qname.namespace or "", qname.localname
    else:
        namespace, root = original.namespace_uri, original.root_element
    consumer = Party(original.sender, original.sender_name)
    incoming = IncomingMessage(
        message_id=ctx.message_id, message_type="RESPONSE",
        reference_message_id=original.message_id, sender=provider.mnemonic,
        recipient=original.sender, namespace_uri=namespace, root_element=root,
        content_digest=ctx.digest, test_message=is_test(ctx), received_at=ctx.now, envelope=ctx.raw,
        verification=ctx.caller.verified.journal_detail(), status="responseIsAcceptedBySmev")

    def build_receipt(number: str, preview) -> bytes:
        return send_request_response(ReceiptData(
            message_id=ctx.message_id, message_type="RESPONSE",
            sender=Party(provider.mnemonic, provider.name), recipient=consumer,
            sending_timestamp=ctx.now, delivery_timestamp=None, status="responseIsAcceptedBySmev",
            registration_number=number, content_digest=ctx.digest, destination=original.sender,
            preview=preview), svc.signer, element="SendResponseResponse")

    # read before the write lock is taken (``also`` runs under it), and only when there are files
    mime_types = attachments.header_mime_types(data) if ctx.received else {}

    def also(conn) -> None:
        attachments.check_quota(conn, svc.settings, provider.mnemonic,
                                sum(a.size for a in ctx.received.values()), ctx.now)
        attachments.keep(conn, svc.settings, ctx.message_id, provider.mnemonic, ctx.received,
                         mime_types, ctx.now)
        queues.enqueue(conn, message_id=ctx.message_id, kind="RESPONSE", recipient=original.sender,
                       namespace_uri=namespace, root_element=root, body=ctx.prepared, now=ctx.now,
                       node_id=original.node_id, related_message_id=original.message_id)

    ctx.answer = store_decided(svc, ctx, incoming, build_receipt, also,
                               [Queued("RESPONSE", original.sender, f"{{{namespace}}}{root}")])


OPERATION = Operation(
    "SendResponse", ns.q(T, "SendResponseRequest"), signed=ns.q(T, "SenderProvidedResponseData"),
    attachments=True,
    stages=(stages.known_signer, attachments.resolve, stages.envelope_xsd, stages.signature, stages.participant,
            stages.replay, attachments.headers, stages.message_id, answered_request,
            answer_payload, stages.payload_rules, decide, prepare, commit))
