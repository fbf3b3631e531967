"""The front of the pipeline: parse (with the limits), find the operation by its element, run
its stages (``gateway/pipeline/sequence.py``), and turn every failure into one fault.

Each operation's stages are listed, in order, in ``gateway/exchange/<operation>.py``
(``OPERATION``); docs/protocol.md shows them. A refused request is journaled with its reason.
"""
from __future__ import annotations

import dataclasses
import logging

from lxml import etree

from envelopes import ns
from envelopes.payloads._xml import PayloadError
from gateway import faults
from gateway.faults import GatewayFault, MalformedRequest
from gateway.pipeline.answer import MtomAnswer, OutgoingPart
from gateway.pipeline import rest_answer
from gateway.pipeline.context import Context
from gateway.pipeline.parse import ParsedEnvelope, as_utf8, parse_envelope
from gateway.pipeline.sequence import run
from gateway.pipeline.stages import known_signer, screen_signer
from gateway.pipeline.services import Services
from gateway.registers import RegisterUnavailable
from gateway.storage import journal
from gateway.storage.db import write_transaction

log = logging.getLogger("gateway.pipeline.dispatch")

TYPES_XSD = "smev-message-exchange-types-1.1.xsd"
REFUSED_PREFIX_BYTES = 512  # of an unauthenticated refused request, kept in the journal entry
MAX_KEPT_FAULT_BYTES = 64 * 1024  # a fault answer larger than this is journaled by digest only
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
    facts: RequestFacts | None = None  # for metrics and the request log (gateway/http/metrics.py)


@dataclasses.dataclass(frozen=True)
class RequestFacts:
    """What the edge logs and counts of one request: read from the context, never re-parsed."""

    operation: str  # e.g. SendRequest; "unknown" before the operation is known
    participant: str | None  # the verified IS, once known
    message_id: str | None  # as signed, once read
    fault: str | None = None  # the fault code of a refused request


def _facts(ctx: Context | None, fault: GatewayFault | None = None, failed: bool = False) -> RequestFacts:
    return RequestFacts(ctx.operation.name if ctx else "unknown",
                        ctx.caller.system.mnemonic if ctx and ctx.caller else None,
                        ctx.message_id if ctx else None,
                        fault.code if fault else ("INTERNAL_ERROR" if failed else None))


