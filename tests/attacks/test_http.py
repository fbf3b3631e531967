"""HTTP-level attacks on /ws: body size, Content-Length lies, chunked bodies, Content-Type and
SOAP version confusion, other methods, path traversal on /ws/xsd/. Raw sockets where a client
library would correct the request. Note: tests/conftest.py serves the app with wsgiref (one
thread per connection, no chunked decoding); production uses gunicorn (gateway/http/server.py)."""
from __future__ import annotations

import time

import pytest
import requests

from attacks.kit import (SOAP11, SOAP12, check_refused, http_request, post, raw_http,
                         read_answer, refused, signed_bytes, signed_tree, stored)
from envelopes import ns
from lxml import etree

XML = {"Content-Type": "text/xml; charset=utf-8"}


def _raw(url, engine, request: bytes, **kwargs):
    before = stored(engine)
    status, headers, body = raw_http(url, request, **kwargs)
    return before, read_answer(status, headers.get("content-type", ""), body), headers


def _tampered(demo_client, **kwargs) -> bytes:
    """A signed envelope whose content changed after signing (a refusal that reaches the verifier)."""
    return signed_bytes(demo_client, **kwargs).replace(b"office@romashka.example", b"evil@example.org")


# ---------------------------------------------------------------- size

def test_body_over_the_cap_is_413_with_a_soap_fault(gateway_url, engine):
    refused(gateway_url, engine, b"<" + b"x" * (11 * 1024 * 1024) + b"/>", "InvalidContent",
            "REQUEST_TOO_LARGE", status=413)


def test_declared_length_over_the_cap_is_refused_before_the_body_arrives(gateway_url, engine):
    """Content-Length: 50 MB, four bytes sent, connection kept open: the answer comes at once."""
    started = time.monotonic()
    before, answer, _ = _raw(gateway_url, engine, http_request(
        gateway_url, "POST", "/ws", b"<x/>", {**XML, "Content-Length": str(50 * 1024 * 1024)}),
        half_close=False, timeout=5)
    assert time.monotonic() - started < 4
    check_refused(answer, engine, before, "InvalidContent", "REQUEST_TOO_LARGE", status=413)


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "0x10"])
def test_non_numeric_content_length_is_refused(gateway_url, engine, demo_client, length):
    """Refused with 400 without reading the body."""
    body = signed_bytes(demo_client)
    before, answer, _ = _raw(gateway_url, engine, http_request(
        gateway_url, "POST", "/ws", body, {**XML, "Content-Length": length}))
    check_refused(answer, engine, before, "InvalidContent", "MALFORMED_REQUEST", status=400)


# ---------------------------------------------------------------- Content-Length lies

def test_content_length_shorter_than_the_body_truncates_it_and_is_refused(gateway_url, engine,
                                                                           demo_client):
    body = signed_bytes(demo_client)
    before, answer, _ = _raw(gateway_url, engine, http_request(
        gateway_url, "POST", "/ws", body, {**XML, "Content-Length": str(len(body) - 40)}))
    check_refused(answer, engine, before, "InvalidContent", "MALFORMED_XML", status=400)


def test_content_length_longer_than_the_body_is_an_incomplete_request(gateway_url, engine,
                                                                      demo_client):
    """The client declares 100 bytes more than it sends, then closes its side: the message is
    incomplete and must not be processed, let alone stored."""
    body = signed_bytes(demo_client)
    before, answer, _ = _raw(gateway_url, engine, http_request(
        gateway_url, "POST", "/ws", body, {**XML, "Content-Length": str(len(body) + 100)}))
    check_refused(answer, engine, before, "InvalidContent", "INCOMPLETE_REQUEST", status=400)


