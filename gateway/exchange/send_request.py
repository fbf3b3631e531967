"""SendRequest: a consumer's signed request in; a signed receipt out after a durable commit.

Routing: the payload's root QName is a business type. A built-in domain handler processes it at
once (its state change and its answer to the consumer are stored in the same transaction); an
external provider registered to serve the type gets it in its GetRequest queue. Neither:
``BusinessDataTypeIsNotSupported``. The sender needs a ``send`` permission for the type.
"""
from __future__ import annotations

import functools
import hashlib
import re
import uuid
from datetime import datetime, timedelta
from datetime import date  # TEMPORARY until the outbox lands

from lxml import etree

from envelopes import ns
from gateway import faults
from gateway.exchange import attachments
from gateway.exchange import delivery, queues
from gateway.http import xop
from gateway.storage.applications import Applications
from gateway.pipeline.identity import check_message_id
from gateway.pipeline.parse import ParsedEnvelope
from gateway.exchange.participants import SEND
from gateway.pipeline.persist import ApplicationChange, IncomingMessage, store_request
from gateway.pipeline.dispatch import Caller, Services
from gateway.pipeline.receipt import Party, ReceiptData, send_request_response
from gateway.domains.base import HandlerContext
from gateway.pipeline.validate import raise_if_invalid
from gateway.pipeline.validate.fields import field_rule_issues
from signing.c14n import exc_c14n

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
_PATTERNS: dict[str, re.Pattern] = {}


def business_payload(data: etree._Element, what: str) -> etree._Element:
    content = data.find(ns.q(B, "MessagePrimaryContent"))
    business = [c for c in content if isinstance(c.tag, str)] if content is not None else []
    if len(business) != 1:
        raise faults.InvalidContent(f"{what}: MessagePrimaryContent must hold exactly one business "
                                    "element", code="XSD_VIOLATION")
    return business[0]


def message_identity(svc: Services, data: etree._Element, now: datetime) -> str:
    return check_message_id(
        data.findtext(ns.q(T, "MessageID")), now,
        max_age=timedelta(seconds=svc.settings.message_id_max_age_seconds),
        max_future=timedelta(seconds=svc.settings.message_id_max_future_seconds))


def validate_payload(svc: Services, domain, payload: etree._Element, raw: bytes) -> None:
    """The payload against its domain's XSD, then the checksum rules of its identifiers."""
    raise_if_invalid(svc.schemas.get(domain.xsd).errors(payload, raw), "the business payload")
    raise_if_invalid(field_rule_issues(payload, raw), "the business payload")


def check_overflow(svc: Services, conn, recipient: str) -> None:
    if queues.pending(conn, recipient) >= svc.settings.max_queue_depth:
        raise faults.DestinationOverflow(
            f"the queue of {recipient} holds {svc.settings.max_queue_depth} undelivered messages",
            code="DESTINATION_OVERFLOW",
            fields=[("MessageBrokerAddress", svc.settings.endpoint), ("DestinationName", recipient)])


def change_of(domain, decision) -> ApplicationChange:
    return ApplicationChange(domain.name, decision.kind, decision.organisation_inn, decision.state,
                             decision.application_id, decision.from_state, decision.also_moves)


def _forward_original(svc: Services, message_id: str, now: datetime) -> list[dict]:
    """Deliver an earlier request (held back until now) to its type's providers, as received."""
    from sqlalchemy import select

    from gateway.pipeline.parse import parse_envelope
    from gateway.storage.schema import information_systems, messages

    with svc.engine.connect() as conn:
        row = conn.execute(select(messages, information_systems.c.name.label("sender_name"))
                           .join(information_systems,
                                 information_systems.c.mnemonic == messages.c.sender)
                           .where(messages.c.message_id == message_id)).one()
    request = parse_envelope(row.envelope).body_child
    data = request.find(ns.q(T, "SenderProvidedRequestData"))
    signature = _caller_signature(request)
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


