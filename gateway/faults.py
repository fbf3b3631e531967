"""The one place where failures become SMEV faults.

Every stage raises a :class:`GatewayFault` subclass (or lets an unexpected exception escape);
:func:`render` turns either into a SOAP fault whose ``detail`` holds one element of the SMEV
faults namespace with a stable code, a human description and, for ``InvalidContent``, one
``ValidationError`` per problem (code, description, XPath, line, column).
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar, Iterable

from lxml import etree

from envelopes import ns


@dataclasses.dataclass(frozen=True)
class ValidationIssue:
    """One schema or field-rule violation, pointing at the exact place to correct."""

    code: str
    description: str
    xpath: str | None = None
    line: int | None = None
    column: int | None = None


class GatewayFault(Exception):
    """Base of all SMEV faults. ``element`` is the fault element's local name."""

    element: ClassVar[str] = "SMEVFailure"
    client: ClassVar[bool] = True  # Client/Sender fault vs Server/Receiver fault
    http_status: ClassVar[int | None] = None  # None: as the SOAP binding says (500 for 1.1)
    default_code: ClassVar[str] = ""

    def __init__(self, description: str, *, code: str | None = None,
                 issues: Iterable[ValidationIssue] = (),
                 fields: Iterable[tuple[str, str]] = ()):
        super().__init__(description)
        self.description = description
        self.code = (code or self.default_code or self.element)[:50]  # b:Code is string-50
        self.issues = tuple(issues)
        self.fields = tuple(fields)  # the fault's own children (faults namespace), in order

    def detail_fields(self) -> tuple[tuple[str, str], ...]:
        return self.fields


def _fault(name: str, *, client: bool = True, code: str | None = None) -> type[GatewayFault]:
    return type(name, (GatewayFault,), {"element": name, "client": client,
                                         "default_code": code or name})


SMEVFailure = _fault("SMEVFailure", client=False)
InvalidContent = _fault("InvalidContent")


class SignatureVerificationFault(GatewayFault):
    """Carries the contract's reason enum (nested element) besides our precise ``b:Code``."""

    element = "SignatureVerificationFault"
    default_code = "SIGNATURE_VERIFICATION_FAULT"
    #: our code → the contract's SignatureVerificationFault reason
    REASONS = {
        "NO_SIGNATURE": "NoSignatureFound",
        "FORMAT_FAILURE": "PoorSOAPEnvelopeFormat",
        "REFERENCE_FAILURE": "IncorrectSignatureTarget",
        "NO_SIGNING_CERTIFICATE_FOUND": "CertificateIsNotFound",
        "NO_CERTIFICATE_CHAIN_FOUND": "CertificateIsNotFound",
        "EXPIRED": "CertificateIsExpired",
        "NOT_YET_VALID": "CertificateIsExpired",
        "OUT_OF_BOUNDS_NO_POE": "CertificateIsExpired",
    }

    def detail_fields(self):
        reason = self.REASONS.get(self.code, "SignatureIsInvalid")
        return (("SignatureVerificationFault", reason),) + self.fields

SenderIsNotRegistered = _fault("SenderIsNotRegistered")
UnknownMessageType = _fault("UnknownMessageType")
BusinessDataTypeIsNotSupported = _fault("BusinessDataTypeIsNotSupported")
RecipientIsNotFound = _fault("RecipientIsNotFound")
AccessDenied = _fault("AccessDenied")
MessageIsAlreadySent = _fault("MessageIsAlreadySent")
InvalidMessageIdFormat = _fault("InvalidMessageIdFormat")
StaleMessageId = _fault("StaleMessageId")
TargetMessageIsNotFound = _fault("TargetMessageIsNotFound")
DestinationOverflow = _fault("DestinationOverflow", client=False)
QuoteLimitExceeded = _fault("QuoteLimitExceeded")
AttachmentSizeLimitExceeded = _fault("AttachmentSizeLimitExceeded")
AttachmentContentMiscoordination = _fault("AttachmentContentMiscoordination")
IncorrectResponseContentType = _fault("IncorrectResponseContentType")
TransactionCodeInvalid = _fault("TransactionCodeInvalid")
EndOfLifeReached = _fault("EndOfLifeReached")
RequestIsNotFound = _fault("RequestIsNotFound")


