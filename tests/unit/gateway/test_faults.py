"""The one mapping from exceptions to SOAP faults."""
from lxml import etree

from envelopes import ns
from envelopes.client import parse_fault
from gateway import faults


def test_soap11_fault_carries_typed_detail_and_issues():
    fault = faults.InvalidContent("bad", code="XSD_VIOLATION", issues=[
        faults.ValidationIssue("XSD_VIOLATION", "pattern", "/a/b", 3, 7)])
    status, ctype, body = faults.render(fault, faults.SOAP11)
    assert status == 500 and ctype.startswith("text/xml")
    parsed = parse_fault(status, etree.fromstring(body))
    assert parsed.faultcode == "soap:Client"
    assert (parsed.element, parsed.code) == ("InvalidContent", "XSD_VIOLATION")
    assert parsed.validation_errors[0] == {"message": "pattern", "errorPosition": "3",
                                           "code": "XSD_VIOLATION", "xpath": "/a/b",
                                           "line": "3", "column": "7"}


def test_soap12_sender_fault_is_400_and_receiver_500():
    status, ctype, body = faults.render(faults.AccessDenied("no"), faults.SOAP12)
    assert status == 400 and ctype.startswith("application/soap+xml")
    root = etree.fromstring(body)
    assert root.findtext(f".//{{{ns.SOAP12_ENV}}}Value") == "soap:Sender"
    status, _, _ = faults.render(faults.SMEVFailure("down"), faults.SOAP12)
    assert status == 500


def test_unexpected_exception_reveals_nothing():
    status, _, body = faults.render(KeyError("secret-internal-name"))
    assert b"secret-internal-name" not in body
    parsed = parse_fault(status, etree.fromstring(body))
    assert parsed.element == "SMEVFailure" and parsed.faultcode == "soap:Server"


def test_transport_faults_have_their_own_status():
    assert faults.render(faults.MalformedRequest("x"))[0] == 400
    assert faults.render(faults.RequestTooLarge("x"))[0] == 413
    assert faults.render(faults.UnsupportedMediaType("x"))[0] == 415


def _faults_schema():
    from gateway.pipeline.validate import SchemaSet

    return SchemaSet().get("smev-message-exchange-faults-1.1.xsd")


SAMPLES = [
    faults.SMEVFailure("down"),
    faults.InvalidContent("bad", issues=[faults.ValidationIssue("XSD_VIOLATION", "m", "/a", 1, 2),
                                         faults.ValidationIssue("FIELD_RULE", "n")]),
    faults.MalformedRequest("not xml"),
    faults.SignatureVerificationFault("digest", code="HASH_FAILURE"),
    faults.SignatureVerificationFault("expired", code="EXPIRED"),
    faults.SenderIsNotRegistered("who"),
    faults.UnknownMessageType("what"),
    faults.BusinessDataTypeIsNotSupported("what", fields=[("RootElementLocalName", "X"),
                                                          ("RootElementNamespaceURI", "urn:x")]),
    faults.RecipientIsNotFound("nobody"),
    faults.AccessDenied("no"),
    faults.MessageIsAlreadySent("dup"),
    faults.InvalidMessageIdFormat("fmt"),
    faults.StaleMessageId("old"),
    faults.TargetMessageIsNotFound("none"),
    faults.DestinationOverflow("full", fields=[("MessageBrokerAddress", "db"), ("DestinationName", "q")]),
    faults.QuoteLimitExceeded("quota", fields=[("RemainedTotalQuoteSize", "0"),
                                               ("RealTotalAttachmentSize", "10")]),
    faults.AttachmentSizeLimitExceeded("big", fields=[("PermittedTotalAttachmentSize", "1"),
                                                      ("RealTotalAttachmentSize", "2")]),
    faults.AttachmentContentMiscoordination("mismatch"),
    faults.IncorrectResponseContentType("type"),
    faults.TransactionCodeInvalid("code"),
    faults.EndOfLifeReached("eol"),
]


def test_every_fault_detail_is_valid_against_the_faults_xsd():
    schema = _faults_schema()
    for fault in SAMPLES:
        for version in (faults.SOAP11, faults.SOAP12):
            _, _, body = faults.render(fault, version)
            detail = etree.fromstring(body).find(f".//{{{ns.SMEV_FAULTS}}}{fault.element}")
            assert detail is not None, fault
            assert schema.errors(detail) == [], (fault.element, schema.errors(detail))


def test_the_app_turns_any_escaping_error_into_a_soap_fault():
    import io

    from gateway.http.app import GatewayApp

    class Broken:
        def handle(self, body, mtom=None):
            raise OSError("disk full")

    app = GatewayApp.__new__(GatewayApp)
    app.settings = type("S", (), {"max_body_bytes": 1000})()
    app.pipeline, app.engine, app.contract, app.openapi = Broken(), None, {}, b""
    seen = {}
    body = b"".join(app({"REQUEST_METHOD": "POST", "PATH_INFO": "/ws", "CONTENT_TYPE": "text/xml",
                         "CONTENT_LENGTH": "3", "wsgi.input": io.BytesIO(b"<a/>")},
                        lambda status, headers: seen.update(status=status)))
    assert seen["status"].startswith("500")
    fault = parse_fault(500, etree.fromstring(body))
    assert fault.element == "SMEVFailure" and b"disk full" not in body
