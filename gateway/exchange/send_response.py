"""SendResponse: a provider answers a request it took with GetRequest.

``To`` must be the reply address of a request delivered to this provider (otherwise
``TargetMessageIsNotFound``: nothing reveals whether the request exists for someone else). A
business answer must be of a type the request's domain allows (``IncorrectResponseContentType``).
The answer goes to the consumer's GetResponse queue in the same transaction as the receipt.
"""
from __future__ import annotations

import hashlib
from datetime import date  # TEMPORARY until the outbox lands

from lxml import etree
from sqlalchemy import select

from envelopes import ns
from gateway import faults
from gateway.exchange import attachments
from gateway.exchange import delivery, queues
from gateway.http import xop
from gateway.storage.applications import Applications
from gateway.exchange.send_request import (business_payload, carrying_attachments, change_of,
                                           header_mime_types, message_identity, validate_payload)
from gateway.domains.base import HandlerContext
from gateway.pipeline.parse import ParsedEnvelope
from gateway.pipeline.persist import IncomingMessage, store_request
from gateway.pipeline.dispatch import Services
from gateway.pipeline.receipt import Party, ReceiptData, send_request_response
from gateway.storage.schema import information_systems, messages
from signing.c14n import exc_c14n

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC


def _original(svc: Services, reply_to: str, provider: str):
    with svc.engine.connect() as conn:
        row = conn.execute(
            select(messages.c.message_id, messages.c.sender, messages.c.recipient,
                   messages.c.namespace_uri, messages.c.root_element,
                   messages.c.reference_message_id, messages.c.node_id,
                   information_systems.c.name)
            .join(information_systems, information_systems.c.mnemonic == messages.c.sender)
            .where(messages.c.reply_to == reply_to, messages.c.message_type == "REQUEST")).first()
    if row is None or provider not in svc.participants.providers(row.namespace_uri, row.root_element):
        raise faults.TargetMessageIsNotFound(
            f"no request delivered to {provider} has the reply address {reply_to[:100]!r}",
            code="TARGET_MESSAGE_IS_NOT_FOUND")
    return row


@carrying_attachments
def send_response(svc: Services, envelope: ParsedEnvelope, raw: bytes, received: dict) -> bytes:
    now = svc.clock()
    request = envelope.body_child
    svc.validate_operation(request, raw)
    caller = svc.verify_caller(request, ns.q(T, "SenderProvidedResponseData"), now)
    data, provider = caller.element, caller.system
    xop.check_headers(data, received)
    message_id = message_identity(svc, data, now)
    original = _original(svc, (data.findtext(ns.q(T, "To")) or "").strip(), provider.mnemonic)

    content = data.find(ns.q(B, "MessagePrimaryContent"))
    namespace, root = original.namespace_uri, original.root_element
    change = decision = None
    if content is not None:
        payload = business_payload(data, "the response")
        qname = etree.QName(payload)
        domain = svc.router.domains.get(original.namespace_uri)
        allowed = domain.response_roots.get(original.root_element) if domain else None
        if allowed is not None and (qname.namespace != domain.namespace or qname.localname not in allowed):
            raise faults.IncorrectResponseContentType(
                f"{{{qname.namespace}}}{qname.localname} is not an answer to "
                f"{{{original.namespace_uri}}}{original.root_element}; expected one of "
                f"{', '.join(sorted(allowed))}", code="INCORRECT_RESPONSE_CONTENT_TYPE")
        if domain is not None and qname.namespace == domain.namespace:
            validate_payload(svc, domain, payload, raw)
            handler = domain.response_handlers.get(qname.localname)
            if handler is not None:  # the provider's answer drives the state machine onwards
                decision = handler(HandlerContext(  # message_id: the request being answered
                    payload=payload, message_id=original.message_id, sender=provider.mnemonic,
                    signer=caller.verified.identity, test_message=False,
                    registers=svc.registers, applications=Applications(svc.engine), now=now))
                change = change_of(domain, decision)
        namespace, root = qname.namespace or "", qname.localname

    digest = hashlib.sha256(exc_c14n(data)).hexdigest()
    consumer = Party(original.sender, original.name)
    signature = request.find(f"{{{T}}}CallerInformationSystemSignature/{{{ns.DS}}}Signature")
    meta = ReceiptData(message_id, "RESPONSE", Party(provider.mnemonic, provider.name), consumer,
                       now, None, None, None, None, destination=original.sender)
    body = delivery.response_message(data, signature, meta, original.message_id,
                                     original.reference_message_id, svc.signer)
    incoming = IncomingMessage(
        message_id=message_id, message_type="RESPONSE",
        reference_message_id=original.message_id, sender=provider.mnemonic,
        recipient=original.sender, namespace_uri=namespace, root_element=root,
        content_digest=digest, test_message=False, received_at=now, envelope=raw,
        verification=caller.verified.journal_detail(), status="responseIsAcceptedBySmev")

    def build_receipt(number: str) -> bytes:
        return send_request_response(ReceiptData(
            message_id=message_id, message_type="RESPONSE",
            sender=Party(provider.mnemonic, provider.name), recipient=consumer,
            sending_timestamp=now, delivery_timestamp=None, status="responseIsAcceptedBySmev",
            registration_number=number, content_digest=digest, destination=original.sender),
            svc.signer, element="SendResponseResponse")

    def also(conn) -> None:
        attachments.check_quota(conn, svc.settings, provider.mnemonic,
                                sum(a.size for a in received.values()), now)
        attachments.keep(conn, svc.settings, message_id, provider.mnemonic, received,
                         header_mime_types(data), now)
        queues.enqueue(conn, message_id=message_id, kind="RESPONSE", recipient=original.sender,
                       namespace_uri=namespace, root_element=root, body=body, now=now,
                       node_id=original.node_id, related_message_id=original.message_id)

    receipt = store_request(svc.engine, incoming, build_receipt, change, also).receipt
    for w in decision.register_writes if decision is not None else ():  # TEMPORARY until the outbox lands
        getattr(svc.registers, w.action)(**{**w.args, **({"at": date.fromisoformat(w.args["at"])}
                                                         if "at" in w.args else {})})
    return receipt