def _personal_signer(svc: Services, data: etree._Element, payload: etree._Element, now):
    """The identity of a person's ``PersonalSignature`` over the business content (verified like
    the caller's: the content at its fixed place, the certificate path), or None."""
    holder = data.find(ns.q(T, "PersonalSignature"))
    if holder is None:
        return None
    signatures = [c for c in holder if isinstance(c.tag, str)]
    if len(signatures) != 1 or signatures[0].tag != ns.q(ns.DS, "Signature"):
        raise faults.SignatureVerificationFault("PersonalSignature must hold exactly one ds:Signature",
                                                code="FORMAT_FAILURE")
    return svc.verifier.verify(signatures[0], payload, at=now).identity


def _caller_signature(request: etree._Element) -> etree._Element:
    return request.find(f"{{{T}}}CallerInformationSystemSignature/{{{ns.DS}}}Signature")


def carrying_attachments(operation):
    """For SendRequest/SendResponse: resolve ``AttachmentContentList`` (XOP parts and inline
    contents) before anything else — an xop:Include is not base64Binary until resolved — and
    remove the spool files that were not kept, whatever happens."""
    @functools.wraps(operation)
    def run(svc: Services, envelope: ParsedEnvelope, raw: bytes, mtom=None) -> bytes:
        received = xop.resolve(envelope.body_child, mtom, spool_dir=svc.settings.spool_dir,
                               max_attachment_bytes=svc.settings.max_attachment_bytes)
        try:
            return operation(svc, envelope, raw, received)
        finally:
            xop.discard(received)
    return run


def header_mime_types(data: etree._Element) -> dict[str, str]:
    return {(h.findtext(ns.q(B, "contentId")) or "").strip(): (h.findtext(ns.q(B, "MimeType")) or "")
            for h in data.iterfind(f"{{{B}}}AttachmentHeaderList/{{{B}}}AttachmentHeader")}


