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
    assert parsed.validation_errors[0] == {"Code": "XSD_VIOLATION", "Description": "pattern",
                                           "XPath": "/a/b", "Line": "3", "Column": "7"}


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