def test_post_without_content_length_or_chunking_has_no_body(gateway_url, engine, demo_client):
    """No Content-Length and no Transfer-Encoding: by HTTP/1.1 the body is EMPTY; the bytes that
    follow are the next request on the connection. The gateway answers 411, never parsing the rest
    of the stream as the envelope."""
    before, answer, _ = _raw(gateway_url, engine, http_request(
        gateway_url, "POST", "/ws", signed_bytes(demo_client), XML))
    check_refused(answer, engine, before, "InvalidContent", "LENGTH_REQUIRED", status=411)


def test_chunked_body_is_answered_without_waiting_for_the_client_to_close(gateway_url, engine,
                                                                          demo_client):
    """Chunked, connection kept open: either processed (a server that de-chunks) or refused with
    411 at once; never a thread stuck in read() until the client goes away."""
    body = _tampered(demo_client)  # if it were ever parsed, it is refused: never stored
    chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    started = time.monotonic()
    before, answer, _ = _raw(gateway_url, engine, http_request(
        gateway_url, "POST", "/ws", chunked, {**XML, "Transfer-Encoding": "chunked"}),
        half_close=False, timeout=2)
    assert time.monotonic() - started < 1.9, "no answer: the request thread is blocked"
    assert answer.status in (400, 411, 500) and answer.fault is not None, answer
    assert answer.fault.code != "INTERNAL_ERROR" and stored(engine) == before


def test_chunked_body_after_the_client_closed_is_never_misread(gateway_url, engine, demo_client):
    """Whatever the server does with chunked framing, a valid request is never mis-parsed into a
    stored message: wsgiref does not de-chunk, so the gateway refuses it with 411 unread."""
    body = signed_bytes(demo_client)
    chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    before, answer, _ = _raw(gateway_url, engine, http_request(
        gateway_url, "POST", "/ws", chunked, {**XML, "Transfer-Encoding": "chunked"}))
    if answer.status == 200:  # a server that de-chunks: exactly the one message
        assert stored(engine)[0] == before[0] + 1
    else:
        check_refused(answer, engine, before, "InvalidContent", "LENGTH_REQUIRED", status=411)


def test_content_length_and_chunked_together_are_refused(gateway_url, engine, demo_client):
    """Both framings (the request-smuggling shape): never processed as a valid envelope."""
    body = signed_bytes(demo_client)
    chunked = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    before, answer, _ = _raw(gateway_url, engine, http_request(
        gateway_url, "POST", "/ws", chunked,
        {**XML, "Transfer-Encoding": "chunked", "Content-Length": str(len(chunked))}))
    check_refused(answer, engine, before, "InvalidContent", status=400)


# ---------------------------------------------------------------- Content-Type and SOAP version

@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain",
                                          "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded",
                                          "text/xml-evil", "application/soap+xml-evil"])
def test_wrong_content_type_is_415(gateway_url, engine, demo_client, content_type):
    headers = {} if content_type is None else {"Content-Type": content_type}
    refused(gateway_url, engine, signed_bytes(demo_client), "InvalidContent",
            "UNSUPPORTED_MEDIA_TYPE", status=415, headers=headers)


def test_soap12_envelope_sent_as_text_xml_is_answered_in_soap12(gateway_url, engine, demo_client):
    """Decided and documented: the SOAP version is the Envelope's namespace, not the Content-Type
    (which only has to be one of the two SOAP media types); the answer follows the envelope."""
    before = stored(engine)
    answer = post(gateway_url, _tampered(demo_client, soap_version="1.2"), SOAP11)
    assert answer.content_type.startswith("application/soap+xml")
    assert answer.root.tag == ns.q(ns.SOAP12_ENV, "Envelope")
    check_refused(answer, engine, before, "SignatureVerificationFault", "HASH_FAILURE", status=400)


def test_soap11_envelope_sent_as_soap12_media_type_is_answered_in_soap11(gateway_url, engine,
                                                                           demo_client):
    before = stored(engine)
    answer = post(gateway_url, _tampered(demo_client), SOAP12)
    assert answer.content_type.startswith("text/xml")
    assert answer.root.tag == ns.q(ns.SOAP11_ENV, "Envelope")
    check_refused(answer, engine, before, "SignatureVerificationFault", "HASH_FAILURE", status=500)


