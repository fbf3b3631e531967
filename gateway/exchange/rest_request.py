"""SendRequest over REST: a JWS-signed JSON business request in, a JWS-signed JSON receipt out;
and GetResponse and Ack over REST, to take the answers the same way.

``POST /api/v1/messages`` (docs/integration.md, «REST and JSON»; docs/openapi.yaml). Only the
front differs from SendRequest: the JWS replaces the XMLDSig (its certificate path is checked by
the same trust engine), and the JSON is turned into the canonical business XML by the typed
codecs (:mod:`envelopes.payloads.json_form`). From ``replay`` on, the stages are SendRequest's
own functions, in SendRequest's order, so a REST request meets the same checks, the same
handlers, the same transaction and the same journal as a SOAP one — and shares its MessageIDs.

What is stored as the message's envelope is the SendRequest envelope the JSON stands for, with
the client's JWS, byte for byte, in ``CallerInformationSystemSignature`` (the contract's
skipped wildcard): the record holds the signed original, and every reader of stored envelopes
(handlers, deliveries to external providers) reads it like any other. ``POST /api/v1/responses``
and ``POST /api/v1/acks`` are GetResponse and Ack with the same front: the JSON becomes the
signed ``MessageTypeSelector`` / ``AckTargetMessage``, then their own stages run.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from envelopes import build, ns
from envelopes.payloads import json_form
from envelopes.payloads._xml import PayloadError
from gateway import faults
from gateway.exchange import ack, send_request, take
from gateway.pipeline import stages
from gateway.pipeline.context import Caller, Context
from gateway.pipeline.parse import parse_envelope
from gateway.pipeline.sequence import Operation
from gateway.pipeline.verify import VerifiedCaller
from signing import jws as jose
from signing.algorithms import DEFAULT_POLICY
from signing.errors import SignatureError
from signing.xmldsig import VerifiedSignature

T = ns.SMEV_TYPES
REST = "urn://smev-gateway/rest/1.0"  # namespace of the stored JWS element
MAX_JSON_DEPTH = 32
#: the JSON request's fields besides ``type`` and ``payload`` → SendRequest's elements
ENVELOPE_FIELDS = ("messageId", "referenceMessageId", "transactionCode", "nodeId", "eol",
                   "testMessage")


def _signature_fault(exc: SignatureError) -> faults.SignatureVerificationFault:
    return faults.SignatureVerificationFault(f"TOTAL-FAILED/{exc.code}: {exc.message}", code=exc.code)


def jws_known_signer(svc, ctx: Context) -> None:
    """Cheap first, as ``known_signer`` for SOAP: the first ``x5c`` certificate must belong to a
    registered information system before any cryptography is spent on the request."""
    try:
        certificate, _ = jose.certificates(ctx.jws.header)
    except SignatureError as exc:
        raise _signature_fault(exc) from None
    if not svc.participants.known_fingerprint(
            hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()):
        raise faults.SenderIsNotRegistered(
            "the JWS x5c signer's certificate belongs to no registered information system",
            code="SENDER_IS_NOT_REGISTERED")


def jws_signature(svc, ctx: Context) -> None:
    """The JWS header rules and signature (signing/jws.py, on the XMLDSig allow-list), then the
    signer's certificate path by the same trust engine as XMLDSig (chain, revocation,
    algorithms). The signed element is set by ``json_request`` from the verified payload."""
    verifier = svc.verifier
    try:
        verified = jose.verify(ctx.jws, verifier.policy or DEFAULT_POLICY)
    except SignatureError as exc:
        raise _signature_fault(exc) from None
    verdict = verifier.chain.validate(verified.certificate, verified.extra_certificates, at=ctx.now)
    if not verdict.passed:
        sub = f"/{verdict.sub_indication}" if verdict.sub_indication else ""
        raise faults.SignatureVerificationFault(
            f"{verdict.indication}{sub}: certificate '{verdict.certificate}': {verdict.detail}",
            code=verdict.sub_indication or verdict.indication)
    try:
        identity = verifier.identity(verified.certificate)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise faults.SignatureVerificationFault(
            f"the signer's certificate subject does not decode ({type(exc).__name__})",
            code="FORMAT_FAILURE") from None
    ctx.jws_payload = verified.payload
    ctx.verified = VerifiedCaller(None, VerifiedSignature(
        None, verified.certificate, verified.extra_certificates, verified.signature_method,
        verified.digest_method), identity, verdict)


def _depth(value, limit: int = MAX_JSON_DEPTH, level: int = 0) -> None:
    if level > limit:
        raise faults.InvalidContent(f"the JSON request is nested deeper than {limit}",
                                    code="JSON_TOO_DEEP")
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        _depth(child, limit, level + 1)


def request_document(payload: bytes) -> dict:
    """The verified JWS payload as the JSON request object (its form: docs/openapi.yaml)."""
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise faults.InvalidContent("the JWS payload is not UTF-8 JSON", code="JSON_SYNTAX") from None
    if not isinstance(document, dict):
        raise faults.InvalidContent("the JWS payload is not a JSON object", code="JSON_SYNTAX")
    _depth(document)
    unknown = sorted(set(document) - {"type", "payload", *ENVELOPE_FIELDS})
    if unknown:
        raise _field_fault(unknown[0], "is not a field of a request")
    for name in ENVELOPE_FIELDS[:-1]:
        if name in document and not isinstance(document[name], str):
            raise _field_fault(name, "must be a string")
    if "testMessage" in document and not isinstance(document["testMessage"], bool):
        raise _field_fault("testMessage", "must be true or false")
    if not isinstance(document.get("messageId"), str):
        raise faults.InvalidMessageIdFormat("messageId (a UUID version 1) is missing",
                                            code="INVALID_MESSAGE_ID")
    return document


def _field_fault(path: str, message: str) -> faults.GatewayFault:
    return faults.InvalidContent(f"the JSON request: {path} {message}", code="JSON_FIELD",
                                 issues=[faults.ValidationIssue("JSON_FIELD", f"{path} {message}", path)])


def business_element(document: dict) -> etree._Element:
    """``type`` names a request root of a domain; ``payload`` its JSON form → the XML element."""
    from envelopes.payloads import codec
    from envelopes.payloads.descriptors import DOMAINS

    kind = document.get("type")
    requests = {root for d in DOMAINS.values() for root in d.requests}
    if not isinstance(kind, str) or kind not in requests:
        raise faults.BusinessDataTypeIsNotSupported(
            f"type {str(kind)[:80]!r} is not a business request: one of {', '.join(sorted(requests))}",
            code="BUSINESS_DATA_TYPE_IS_NOT_SUPPORTED", fields=[("RootElementLocalName", str(kind)[:200])])
    try:
        value = json_form.from_json(json_form.roots()[kind], document.get("payload"))
        return codec.build(value)
    except PayloadError as exc:
        raise _field_fault(exc.field, str(exc)[len(exc.field) + 2:]) from None
    except (ValueError, TypeError) as exc:  # a builder refused a value the XSD would refuse too
        raise faults.InvalidContent(f"the JSON request's payload: {exc}", code="JSON_FIELD") from None


def json_request(svc, ctx: Context) -> None:
    """The verified JSON as the canonical SendRequest it stands for; from here on the stages are
    SendRequest's and read ``ctx.data`` as they do there."""
    document = request_document(ctx.jws_payload)
    element = business_element(document)
    envelope_bytes = build.send_request(
        element, None, None, sign=False, message_id=document["messageId"],
        reference_message_id=document.get("referenceMessageId"),
        transaction_code=document.get("transactionCode"), node_id=document.get("nodeId"),
        eol=document.get("eol"), test_message=bool(document.get("testMessage")))
    _stand_in(svc, ctx, etree.fromstring(envelope_bytes), f"{{{T}}}SenderProvidedRequestData")