class Pipeline:
    def __init__(self, services: Services):
        self.services = services

    def handle(self, body: bytes, mtom=None, actions: tuple[str, ...] = ()) -> Response:
        """``actions``: the non-empty operation names the client gave at the HTTP level
        (SOAPAction, the ``action`` parameter); each must be the body operation's soapAction."""
        soap_version = faults.SOAP11
        svc = self.services
        settings = svc.settings
        envelope = ctx = None
        try:
            screen_signer(svc, as_utf8(body))
            envelope = parse_envelope(body, max_depth=settings.max_depth,
                                      max_elements=settings.max_elements,
                                      max_namespaces=settings.max_namespaces,
                                      max_attributes=settings.max_attributes)
            soap_version = envelope.soap_version
            operation = svc.operations.get(envelope.body_child.tag)
            if operation is None:
                raise MalformedRequest(f"unknown operation element {envelope.body_child.tag}",
                                       code="UNKNOWN_OPERATION")
            for action in actions:
                if action != faults.soap_action(operation.name):
                    raise faults.ActionMismatch(
                        f"the action {action[:200]!r} (SOAPAction or the action parameter of "
                        f"the Content-Type) does not name the body's operation "
                        f"{operation.name}: send {faults.soap_action(operation.name)!r}, the "
                        "WSDL's soapAction, or none")
            if mtom is not None and not operation.attachments:
                raise MalformedRequest("only SendRequest and SendResponse carry attachments",
                                       code="UNEXPECTED_ATTACHMENTS")
            ctx = Context(raw=body, envelope=envelope, now=svc.clock(), operation=operation,
                          mtom=mtom)
            payload = run(svc, ctx)
            if isinstance(payload, MtomAnswer):
                return Response(200, faults.CONTENT_TYPES[soap_version],
                                wrap(payload.body, soap_version), payload.parts, soap_version,
                                _facts(ctx))
            return Response(200, faults.CONTENT_TYPES[soap_version], wrap(payload, soap_version),
                            facts=_facts(ctx))
        except GatewayFault as exc:
            log.info("fault %s/%s: %s", exc.element, exc.code, exc.description)
            refused, response = exc, Response(*faults.render(exc, soap_version))
        except RegisterUnavailable as exc:
            log.warning("%s", exc)
            refused = faults.to_fault(exc)
            response = Response(*faults.render(refused, soap_version))
        except PayloadError as exc:  # a handler could not read a field the XSD let through
            log.info("payload field: %s", exc)
            refused = faults.to_fault(exc)
            response = Response(*faults.render(refused, soap_version))
        except Exception:
            log.exception("unexpected failure")
            refused, response = None, Response(*faults.render(RuntimeError(), soap_version))
        self._journal_rejection(body, envelope, refused, response,
                                authenticated=ctx is not None and ctx.caller is not None,
                                sender=ctx.caller.system.mnemonic
                                if ctx is not None and ctx.caller is not None else None)
        answer = dataclasses.replace(response, facts=_facts(ctx, refused, failed=refused is None))
        if refused is not None:
            # its traceback holds this frame, which holds it: a cycle that would keep the
            # request's trees and context until the garbage collector's next pass
            refused.__traceback__ = None
        return answer

    def handle_rest(self, body: bytes, *, json_serialization: bool,
                    operation: str = "RestSendRequest") -> Response:
        """``POST /api/v1/messages`` (``/responses``, ``/acks``): a JWS (compact, or flattened
        JSON) over a JSON request, run through the REST ``operation`` (SendRequest's, GetResponse's
        or Ack's stages behind a JWS front, gateway/exchange/rest_request.py); the answer and
        every fault are JSON signed by the gateway (``application/jose``), refusals journaled as
        for SOAP."""
        from signing import jws as jose
        from signing.errors import SignatureError

        svc = self.services
        ctx = None
        try:
            try:
                parsed = jose.parse(body, json_serialization=json_serialization)
            except SignatureError as exc:
                raise faults.SignatureVerificationFault(f"TOTAL-FAILED/{exc.code}: {exc.message}",
                                                        code=exc.code) from None
            ctx = Context(raw=body, envelope=None, now=svc.clock(),
                          operation=svc.rest_operations[operation])
            ctx.jws = parsed
            answer = run(svc, ctx)
            document, status = rest_answer.RENDER[operation](svc, ctx, answer), 200
            refused = None
        except GatewayFault as exc:
            log.info("fault %s/%s: %s", exc.element, exc.code, exc.description)
            refused = exc
        except (RegisterUnavailable, PayloadError) as exc:
            log.info("%s", exc)
            refused = faults.to_fault(exc)
        except Exception:
            log.exception("unexpected failure")
            refused = faults.to_fault(RuntimeError())
        if refused is not None:
            document = rest_answer.fault_document(refused, ctx.message_id if ctx else None)
            status = rest_answer.fault_status(refused)
        response = Response(status, rest_answer.MEDIA_TYPE, rest_answer.signed(svc, document))
        if refused is not None:
            self._journal_rejection(body, ctx.envelope if ctx else None, refused, response,
                                    authenticated=ctx is not None and ctx.caller is not None)
        return dataclasses.replace(response, facts=_facts(ctx, refused))

    def screen(self, body: bytes) -> None:
        """The cheap checks alone (parse with the limits, the operation, a registered signer),
        for an MTOM envelope before its attachment parts are read. Raises the GatewayFault (and
        journals the refusal) or returns."""
        svc, settings = self.services, self.services.settings
        envelope = None
        try:
            envelope = parse_envelope(body, max_depth=settings.max_depth,
                                      max_elements=settings.max_elements,
                                      max_namespaces=settings.max_namespaces,
                                      max_attributes=settings.max_attributes)
            operation = svc.operations.get(envelope.body_child.tag)
            if operation is None or not operation.attachments:
                raise MalformedRequest("only SendRequest and SendResponse carry attachments",
                                       code="UNEXPECTED_ATTACHMENTS")
            known_signer(svc, Context(raw=body, envelope=envelope, now=svc.clock(),
                                      operation=operation))
        except GatewayFault as exc:
            self._journal_rejection(body, envelope, exc, Response(*faults.render(exc)),
                                    authenticated=False)
            raise

    def _journal_rejection(self, body: bytes, envelope: ParsedEnvelope | None,
                           fault: GatewayFault | None, response: Response, *,
                           authenticated: bool, sender: str | None = None) -> None:
        """A refused request is journaled with the reason (the verdict of a failed signature or
        certificate check is in the description) and the SHA-256 and size of its bytes. The
        bytes themselves are kept only when the caller was authenticated (a registered IS whose
        signature and certificate path verified); of anyone else's, a bounded prefix: storage
        per anonymous refusal stays bounded whatever it sends. Never fails the answer."""
        try:
            message_id = None  # as claimed by the request: unverified, for finding it later
            if envelope is not None:
                found = envelope.body_child.find(f".//{{{T}}}MessageID")
                if found is not None and found.text:
                    message_id = found.text.strip()[:36]
            detail = {"fault": fault.element if fault else "SMEVFailure",
                      "code": fault.code if fault else "INTERNAL_ERROR",
                      "description": (fault.description if fault else "internal failure")[:2000],
                      "size": len(body), "authenticated": authenticated,
                      # what `gateway messages list` shows; the sender only once verified
                      "operation": _operation_name(envelope), "sender": sender}
            if not authenticated:
                detail["prefix"] = body[:REFUSED_PREFIX_BYTES].decode("utf-8", "replace")
            now = self.services.clock()
            with write_transaction(self.services.engine) as conn:
                journal.append_many(conn, [
                    journal.Entry(now, message_id, "IN", "rejected", detail, body,
                                  keep=authenticated),
                    journal.Entry(now, message_id, "OUT", "fault", {}, response.body,
                                  keep=len(response.body) <= MAX_KEPT_FAULT_BYTES)])
        except Exception:
            log.exception("could not journal a rejected request")


def _operation_name(envelope: ParsedEnvelope | None) -> str | None:
    child = envelope.body_child if envelope is not None else None
    tag = getattr(child, "tag", None)
    if not isinstance(tag, str):
        return None
    name = etree.QName(tag).localname[:100]  # SendRequestRequest: the operation SendRequest
    return name[:-len("Request")] if name.endswith("Request") and name != "Request" else name


_OPEN = {faults.SOAP11: f'<soap:Envelope xmlns:soap="{ns.SOAP11_ENV}"><soap:Body>'.encode(),
         faults.SOAP12: f'<soap:Envelope xmlns:soap="{ns.SOAP12_ENV}"><soap:Body>'.encode()}
_CLOSE = b"</soap:Body></soap:Envelope>"


def wrap(body_element: bytes, soap_version: str) -> bytes:
    """Put a serialized body element into a SOAP envelope without re-serializing it."""
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + _OPEN[soap_version] + body_element + _CLOSE