@pytest.mark.parametrize("root", ["{http://www.w3.org/2001/12/soap-envelope}Envelope",
                                  "{urn://attacker}Envelope", "Envelope"])
def test_unknown_envelope_version_is_refused(gateway_url, engine, demo_client, root):
    tree = signed_tree(demo_client)
    envelope = etree.Element(root)
    for child in list(tree):
        envelope.append(child)
    # SOAP 1.1 §4.4.1 / SOAP 1.2 part 1 §5.4.7: VersionMismatch, in SOAP 1.1 form, HTTP 500
    refused(gateway_url, engine, etree.tostring(envelope), "InvalidContent", "VERSION_MISMATCH",
            status=500)


# ---------------------------------------------------------------- methods and paths

@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "HEAD", "GET",
                                    "CONNECT", "PROPFIND"])
def test_other_methods_on_ws_are_405_and_never_processed(gateway_url, engine, demo_client, method):
    """Method errors are plain HTTP (405 with Allow), not SOAP: no SOAP request was made.
    TRACE does not echo the request (no cross-site tracing)."""
    body = signed_bytes(demo_client)
    before = stored(engine)
    status, headers, answer = raw_http(gateway_url, http_request(
        gateway_url, method, "/ws", body,
        {**XML, "Content-Length": str(len(body)), "X-Secret": "s3cr3t-header"}))
    assert status == 405
    assert headers.get("allow") == "GET, POST"
    assert b"s3cr3t-header" not in answer and b"SenderProvidedRequestData" not in answer
    assert stored(engine) == before


def test_method_override_headers_are_ignored(gateway_url, engine, demo_client):
    body = _tampered(demo_client)
    refused(gateway_url, engine, body, "SignatureVerificationFault", "HASH_FAILURE",
            headers={**SOAP11, "X-HTTP-Method-Override": "DELETE", "X-Method-Override": "PUT"})


TRAVERSALS = ["../setup.cfg", "..%2fsetup.cfg", "%2e%2e/setup.cfg", "%2e%2e%2fsetup.cfg",
              "..%252fsetup.cfg", "..\\setup.cfg", "..%5csetup.cfg", "....//setup.cfg",
              "/etc/passwd", "%2fetc%2fpasswd", "../../../../../../etc/passwd",
              "smev-message-exchange-types-1.1.xsd/../../setup.cfg",
              "smev-message-exchange-types-1.1.xsd%00.txt", "%00", ".", "..",
              "../wsdl/smev-message-exchange-service-1.1.wsdl", "../../gateway/config.py",
              "..%c0%afsetup.cfg", "%u002e%u002e/setup.cfg"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_path_traversal_on_xsd_is_404(gateway_url, name):
    status, _, body = raw_http(gateway_url, http_request(gateway_url, "GET", f"/ws/xsd/{name}"))
    assert status in (400, 404), (status, body[:200])
    assert b"root:" not in body and b"[options]" not in body and b"Settings" not in body


def test_the_contract_files_are_still_served(gateway_url):
    """The control for the traversal list: a real XSD name works."""
    reply = requests.get(f"{gateway_url}/xsd/smev-message-exchange-types-1.1.xsd", timeout=10)
    assert reply.status_code == 200 and b"SendRequestRequest" in reply.content


def test_a_refused_request_does_not_poison_the_connection(gateway_url, engine, demo_client):
    """After a refused request on a keep-alive session the next valid request still works."""
    session = requests.Session()
    bad = session.post(gateway_url, data=_tampered(demo_client), headers=SOAP11, timeout=10)
    assert bad.status_code == 500
    before = stored(engine)
    good = session.post(gateway_url, data=signed_bytes(demo_client), headers=SOAP11, timeout=10)
    assert good.status_code == 200 and stored(engine)[0] == before[0] + 1
