"""The one path every envelope takes: parse → validate → verify → authorize → route → handle →
persist → receipt (docs/protocol.md lists the checks in order).

This module parses, dispatches by the operation element, and turns every failure into one
fault; each operation lives in ``gateway/exchange/<operation>.py`` and uses the shared stages
through :class:`Services`: the envelope XSD, the caller's signature at its FIXED place, the
sender's registration.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from lxml import etree

from envelopes import ns
from gateway import faults
from gateway.config import Settings
from gateway.faults import GatewayFault, MalformedRequest, SignatureVerificationFault
from gateway.pipeline.parse import ParsedEnvelope, parse_envelope
from gateway.exchange.participants import InformationSystem, Participants
from gateway.pipeline.receipt import Party, ReceiptSigner
from gateway.registers import Registers, RegisterUnavailable
from gateway.storage import journal
from gateway.storage.db import write_transaction
from gateway.domains.base import Router
from gateway.pipeline.validate import SchemaSet, raise_if_invalid, register_prefix
from gateway.http.mtom_answer import MtomAnswer, OutgoingPart
from gateway.pipeline.verify import VerifiedCaller, Verifier

log = logging.getLogger("gateway.pipeline.dispatch")

TYPES_XSD = "smev-message-exchange-types-1.1.xsd"
T, B, DS = ns.SMEV_TYPES, ns.SMEV_BASIC, ns.DS


@dataclasses.dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    #: MTOM parts of the answer (files delivered by GetRequest/GetResponse); ``body`` is then the
    #: root part and ``gateway.http.app`` sends them as multipart/related
    parts: tuple[OutgoingPart, ...] = ()
    soap_version: str = faults.SOAP11


@dataclasses.dataclass(frozen=True)
class Caller:
    """A verified caller: the signed element (the only one to read), who signed it, which IS."""

    verified: VerifiedCaller
    system: InformationSystem

    @property
    def element(self) -> etree._Element:
        return self.verified.element


@dataclasses.dataclass
class Services:
    """Long-lived objects every operation uses (built once per process by gateway.wiring)."""

    settings: Settings
    engine: object
    schemas: SchemaSet
    router: Router
    verifier: Verifier
    participants: Participants
    signer: ReceiptSigner
    registers: Registers | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    @property
    def gateway_party(self) -> Party:
        return Party(self.settings.mnemonic, self.settings.human_readable_name)

    def validate_operation(self, request: etree._Element, raw: bytes) -> None:
        raise_if_invalid(self.schemas.get(TYPES_XSD).errors(request, raw), "the request envelope")

    def verify_caller(self, request: etree._Element, signed_tag: str, now: datetime) -> Caller:
        """Verify ``CallerInformationSystemSignature`` over the single ``signed_tag`` child of
        ``request`` (the XSD has already fixed their places) and find the sender's IS."""
        target = request.find(signed_tag)
        holder = request.find(ns.q(T, "CallerInformationSystemSignature"))
        signatures = [c for c in holder if isinstance(c.tag, str)] if holder is not None else []
        if len(signatures) > 1 or (signatures and signatures[0].tag != ns.q(DS, "Signature")):
            raise SignatureVerificationFault(
                "CallerInformationSystemSignature must hold exactly one ds:Signature",
                code="FORMAT_FAILURE")
        if not signatures:
            raise SignatureVerificationFault(
                "the request is not signed: CallerInformationSystemSignature/ds:Signature is missing",
                code="NO_SIGNATURE")
        verified = self.verifier.verify(signatures[0], target, at=now)
        return Caller(verified, self.participants.sender_of(verified.signature.certificate))

    def journal(self, conn, now: datetime, caller: "Caller", operation: str, raw: bytes,
                answer: bytes, **detail) -> None:
        """Journal a request and the answer to it (inside the operation's transaction)."""
        journal.append_many(conn, [
            journal.Entry(now, detail.pop("message_id", None), "IN", operation,
                          {"sender": caller.system.mnemonic,
                           "verification": caller.verified.journal_detail(), **detail},
                          raw, keep=True),
            journal.Entry(now, None, "OUT", f"{operation}Response", {}, answer, keep=True)])

    def check_timestamp(self, text: str | None, now: datetime, what: str) -> None:
        """A signed selector/timestamp must be current, so a captured one cannot be replayed."""
        skew = timedelta(seconds=self.settings.request_timestamp_skew_seconds)
        try:
            stamp = datetime.fromisoformat((text or "").strip())
        except ValueError:
            raise faults.InvalidContent(f"{what} is not an xs:dateTime", code="BAD_TIMESTAMP") from None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        if abs(stamp - now) > skew:
            raise faults.InvalidContent(
                f"{what} {stamp.isoformat()} is more than {skew} away from the gateway's clock "
                f"{now.isoformat()}", code="STALE_TIMESTAMP")


