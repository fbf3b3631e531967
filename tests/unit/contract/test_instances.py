"""Hand-built instances of every message of the contract: well-formed ones validate with both
validators (libxml2 and xmlschema), broken ones are rejected by both."""
from __future__ import annotations

import pytest
from lxml import etree

from envelopes import ns

T, B, F, DS = ns.SMEV_TYPES, ns.SMEV_BASIC, ns.SMEV_FAULTS, ns.DS
PAYLOAD_NS = "urn://example/payload"
TYPES, FAULTS = "smev-message-exchange-types-1.1.xsd", "smev-message-exchange-faults-1.1.xsd"
MESSAGE_ID = "db0486d0-3c08-11e5-95e2-d4c9eff07b77"
OTHER_ID = "1f2e3d4c-3c08-11e5-95e2-d4c9eff07b77"
NOW = "2024-05-17T10:15:30.123+03:00"


def el(namespace: str, local: str, *children, text: str | None = None, **attrs) -> etree._Element:
    element = etree.Element(ns.q(namespace, local), {k: v for k, v in attrs.items()},
                            nsmap={"ns": T, "b": B, "f": F, "ds": DS})
    element.text = text
    for child in children:
        element.append(child)
    return element


def t(local, *children, text=None, **attrs):
    return el(T, local, *children, text=text, **attrs)


def b(local, *children, text=None, **attrs):
    return el(B, local, *children, text=text, **attrs)


def f(local, *children, text=None, **attrs):
    return el(F, local, *children, text=text, **attrs)


def signature() -> etree._Element:
    """A ds:Signature stand-in: the envelope schema skips its contents, as the public one does."""
    return el(DS, "Signature", el(DS, "SignedInfo"), el(DS, "SignatureValue", text="AAAA"))


def payload(local: str = "Ping") -> etree._Element:
    return etree.Element(ns.q(PAYLOAD_NS, local), nsmap={"p": PAYLOAD_NS})


def metadata(**drop) -> etree._Element:
    parts = [
        t("MessageId", text=MESSAGE_ID),
        t("MessageType", text="REQUEST"),
        t("Sender", t("Mnemonic", text="ROMASHKA"), t("HumanReadableName", text="Romashka LLC")),
        t("SendingTimestamp", text=NOW),
        t("MessageBroker", text="local"),
        t("DestinationName", text="registration"),
        t("Recipient", t("Mnemonic", text="GATEWAY"), t("HumanReadableName", text="Gateway")),
        t("SupplementaryData", t("DetectedContentTypeName", text="Registration"),
          t("InteractionType", text="NotDetected")),
        t("DeliveryTimestamp", text=NOW),
        t("Status", text="requestIsQueued"),
    ]
    meta = t("MessageMetadata", Id="SIGNED_BY_SMEV")
    for part in parts:
        if etree.QName(part).localname not in drop:
            meta.append(part)
    return meta


def request_data(*, content=None, message_id=MESSAGE_ID, full=True) -> etree._Element:
    data = t("SenderProvidedRequestData", Id="SIGNED_BY_CONSUMER")
    if message_id is not None:
        data.append(t("MessageID", text=message_id))
    if full:
        data.extend([t("ReferenceMessageID", text=MESSAGE_ID), t("TransactionCode", text="TX-1"),
                     t("NodeID", text="node-1"), t("EOL", text=NOW)])
    data.append(content if content is not None else b("MessagePrimaryContent", payload()))
    if full:
        data.extend([
            t("PersonalSignature", signature()),
            b("AttachmentHeaderList", b("AttachmentHeader", b("contentId", text="att-1"),
                                        b("MimeType", text="application/pdf"))),
            b("RefAttachmentHeaderList", b("RefAttachmentHeader", b("uuid", text=OTHER_ID),
                                           b("Hash", text="abc"),
                                           b("MimeType", text="image/png"))),
            t("BusinessProcessMetadata", payload("Process")),
            t("TestMessage"),
        ])
    return data


def attachments() -> etree._Element:
    return b("AttachmentContentList", b("AttachmentContent", b("Id", text="att-1"),
                                        b("Content", text="JVBERi0xLjQK")))


def send_request(**kwargs) -> etree._Element:
    return t("SendRequestRequest", request_data(**kwargs), attachments(),
             t("CallerInformationSystemSignature", signature()))


def response_data(*choice) -> etree._Element:
    return t("SenderProvidedResponseData", t("MessageID", text=OTHER_ID),
             t("To", text="eyJyZXBseS10byI6MX0="), *choice, Id="SIGNED_BY_PROVIDER")


def send_response(*choice) -> etree._Element:
    return t("SendResponseRequest", response_data(*choice),
             t("CallerInformationSystemSignature", signature()))


