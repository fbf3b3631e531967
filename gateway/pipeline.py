"""The one path every envelope takes (DESIGN.md): parse → validate → verify → authorize →
route → handle → persist → receipt. Each step is a function of its own module; this module only
wires them and knows the fixed places of the signed parts in each operation.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from lxml import etree

from envelopes import ns
from gateway import faults
from gateway.config import Settings
from gateway.faults import GatewayFault, InvalidContent, MalformedRequest, ValidationIssue
from gateway.identity import check_message_id
from gateway.parse import ParsedEnvelope, parse_envelope
from gateway.participants import Participants
from gateway.persist import ApplicationChange, IncomingMessage, store_request
from gateway.receipt import Party, ReceiptData, ReceiptSigner, send_request_response
from gateway.route import HandlerContext, Router
from gateway.validate import (SchemaSet, column_of, raise_if_invalid, readable_xpath,
                              register_prefix)
from gateway.verify import Verifier
from signing.c14n import exc_c14n

log = logging.getLogger("gateway.pipeline")

TYPES_XSD = "smev-message-exchange-types-1.1.xsd"
T, B, DS = ns.SMEV_TYPES, ns.SMEV_BASIC, ns.DS


@dataclasses.dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


def _child(parent: etree._Element, tag: str) -> etree._Element | None:
    """The single child ``tag`` of ``parent`` (the XSD already guaranteed at most one)."""
    return parent.find(tag)


class Pipeline:
    def __init__(self, settings: Settings, engine, schemas: SchemaSet, router: Router,
                 verifier: Verifier, participants: Participants, signer: ReceiptSigner,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.settings = settings
        self.engine = engine
        self.schemas = schemas
        self.router = router
        self.verifier = verifier
        self.participants = participants
        self.signer = signer
        self.clock = clock
        self.operations = {ns.q(T, "SendRequestRequest"): self.send_request}
        for domain in router.domains.values():
            register_prefix(domain.namespace, domain.prefix)
        self.gateway_party = Party(settings.mnemonic, settings.human_readable_name)

    # -- entry point -------------------------------------------------------------------------
    def handle(self, body: bytes) -> Response:
        soap_version = faults.SOAP11
        try:
            envelope = parse_envelope(body, max_depth=self.settings.max_depth,
                                      max_elements=self.settings.max_elements)
            soap_version = envelope.soap_version
            operation = self.operations.get(envelope.body_child.tag)
            if operation is None:
                raise MalformedRequest(f"unknown operation element {envelope.body_child.tag}",
                                       code="UNKNOWN_OPERATION")
            payload = operation(envelope, body)
            return Response(200, faults.CONTENT_TYPES[soap_version], wrap(payload, soap_version))
        except GatewayFault as fault:
            log.info("fault %s/%s: %s", fault.element, fault.code, fault.description)
            return Response(*faults.render(fault, soap_version))
        except Exception:
            log.exception("unexpected failure")
            return Response(*faults.render(RuntimeError(), soap_version))

    # -- SendRequest -------------------------------------------------------------------------
    def send_request(self, envelope: ParsedEnvelope, raw: bytes) -> bytes:
        now = self.clock()
        request = envelope.body_child
        raise_if_invalid(self.schemas.get(TYPES_XSD).errors(request, raw), "the SendRequest envelope")

        target = _child(request, ns.q(T, "SenderProvidedRequestData"))
        holder = _child(request, ns.q(T, "CallerInformationSystemSignature"))
        signatures = holder.findall(ns.q(DS, "Signature")) if holder is not None else []
        if len(signatures) > 1:
            raise faults.SignatureVerificationFault("more than one caller signature",
                                                    code="FORMAT_FAILURE")
        caller = self.verifier.verify(signatures[0] if signatures else None, target, at=now)
        data = caller.element  # from here on, only the verified element is read

        sender = self.participants.sender_of(caller.signature.certificate)
        message_id = check_message_id(
            data.findtext(ns.q(T, "MessageID")), now,
            max_age=timedelta(seconds=self.settings.message_id_max_age_seconds),
            max_future=timedelta(seconds=self.settings.message_id_max_future_seconds))
        content = _child(data, ns.q(B, "MessagePrimaryContent"))
        business = [c for c in content if isinstance(c.tag, str)]
        if len(business) != 1:
            raise InvalidContent("MessagePrimaryContent must hold exactly one business element",
                                 code="XSD_VIOLATION")
        payload = business[0]
        domain, handler = self.router.route(payload)
        raise_if_invalid(self.schemas.get(domain.xsd).errors(payload, raw), "the business payload")
        raise_if_invalid(self._field_rules(domain, payload, raw), "the business payload")

        test_message = _child(data, ns.q(T, "TestMessage")) is not None
        decision = handler(HandlerContext(payload=payload, message_id=message_id,
                                          sender=sender.mnemonic, signer=caller.identity,
                                          test_message=test_message))
        digest = hashlib.sha256(exc_c14n(data)).hexdigest()
        incoming = IncomingMessage(
            message_id=message_id, message_type="REQUEST",
            reference_message_id=data.findtext(ns.q(T, "ReferenceMessageID")),
            sender=sender.mnemonic, recipient=self.settings.mnemonic,
            namespace_uri=domain.namespace, root_element=etree.QName(payload).localname,
            content_digest=digest, test_message=test_message, received_at=now,
            envelope=raw, verification=caller.journal_detail())

        def build_receipt(number: str) -> bytes:
            return send_request_response(ReceiptData(
                message_id=message_id, message_type="REQUEST",
                sender=Party(sender.mnemonic, sender.name), recipient=self.gateway_party,
                sending_timestamp=now, delivery_timestamp=None, status="requestIsQueued",
                registration_number=number, content_digest=digest,
                destination=self.settings.mnemonic,
                content_type_name=f"{{{domain.namespace}}}{etree.QName(payload).localname}"),
                self.signer)

        change = ApplicationChange(domain.name, decision.kind, decision.organisation_inn,
                                   decision.state)
        stored = store_request(self.engine, incoming, build_receipt, change)
        return stored.receipt

    def _field_rules(self, domain, payload: etree._Element, raw: bytes) -> list[ValidationIssue]:
        issues = []
        nsmap = {"p": domain.namespace}
        for rule in domain.field_rules.get(etree.QName(payload).localname, ()):
            nodes = [payload.find(path, nsmap) for path in rule.paths]
            if any(n is None for n in nodes):
                continue  # optional fields absent: the XSD decides whether that is allowed
            problem = rule.check(*[(n.text or "").strip() for n in nodes])
            if problem:
                issues.append(ValidationIssue("FIELD_RULE", f"{rule.name}: {problem}",
                                              readable_xpath(nodes[0]), nodes[0].sourceline,
                                              column_of(raw, nodes[0])))
        return issues


_OPEN = {faults.SOAP11: f'<soap:Envelope xmlns:soap="{ns.SOAP11_ENV}"><soap:Body>'.encode(),
         faults.SOAP12: f'<soap:Envelope xmlns:soap="{ns.SOAP12_ENV}"><soap:Body>'.encode()}
_CLOSE = b"</soap:Body></soap:Envelope>"


def wrap(body_element: bytes, soap_version: str) -> bytes:
    """Put a serialized body element into a SOAP envelope without re-serializing it."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + _OPEN[soap_version] + body_element + _CLOSE
