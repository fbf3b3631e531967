"""Round trip: envelopes.mtom builds a signed SendRequest with files; the transport reads it back,
the resolved envelope validates against the unchanged contract XSD and the signature holds."""
import io

import pytest
from lxml import etree

from envelopes import ns
from envelopes.mtom import File, cid_href, send_request_with_files
from gateway import faults
from gateway.pipeline.parse import parse_envelope
from gateway.exchange import xop
from gateway.http.mtom import cid_url, is_mtom, parse_mtom
from gateway.pipeline.validate import SchemaSet
from signing.xmldsig import verify_detached

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
FILES = [File("doc1", "application/pdf", b"%PDF-1.7 " + bytes(range(256)) * 40),
         File("scan2", "image/png", b"\x89PNG\r\n--MIMEBoundary_\r\n"),
         File("wcf3", "text/plain", b"", content_id="http://tempuri.org/1/6369%20x")]


@pytest.fixture(scope="module")
def types_schema():
    return SchemaSet().get("smev-message-exchange-types-1.1.xsd")


def payload():
    element = etree.Element("{urn://test/documents/1.0}Documents")
    element.text = "see attachments"
    return element


def read(content_type: str, body: bytes, tmp_path):
    """What the gateway does, in order: transport, parse, resolve (returns the request too)."""
    message = None
    envelope = body
    if is_mtom(content_type):
        message = parse_mtom(io.BytesIO(body), content_type, len(body), max_envelope_bytes=1 << 20,
                             max_attachment_bytes=1 << 20, max_parts=10, spool_dir=tmp_path)
        envelope = message.envelope
    request = parse_envelope(envelope).body_child
    found = xop.resolve(request, message, spool_dir=tmp_path, max_attachment_bytes=1 << 20)
    return message, request, found


@pytest.mark.parametrize("inline", [False, True], ids=["mtom", "inline"])
def test_round_trip_validates_verifies_and_matches(tmp_path, client_key, types_schema, inline):
    key, certificate = client_key
    content_type, body = send_request_with_files(payload(), FILES, key, certificate, inline=inline)
    assert is_mtom(content_type) != inline
    message, request, found = read(content_type, body, tmp_path)
    assert types_schema.errors(request) == []  # the resolved envelope, against the fixed XSD
    data = request.find(f"{{{T}}}SenderProvidedRequestData")
    signature = request.find(f"{{{T}}}CallerInformationSystemSignature/{{{ns.DS}}}Signature")
    assert verify_detached(signature, data).element is data
    xop.check_headers(data, found)
    assert {k: v.path.read_bytes() for k, v in found.items()} == {f.attachment_id: f.data for f in FILES}
    if not inline:
        assert "http://tempuri.org/1/6369%20x" in message.parts  # the Content-ID as given
        assert {v.content_type for v in found.values()} == {f.mime_type for f in FILES}
        message.cleanup()
    xop.discard(found)
    assert list(tmp_path.iterdir()) == []


def test_an_unresolved_include_is_not_base64binary(tmp_path, client_key, types_schema):
    """Why resolve runs before validation: the envelope as sent does not satisfy the XSD."""
    key, certificate = client_key
    content_type, body = send_request_with_files(payload(), FILES[:1], key, certificate)
    with parse_mtom(io.BytesIO(body), content_type, len(body), max_envelope_bytes=1 << 20,
                    max_attachment_bytes=1 << 20, max_parts=10, spool_dir=tmp_path) as message:
        request = parse_envelope(message.envelope).body_child
        assert types_schema.errors(request) != []
        found = xop.resolve(request, message, spool_dir=tmp_path, max_attachment_bytes=1 << 20)
        assert types_schema.errors(request) == []
        assert found["doc1"].size == len(FILES[0].data)


def test_inline_content_that_is_not_base64_fails_the_xsd(tmp_path, client_key, types_schema):
    key, certificate = client_key
    _, body = send_request_with_files(payload(), FILES[:1], key, certificate, inline=True)
    root = etree.fromstring(body)
    root.find(f".//{{{B}}}Content").text = "not base64!"
    _, request, found = read("text/xml", etree.tostring(root), tmp_path)
    assert found == {}
    assert any("Content" in (issue.xpath or "") for issue in types_schema.errors(request))


def test_signed_headers_announce_other_files(tmp_path, client_key):
    key, certificate = client_key
    content_type, body = send_request_with_files(payload(), FILES[:2], key, certificate,
                                                 header_files=FILES[:1])
    message, request, found = read(content_type, body, tmp_path)
    with pytest.raises(faults.AttachmentContentMiscoordination) as err:
        xop.check_headers(request.find(f"{{{T}}}SenderProvidedRequestData"), found)
    assert "no header for scan2" in err.value.description
    message.cleanup()


@pytest.mark.parametrize("content_id", ["a%40b@x", "http://tempuri.org/1/x y".replace(" ", "%20"),
                                        "foo4*foo1@bar.net", "a/b?c#d@x"])
def test_cid_href_round_trips(content_id):
    assert cid_url(cid_href(content_id)) == content_id


def test_a_content_id_must_be_printable_ascii(client_key):
    key, certificate = client_key
    for bad in ("доку@x", "a b@x", "<a@x>"):
        with pytest.raises(ValueError):
            send_request_with_files(payload(), [File("doc1", "text/plain", b"x", content_id=bad)],
                                    key, certificate)