CONTENT = (b("MessagePrimaryContent", payload("Result")), t("PersonalSignature", signature()),
           b("AttachmentHeaderList", b("AttachmentHeader", b("contentId", text="att-1"),
                                       b("MimeType", text="text/plain"))))
REJECTED = (t("RequestRejected", t("RejectionReasonCode", text="NO_DATA"),
              t("RejectionReasonDescription", text="nothing found")),
            t("RequestRejected", t("RejectionReasonCode", text="ACCESS_DENIED"),
              t("RejectionReasonDescription", text="not yours")))
STATUS = (t("RequestStatus", t("StatusCode", text="3"),
            t("StatusParameter", t("Key", text="stage"), t("Value", text="review")),
            t("StatusDescription", text="under review")),)


def selector(*, typed: bool = True) -> etree._Element:
    parts = [b("NamespaceURI", text=PAYLOAD_NS), b("RootElementLocalName", text="Ping")] if typed else []
    return b("MessageTypeSelector", *parts, b("Timestamp", text=NOW), b("NodeID", text="node-1"),
             Id="SIGNED_BY_CALLER")


VALID = {
    "SendRequestRequest, every optional part": lambda: send_request(),
    "SendRequestRequest, minimal": lambda: t("SendRequestRequest", request_data(full=False)),
    "SendRequestResponse": lambda: t("SendRequestResponse", metadata(), t("SMEVSignature", signature())),
    "SendResponseRequest, content": lambda: send_response(*CONTENT),
    "SendResponseRequest, rejections": lambda: send_response(*REJECTED),
    "SendResponseRequest, status": lambda: send_response(*STATUS),
    "SendResponseRequest, async status": lambda: send_response(
        t("AsyncProcessingStatus", t("OriginalMessageId", text=MESSAGE_ID),
          t("StatusCategory", text="underProcessing"))),
    "SendResponseResponse": lambda: t("SendResponseResponse", metadata()),
    "GetRequestRequest, typed selector": lambda: t(
        "GetRequestRequest", selector(), t("CallerInformationSystemSignature", signature())),
    "GetRequestRequest, any type": lambda: t("GetRequestRequest", selector(typed=False)),
    "GetRequestResponse, empty queue": lambda: t("GetRequestResponse"),
    "GetRequestResponse, a request": lambda: t("GetRequestResponse", t(
        "RequestMessage",
        t("Request", request_data(), metadata(), t("ReplyTo", text="eyJyZXBseS10byI6MX0="),
          t("SenderInformationSystemSignature", signature()), Id="SIGNED_BY_SMEV_REQ"),
        attachments(), t("SMEVSignature", signature()))),
    "GetRequestResponse, a cancel": lambda: t("GetRequestResponse", t(
        "RequestMessage", t("Cancel", b("MessageReference", text=MESSAGE_ID),
                            t("MessageID", text=OTHER_ID), metadata()))),
    "GetResponseRequest": lambda: t("GetResponseRequest", selector(),
                                    t("CallerInformationSystemSignature", signature())),
    "GetResponseResponse, empty queue": lambda: t("GetResponseResponse"),
    "GetResponseResponse, a response": lambda: t("GetResponseResponse", t(
        "ResponseMessage",
        t("Response", t("OriginalMessageId", text=MESSAGE_ID), response_data(*REJECTED[:1]),
          metadata(), t("SenderInformationSystemSignature", signature()), Id="RESP"),
        t("SMEVSignature", signature()))),
    "AckRequest": lambda: t("AckRequest", b("AckTargetMessage", text=MESSAGE_ID, Id="SIGNED_BY_CALLER",
                                            accepted="true"),
                            t("CallerInformationSystemSignature", signature())),
    "AckResponse": lambda: t("AckResponse"),
    "GetStatusRequest": lambda: t("GetStatusRequest", b("Timestamp", text=NOW, Id="TS"),
                                  t("CallerInformationSystemSignature", signature())),
    "GetStatusResponse, empty": lambda: t("GetStatusResponse"),
    "GetStatusResponse, a status": lambda: t("GetStatusResponse", t(
        "SmevAsyncProcessingMessage",
        t("AsyncProcessingStatusData", t("AsyncProcessingStatus",
                                         t("OriginalMessageId", text=MESSAGE_ID),
                                         t("StatusCategory", text="requestIsRejectedBySmev"),
                                         t("StatusDetails", text="payload invalid"),
                                         t("SmevFault", b("Code", text="XSD_VIOLATION"),
                                           b("Description", text="bad"))), Id="ST"),
        t("SMEVSignature", signature()))),
    "GetIncomingQueueStatisticsRequest": lambda: t(
        "GetIncomingQueueStatisticsRequest", t("NodeID", text="n1"), b("Timestamp", text=NOW, Id="TS"),
        t("CallerInformationSystemSignature", signature())),
    "GetIncomingQueueStatisticsResponse": lambda: t(
        "GetIncomingQueueStatisticsResponse",
        t("QueueStatistics", queueName="registration", pendingMessageNumber="3"),
        t("QueueStatistics", queueName="reporting", pendingMessageNumber="0")),
    "MessageMetadata, all parts": lambda: metadata(),
    "MessageMetadata, required parts only": lambda: metadata(
        MessageId=1, MessageBroker=1, Recipient=1, DeliveryTimestamp=1, Status=1),
}