@carrying_attachments
def send_request(svc: Services, envelope: ParsedEnvelope, raw: bytes, received: dict) -> bytes:
    now = svc.clock()
    request = envelope.body_child
    svc.validate_operation(request, raw)
    caller: Caller = svc.verify_caller(request, ns.q(T, "SenderProvidedRequestData"), now)
    data, sender = caller.element, caller.system  # from here on, only the verified element
    xop.check_headers(data, received)
    message_id = message_identity(svc, data, now)

    eol_text = data.findtext(ns.q(T, "EOL"))
    eol = datetime.fromisoformat(eol_text) if eol_text else None
    if eol is not None and eol <= now:
        raise faults.EndOfLifeReached(f"the request's EOL {eol_text} has passed", code="END_OF_LIFE")
    transaction_code = data.findtext(ns.q(T, "TransactionCode"))
    if transaction_code is not None:
        pattern = _PATTERNS.get(svc.settings.transaction_code_pattern)
        if pattern is None:
            pattern = _PATTERNS[svc.settings.transaction_code_pattern] = re.compile(
                svc.settings.transaction_code_pattern)
        if not pattern.match(transaction_code):
            raise faults.TransactionCodeInvalid(
                f"TransactionCode {transaction_code[:60]!r} does not match "
                f"{svc.settings.transaction_code_pattern}", code="TRANSACTION_CODE_INVALID")

    payload = business_payload(data, "the request")
    person = _personal_signer(svc, data, payload, now)
    qname = etree.QName(payload)
    namespace, root = qname.namespace or "", qname.localname
    domain, handler = svc.router.route(payload)
    registered = svc.participants.providers(namespace, root)
    if handler is None and not registered:
        raise faults.BusinessDataTypeIsNotSupported(
            f"no provider serves the business type {{{namespace}}}{root}",
            code="BUSINESS_DATA_TYPE_IS_NOT_SUPPORTED",
            fields=[("RootElementLocalName", root), ("RootElementNamespaceURI", namespace)])
    providers = [p for p in registered if svc.participants.enabled(p)]
    if handler is None and not providers:
        raise faults.RecipientIsNotFound(
            f"every provider of {{{namespace}}}{root} is disabled: {', '.join(registered)}",
            code="RECIPIENT_IS_NOT_FOUND")
    if not svc.participants.allowed(sender.mnemonic, SEND, namespace, root):
        raise faults.AccessDenied(f"{sender.mnemonic} may not send {{{namespace}}}{root}",
                                  code="ACCESS_DENIED")
    if domain is not None:
        validate_payload(svc, domain, payload, raw)

    test_message = data.find(ns.q(T, "TestMessage")) is not None
    node_id = data.findtext(ns.q(T, "NodeID"))
    decision = None
    if handler is not None:
        decision = handler(HandlerContext(payload=payload, message_id=message_id,
                                          sender=sender.mnemonic, signer=caller.verified.identity,
                                          test_message=test_message, registers=svc.registers,
                                          applications=Applications(svc.engine), now=now,
                                          person=person, schemas=svc.schemas))
    digest = hashlib.sha256(exc_c14n(data)).hexdigest()
    reply_to = uuid.uuid4().hex
    consumer = Party(sender.mnemonic, sender.name)
    type_name = f"{{{namespace}}}{root}"
    signature = _caller_signature(request)

    # Everything to deliver is built and signed now, outside the write transaction.
    deliveries = []
    forwarded = providers if decision is None or decision.forward else []
    for provider in forwarded:
        meta = ReceiptData(message_id, "REQUEST", consumer, Party(provider, provider), now, None,
                           None, None, None, destination=provider, content_type_name=type_name)
        deliveries.append(dict(message_id=message_id, kind="REQUEST", recipient=provider,
                               namespace_uri=namespace, root_element=root, node_id=None, eol=eol,
                               body=delivery.request_message(data, signature, meta, reply_to,
                                                             svc.signer)))
    if decision is not None:
        answer = decision.response
        status = None if (answer is not None or decision.rejections) else (
            0, f"{decision.kind}: {decision.state}", {"state": decision.state})
        response_id, response_data = delivery.gateway_response_data(
            reply_to, payload=answer, rejections=list(decision.rejections), status=status)
        meta = ReceiptData(response_id, "RESPONSE", svc.gateway_party, consumer, now, None, None,
                           None, None, destination=sender.mnemonic)
        answer_ns = etree.QName(answer).namespace if answer is not None else namespace
        answer_root = etree.QName(answer).localname if answer is not None else root
        deliveries.append(dict(message_id=response_id, kind="RESPONSE", recipient=sender.mnemonic,
                               namespace_uri=answer_ns or "", root_element=answer_root,
                               node_id=node_id, eol=None, related_message_id=message_id,
                               # signed when first taken: the request path does not pay for it
                               body=delivery.response_message(
                                   response_data, None, meta, message_id,
                                   data.findtext(ns.q(T, "ReferenceMessageID")), None)))

    if decision is not None and decision.forward_original:
        deliveries.extend(_forward_original(svc, decision.forward_original, now))

    recipient = providers[0] if providers else svc.settings.mnemonic
    incoming = IncomingMessage(
        message_id=message_id, message_type="REQUEST",
        reference_message_id=data.findtext(ns.q(T, "ReferenceMessageID")),
        sender=sender.mnemonic, recipient=recipient, namespace_uri=namespace, root_element=root,
        content_digest=digest, test_message=test_message, received_at=now, envelope=raw,
        verification=caller.verified.journal_detail(), reply_to=reply_to, node_id=node_id,
        transaction_code=transaction_code, eol=eol)

    def build_receipt(number: str) -> bytes:
        return send_request_response(ReceiptData(
            message_id=message_id, message_type="REQUEST", sender=consumer,
            recipient=Party(recipient, recipient) if providers else svc.gateway_party,
            sending_timestamp=now, delivery_timestamp=None, status="requestIsQueued",
            registration_number=number, content_digest=digest, destination=recipient,
            content_type_name=type_name), svc.signer)

    def also(conn) -> None:
        for provider in {d["recipient"] for d in deliveries if d["kind"] == "REQUEST"}:
            check_overflow(svc, conn, provider)
        attachments.check_quota(conn, svc.settings, sender.mnemonic,
                                sum(a.size for a in received.values()), now)
        attachments.keep(conn, svc.settings, message_id, sender.mnemonic, received,
                         header_mime_types(data), now)
        for item in deliveries:
            queues.enqueue(conn, now=now, **item)

    change = None
    if decision is not None:
        change = change_of(domain, decision)
    receipt = store_request(svc.engine, incoming, build_receipt, change, also).receipt
    for w in decision.register_writes if decision is not None else ():  # TEMPORARY until the outbox lands
        getattr(svc.registers, w.action)(**{**w.args, **({"at": date.fromisoformat(w.args["at"])}
                                                         if "at" in w.args else {})})
    return receipt