def _stand_in(svc, ctx: Context, tree: etree._Element, signed_tag: str) -> None:
    """``tree`` (the SOAP envelope the JSON stands for) with the JWS, byte for byte, in its
    ``CallerInformationSystemSignature``, becomes the request: what is stored and journaled, and
    its ``signed_tag`` element the verified element the later stages read."""
    holder = tree.find(f".//{{{T}}}CallerInformationSystemSignature")
    etree.SubElement(holder, f"{{{REST}}}JWS", nsmap={"rest": REST}).text = ctx.jws.compact
    ctx.raw = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    ctx.envelope = parse_envelope(ctx.raw, max_depth=svc.settings.max_depth,
                                  max_elements=svc.settings.max_elements,
                                  max_namespaces=svc.settings.max_namespaces,
                                  max_attributes=svc.settings.max_attributes)
    data = ctx.request.find(signed_tag)
    signature = dataclasses.replace(ctx.verified.signature, element=data)
    ctx.verified = dataclasses.replace(ctx.verified, element=data, signature=signature)
    ctx.caller = Caller(ctx.verified, ctx.caller.system)


def _operation_envelope(operation: str, signed: etree._Element) -> etree._Element:
    """``<soap:Envelope>`` with ``<ns:{operation}>`` holding ``signed`` and an empty
    ``CallerInformationSystemSignature``: the SOAP request a REST read stands for."""
    env = ns.SOAP11_ENV
    envelope = etree.Element(ns.q(env, "Envelope"), nsmap={"soap": env})
    body = etree.SubElement(envelope, ns.q(env, "Body"))
    request = etree.SubElement(body, ns.q(T, operation), nsmap={"ns": T, "b": ns.SMEV_BASIC})
    request.append(signed)
    etree.SubElement(request, ns.q(T, "CallerInformationSystemSignature"))
    return envelope