def _swap(tree: etree._Element, local: str, text: str) -> etree._Element:
    for node in tree.iter():
        if isinstance(node.tag, str) and etree.QName(node).localname == local:
            node.text = text
            return tree
    raise AssertionError(f"no {local} in sample")


def _two_signatures():
    request = send_request()
    request[-1].append(signature())
    return request


INVALID = {
    "missing MessageID": lambda: send_request(message_id=None),
    "two payload elements": lambda: send_request(
        content=b("MessagePrimaryContent", payload(), payload("Second"))),
    "no payload element": lambda: send_request(content=b("MessagePrimaryContent")),
    "payload without namespace": lambda: send_request(
        content=b("MessagePrimaryContent", etree.Element("Ping"))),
    "payload in the basic namespace": lambda: send_request(
        content=b("MessagePrimaryContent", b("Timestamp", text=NOW))),
    "upper-case MessageID": lambda: send_request(message_id=MESSAGE_ID.upper()),
    "MessageID not a UUID": lambda: send_request(message_id="42"),
    "two caller signatures": _two_signatures,
    "caller signature not XMLDSig": lambda: t(
        "SendRequestRequest", request_data(), t("CallerInformationSystemSignature", payload())),
    "bad RejectionReasonCode enum": lambda: _swap(send_response(*REJECTED), "RejectionReasonCode",
                                                  "NOT_TODAY"),
    "content and rejection together": lambda: send_response(*CONTENT, *REJECTED),
    "no answer at all": lambda: send_response(),
    "StatusCode not an int": lambda: _swap(send_response(*STATUS), "StatusCode", "three"),
    "bad Status enum": lambda: _swap(metadata(), "Status", "messageIsArchived"),
    "bad MessageType enum": lambda: _swap(metadata(), "MessageType", "NOTIFICATION"),
    "MessageMetadata without DestinationName": lambda: metadata(DestinationName=1),
    "MessageMetadata without SupplementaryData": lambda: metadata(SupplementaryData=1),
    "Ack without accepted": lambda: t("AckRequest", b("AckTargetMessage", text=MESSAGE_ID, Id="A")),
    "Ack with accepted=maybe": lambda: t("AckRequest", b("AckTargetMessage", text=MESSAGE_ID, Id="A",
                                                         accepted="maybe")),
    "selector with half a type": lambda: t("GetRequestRequest", b(
        "MessageTypeSelector", b("NamespaceURI", text=PAYLOAD_NS), b("Timestamp", text=NOW))),
    "selector without Timestamp": lambda: t("GetRequestRequest", b("MessageTypeSelector")),
    "GetStatus without signature": lambda: t("GetStatusRequest", b("Timestamp", text=NOW)),
    "duplicate Id values": lambda: t("GetRequestResponse", t("RequestMessage", t(
        "Request", request_data(), metadata(), t("ReplyTo", text="r"), Id="SIGNED_BY_CONSUMER"))),
}


def _document(element: etree._Element) -> etree._ElementTree:
    """Re-parse, so that validation sees exactly what a peer would send."""
    return etree.ElementTree(etree.fromstring(etree.tostring(element)))


def check(lxml_schemas, xmlschema_schemas, name: str, element: etree._Element) -> tuple[bool, bool]:
    document = _document(element)
    return lxml_schemas[name].validate(document), xmlschema_schemas[name].is_valid(document)


@pytest.mark.parametrize("case", sorted(VALID))
def test_valid_instance(case, lxml_schemas, xmlschema_schemas):
    fast, detailed = check(lxml_schemas, xmlschema_schemas, TYPES, VALID[case]())
    assert fast, lxml_schemas[TYPES].error_log
    assert detailed


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_instance(case, lxml_schemas, xmlschema_schemas):
    assert check(lxml_schemas, xmlschema_schemas, TYPES, INVALID[case]()) == (False, False)