class MalformedRequest(GatewayFault):
    """The request is not a well-formed SOAP envelope at all (HTTP 400, client fault)."""

    element = "InvalidContent"
    default_code = "MALFORMED_REQUEST"
    http_status = 400


class RequestTooLarge(MalformedRequest):
    default_code = "REQUEST_TOO_LARGE"
    http_status = 413


class LengthRequired(MalformedRequest):
    """Neither a Content-Length nor a body the server de-chunks: the end of the body is unknown."""

    default_code = "LENGTH_REQUIRED"
    http_status = 411


class IncompleteRequest(MalformedRequest):
    """The connection ended before the declared Content-Length arrived."""

    default_code = "INCOMPLETE_REQUEST"


class UnsupportedMediaType(MalformedRequest):
    default_code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


class VersionMismatch(MalformedRequest):
    """The root element is not a SOAP 1.1 or 1.2 Envelope. Answered in SOAP 1.1 form (the one
    version every SOAP node reads) with faultcode ``VersionMismatch`` (SOAP 1.1 §4.4.1) and HTTP
    500, carrying the ``Upgrade`` header block that lists the envelopes understood (SOAP 1.2
    part 1 §5.4.7, appendix A)."""

    default_code = "VERSION_MISMATCH"
    http_status = 500


class ActionMismatch(GatewayFault):
    """The SOAPAction header (SOAP 1.1) or the ``action`` parameter of the Content-Type (SOAP
    1.2) names another operation than the body's element: a client fault (Sender)."""

    element = "InvalidContent"
    default_code = "ACTION_MISMATCH"


def soap_action(operation: str) -> str:
    """The WSDL's soapAction of an operation (wsdl/, both bindings): ``urn:<operation>``."""
    return f"urn:{operation}"


SOAP11 = "1.1"
SOAP12 = "1.2"
CONTENT_TYPES = {SOAP11: "text/xml; charset=utf-8", SOAP12: "application/soap+xml; charset=utf-8"}


def _detail_element(fault: GatewayFault) -> etree._Element:
    """The typed detail of the faults XSD: ``b:Code``, ``b:Description``, then the fault's own
    children; ``InvalidContent`` lists one ``f:ValidationError`` per issue (text = the message,
    ``errorPosition`` = line, plus this gateway's ``code``/``xpath``/``line``/``column``)."""
    f, b = ns.SMEV_FAULTS, ns.SMEV_BASIC
    detail = etree.Element(ns.q(f, fault.element), nsmap={"f": f, "b": b})
    etree.SubElement(detail, ns.q(b, "Code")).text = fault.code
    etree.SubElement(detail, ns.q(b, "Description")).text = fault.description
    if fault.element == "InvalidContent":
        issues = fault.issues or (ValidationIssue(fault.code, fault.description),)
        for issue in issues:
            item = etree.SubElement(detail, ns.q(f, "ValidationError"))
            item.text = issue.description
            item.set("errorPosition", str(issue.line or 0))
            item.set("code", issue.code[:50])
            if issue.xpath is not None:
                item.set("xpath", issue.xpath)
            if issue.line is not None:
                item.set("line", str(issue.line))
            if issue.column is not None:
                item.set("column", str(issue.column))
    for name, value in fault.detail_fields():
        etree.SubElement(detail, ns.q(f, name)).text = value
    return detail


def to_fault(exc: BaseException) -> GatewayFault:
    """Known failures that are not faults themselves; anything else is an internal failure."""
    from envelopes.payloads._xml import PayloadError
    from gateway.registers import RegisterUnavailable

    if isinstance(exc, GatewayFault):
        return exc
    if isinstance(exc, PayloadError):  # a handler's parser found a field it cannot read
        return InvalidContent(f"the business payload: {exc}", code="FIELD_RULE",
                              issues=[ValidationIssue("FIELD_RULE", str(exc), exc.field)])
    if isinstance(exc, RegisterUnavailable):
        return SMEVFailure(f"{exc}; nothing was stored, send the same request again later",
                           code="REGISTER_UNAVAILABLE")
    return SMEVFailure("internal failure; retry later", code="INTERNAL_ERROR")