def _small_document(payload: bytes, fields: dict[str, type], required: tuple[str, ...]) -> dict:
    """A flat JSON object of the named fields and types (a read or an acknowledgement)."""
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise faults.InvalidContent("the JWS payload is not UTF-8 JSON", code="JSON_SYNTAX") from None
    if not isinstance(document, dict):
        raise faults.InvalidContent("the JWS payload is not a JSON object", code="JSON_SYNTAX")
    for name in sorted(document):
        if name not in fields:
            raise _field_fault(name, "is not a field of this request")
        if not isinstance(document[name], fields[name]) or \
                (fields[name] is str and isinstance(document[name], bool)):
            raise _field_fault(name, f"must be a {'boolean' if fields[name] is bool else 'string'}")
    for name in required:
        if name not in document:
            raise _field_fault(name, "is missing")
    return document


def json_selector(svc, ctx: Context) -> None:
    """``{"timestamp", "namespace"?, "type"?, "nodeId"?}`` as GetResponse's signed
    ``MessageTypeSelector``; then GetResponse's own stages (freshness, replay, take)."""
    document = _small_document(ctx.jws_payload, {"timestamp": str, "namespace": str, "type": str,
                                                 "nodeId": str}, ("timestamp",))
    if ("namespace" in document) != ("type" in document):
        raise _field_fault("type", "and namespace go together (one business type) or not at all")
    selector = build.message_type_selector(document.get("namespace"), document.get("type"),
                                           document.get("nodeId"), document["timestamp"])
    _stand_in(svc, ctx, _operation_envelope("GetResponseRequest", selector),
              f"{{{ns.SMEV_BASIC}}}MessageTypeSelector")


def json_ack(svc, ctx: Context) -> None:
    """``{"messageId", "accepted"?}`` as Ack's signed ``AckTargetMessage``."""
    document = _small_document(ctx.jws_payload, {"messageId": str, "accepted": bool}, ("messageId",))
    target = etree.Element(ns.q(ns.SMEV_BASIC, "AckTargetMessage"), nsmap={"b": ns.SMEV_BASIC})
    target.set("Id", "SIGNED_BY_CALLER")
    target.set("accepted", "false" if document.get("accepted") is False else "true")
    target.text = document["messageId"]
    _stand_in(svc, ctx, _operation_envelope("AckRequest", target),
              f"{{{ns.SMEV_BASIC}}}AckTargetMessage")


_FRONT = (jws_known_signer, jws_signature, stages.participant)

OPERATION = Operation(
    "RestSendRequest", f"{{{REST}}}SendRequest", signed=f"{{{REST}}}JWS",
    stages=_FRONT + (json_request, stages.replay, stages.message_id, send_request.request_checks,
                     stages.business_payload, stages.route, stages.authorize,
                     stages.payload_rules, send_request.decide, send_request.prepare,
                     send_request.commit))
GET_RESPONSE = Operation(
    "RestGetResponse", f"{{{REST}}}GetResponse", signed=f"{{{REST}}}JWS",
    stages=_FRONT + (json_selector, stages.freshness, stages.not_replayed, take.take_response))
ACK = Operation(
    "RestAck", f"{{{REST}}}Ack", signed=f"{{{REST}}}JWS",
    stages=_FRONT + (json_ack, stages.not_replayed, ack.acknowledge), replay_with_effect=True)
#: the REST fronts, by name
OPERATIONS = {op.name: op for op in (OPERATION, GET_RESPONSE, ACK)}