def test_signature_holder_skips_signature_contents(lxml_schemas, xmlschema_schemas):
    """ds:Signature is a skipped wildcard: a malformed signature is the verifier's business
    (SignatureVerificationFault), not the schema's (InvalidContent), as in the public contract."""
    request = t("SendRequestRequest", request_data(full=False),
                t("CallerInformationSystemSignature", el(DS, "Signature", el(DS, "Nonsense"))))
    assert check(lxml_schemas, xmlschema_schemas, TYPES, request) == (True, True)


# -- faults ------------------------------------------------------------------------------------

# Children each fault needs beyond the optional b:Code / b:Description.
FAULT_BODIES = {
    "SMEVFailure": [],
    "InvalidContent": [lambda: f("ValidationError", text="cvc-complex-type.2.4.a", errorPosition="12")],
    "SignatureVerificationFault": [lambda: f("SignatureVerificationFault", text="SignatureIsInvalid")],
    "SenderIsNotRegistered": [],
    "UnknownMessageType": [],
    "BusinessDataTypeIsNotSupported": [lambda: f("RootElementLocalName", text="Ping"),
                                       lambda: f("RootElementNamespaceURI", text=PAYLOAD_NS)],
    "RecipientIsNotFound": [],
    "AccessDenied": [],
    "MessageIsAlreadySent": [],
    "InvalidMessageIdFormat": [],
    "StaleMessageId": [],
    "TargetMessageIsNotFound": [],
    "RequestIsNotFound": [],
    "DestinationOverflow": [lambda: f("MessageBrokerAddress", text="local"),
                            lambda: f("DestinationName", text="registration")],
    "QuoteLimitExceeded": [lambda: f("RemainedTotalQuoteSize", text="0"),
                           lambda: f("RealTotalAttachmentSize", text="1024")],
    "AttachmentSizeLimitExceeded": [lambda: f("PermittedTotalAttachmentSize", text="1048576"),
                                    lambda: f("RealTotalAttachmentSize", text="2097152")],
    "AttachmentContentMiscoordination": [],
    "IncorrectResponseContentType": [],
    "TransactionCodeInvalid": [],
    "EndOfLifeReached": [],
}


def test_faults_schema_declares_exactly_the_known_faults(xmlschema_schemas):
    declared = {etree.QName(name).localname for name in xmlschema_schemas[FAULTS].elements}
    assert declared == set(FAULT_BODIES)


@pytest.mark.parametrize("fault", sorted(FAULT_BODIES))
def test_fault_as_the_public_contract_writes_it(fault, lxml_schemas, xmlschema_schemas):
    element = f(fault, *(make() for make in FAULT_BODIES[fault]))
    assert check(lxml_schemas, xmlschema_schemas, FAULTS, element) == (True, True)


@pytest.mark.parametrize("fault", sorted(FAULT_BODIES))
def test_fault_with_code_and_description(fault, lxml_schemas, xmlschema_schemas):
    element = f(fault, b("Code", text="SMEV-100"), b("Description", text="what went wrong"),
                *(make() for make in FAULT_BODIES[fault]))
    assert check(lxml_schemas, xmlschema_schemas, FAULTS, element) == (True, True)


def test_validation_error_extensions(lxml_schemas, xmlschema_schemas):
    element = f("InvalidContent", b("Code", text="XSD_VIOLATION"), b("Description", text="invalid"),
                f("ValidationError", text="Element 'ns:MessageID': missing", errorPosition="7",
                  code="XSD_VIOLATION", xpath="/soap:Envelope/soap:Body/ns:SendRequestRequest",
                  line="7", column="12"),
                f("ValidationError", text="second problem", errorPosition="0"))
    assert check(lxml_schemas, xmlschema_schemas, FAULTS, element) == (True, True)


BROKEN_FAULTS = {
    "InvalidContent without ValidationError": lambda: f("InvalidContent", b("Code", text="X")),
    "ValidationError without errorPosition": lambda: f("InvalidContent",
                                                       f("ValidationError", text="x")),
    "ValidationError with a negative line": lambda: f(
        "InvalidContent", f("ValidationError", text="x", errorPosition="1", line="-1")),
    "SignatureVerificationFault with unknown reason": lambda: f(
        "SignatureVerificationFault", f("SignatureVerificationFault", text="Bored")),
    "Code in the faults namespace": lambda: f("SMEVFailure", f("Code", text="X")),
    "Code longer than 50": lambda: f("SMEVFailure", b("Code", text="X" * 51)),
    "Description before Code": lambda: f("AccessDenied", b("Description", text="d"),
                                         b("Code", text="c")),
}


@pytest.mark.parametrize("case", sorted(BROKEN_FAULTS))
def test_broken_fault(case, lxml_schemas, xmlschema_schemas):
    assert check(lxml_schemas, xmlschema_schemas, FAULTS, BROKEN_FAULTS[case]()) == (False, False)