Operation = Callable[[Services, ParsedEnvelope, bytes], "bytes | MtomAnswer"]


class Pipeline:
    def __init__(self, services: Services):
        from gateway.exchange import operations

        self.services = services
        self.operations: dict[str, Operation] = operations()
        for domain in services.router.domains.values():
            register_prefix(domain.namespace, domain.prefix)

    def handle(self, body: bytes, mtom=None) -> Response:
        soap_version = faults.SOAP11
        settings = self.services.settings
        envelope = None
        try:
            envelope = parse_envelope(body, max_depth=settings.max_depth,
                                      max_elements=settings.max_elements,
                                      max_namespaces=settings.max_namespaces)
            soap_version = envelope.soap_version
            operation = self.operations.get(envelope.body_child.tag)
            if operation is None:
                raise MalformedRequest(f"unknown operation element {envelope.body_child.tag}",
                                       code="UNKNOWN_OPERATION")
            if mtom is not None:
                if operation.__name__ not in ("send_request", "send_response"):
                    raise MalformedRequest("only SendRequest and SendResponse carry attachments",
                                           code="UNEXPECTED_ATTACHMENTS")
                payload = operation(self.services, envelope, body, mtom=mtom)
            else:
                payload = operation(self.services, envelope, body)
            if isinstance(payload, MtomAnswer):
                return Response(200, faults.CONTENT_TYPES[soap_version],
                                wrap(payload.body, soap_version), payload.parts, soap_version)
            return Response(200, faults.CONTENT_TYPES[soap_version], wrap(payload, soap_version))
        except GatewayFault as exc:
            log.info("fault %s/%s: %s", exc.element, exc.code, exc.description)
            refused, response = exc, Response(*faults.render(exc, soap_version))
        except RegisterUnavailable as exc:
            log.warning("%s", exc)
            refused = faults.to_fault(exc)
            response = Response(*faults.render(refused, soap_version))
        except Exception:
            log.exception("unexpected failure")
            refused, response = None, Response(*faults.render(RuntimeError(), soap_version))
        self._journal_rejection(body, envelope, refused, response)
        return response

    def _journal_rejection(self, body: bytes, envelope: ParsedEnvelope | None,
                           fault: GatewayFault | None, response: Response) -> None:
        """A refused request is journaled too, byte for byte, with the reason (the verdict of a
        failed signature or certificate check is in the description). Never fails the answer."""
        try:
            message_id = None  # as claimed by the request: unverified, for finding it later
            if envelope is not None:
                found = envelope.body_child.find(f".//{{{T}}}MessageID")
                if found is not None and found.text:
                    message_id = found.text.strip()[:36]
            detail = {"fault": fault.element if fault else "SMEVFailure",
                      "code": fault.code if fault else "INTERNAL_ERROR",
                      "description": fault.description if fault else "internal failure"}
            now = self.services.clock()
            with write_transaction(self.services.engine) as conn:
                journal.append_many(conn, [
                    journal.Entry(now, message_id, "IN", "rejected", detail, body, keep=True),
                    journal.Entry(now, message_id, "OUT", "fault", {}, response.body, keep=True)])
        except Exception:
            log.exception("could not journal a rejected request")


_OPEN = {faults.SOAP11: f'<soap:Envelope xmlns:soap="{ns.SOAP11_ENV}"><soap:Body>'.encode(),
         faults.SOAP12: f'<soap:Envelope xmlns:soap="{ns.SOAP12_ENV}"><soap:Body>'.encode()}
_CLOSE = b"</soap:Body></soap:Envelope>"


def wrap(body_element: bytes, soap_version: str) -> bytes:
    """Put a serialized body element into a SOAP envelope without re-serializing it."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + _OPEN[soap_version] + body_element + _CLOSE