def render(exc: BaseException, soap_version: str = SOAP11) -> tuple[int, str, bytes]:
    """Turn any exception into ``(http_status, content_type, body)`` of a SOAP fault.

    Unexpected exceptions become a retryable ``SMEVFailure`` that reveals nothing internal.
    SOAP 1.1 faults travel with HTTP 500 (SOAP 1.1 §6.2, WS-I BP R1126); SOAP 1.2 uses 400 for
    Sender faults and 500 for Receiver faults (SOAP 1.2 part 2, §7.5.1). Requests that are not
    SOAP at all get their own 4xx status.
    """
    exc = to_fault(exc)
    if isinstance(exc, VersionMismatch):
        return _version_mismatch(exc)
    if soap_version == SOAP12:
        env_ns = ns.SOAP12_ENV
        envelope = etree.Element(ns.q(env_ns, "Envelope"), nsmap={"soap": env_ns})
        body = etree.SubElement(envelope, ns.q(env_ns, "Body"))
        fault = etree.SubElement(body, ns.q(env_ns, "Fault"))
        code = etree.SubElement(fault, ns.q(env_ns, "Code"))
        value = "Sender" if exc.client else "Receiver"
        etree.SubElement(code, ns.q(env_ns, "Value")).text = f"soap:{value}"
        reason = etree.SubElement(fault, ns.q(env_ns, "Reason"))
        text = etree.SubElement(reason, ns.q(env_ns, "Text"))
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = exc.description
        etree.SubElement(fault, ns.q(env_ns, "Detail")).append(_detail_element(exc))
        status = exc.http_status or (400 if exc.client else 500)
    else:
        env_ns = ns.SOAP11_ENV
        envelope = etree.Element(ns.q(env_ns, "Envelope"), nsmap={"soap": env_ns})
        body = etree.SubElement(envelope, ns.q(env_ns, "Body"))
        fault = etree.SubElement(body, ns.q(env_ns, "Fault"))
        etree.SubElement(fault, "faultcode").text = "soap:Client" if exc.client else "soap:Server"
        etree.SubElement(fault, "faultstring").text = exc.description
        etree.SubElement(fault, "detail").append(_detail_element(exc))
        status = exc.http_status or 500
    payload = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return status, CONTENT_TYPES[soap_version], payload


def _version_mismatch(exc: VersionMismatch) -> tuple[int, str, bytes]:
    """SOAP 1.1 fault ``soap:VersionMismatch`` with the SOAP 1.2 ``Upgrade`` header block
    naming the two envelopes this gateway reads, newest first."""
    env11, env12 = ns.SOAP11_ENV, ns.SOAP12_ENV
    envelope = etree.Element(ns.q(env11, "Envelope"), nsmap={"soap": env11, "env": env12})
    upgrade = etree.SubElement(etree.SubElement(envelope, ns.q(env11, "Header")),
                               ns.q(env12, "Upgrade"))
    for prefix, namespace in (("v12", env12), ("v11", env11)):
        supported = etree.SubElement(upgrade, ns.q(env12, "SupportedEnvelope"),
                                     nsmap={prefix: namespace})
        supported.set("qname", f"{prefix}:Envelope")
    fault = etree.SubElement(etree.SubElement(envelope, ns.q(env11, "Body")), ns.q(env11, "Fault"))
    etree.SubElement(fault, "faultcode").text = "soap:VersionMismatch"
    etree.SubElement(fault, "faultstring").text = exc.description
    etree.SubElement(fault, "detail").append(_detail_element(exc))
    payload = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return exc.http_status, CONTENT_TYPES[SOAP11], payload
