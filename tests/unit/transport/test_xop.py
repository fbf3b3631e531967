"""XOP includes resolved to MIME parts, inline base64, and the signed headers cross-check."""
import base64
import hashlib
import io

import pytest

from envelopes import ns
from envelopes.mtom import multipart
from gateway import faults
from gateway.pipeline.parse import parse_envelope
from gateway.exchange import xop
from gateway.http.mtom import parse_mtom

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
XOP_NS = ns.XOP


def request_xml(contents: str = "", headers: str = "", payload: str = "<p:Doc xmlns:p='urn:p'/>") -> bytes:
    """A SendRequestRequest with the given AttachmentContent items and AttachmentHeader items."""
    header_list = f"<b:AttachmentHeaderList>{headers}</b:AttachmentHeaderList>" if headers else ""
    content_list = f"<b:AttachmentContentList>{contents}</b:AttachmentContentList>" if contents else ""
    return (f"<s:Envelope xmlns:s='{ns.SOAP11_ENV}'><s:Body>"
            f"<t:SendRequestRequest xmlns:t='{T}' xmlns:b='{B}' xmlns:xop='{XOP_NS}'>"
            f"<t:SenderProvidedRequestData Id='SIGNED'><t:MessageID>x</t:MessageID>"
            f"<b:MessagePrimaryContent>{payload}</b:MessagePrimaryContent>{header_list}"
            f"</t:SenderProvidedRequestData>{content_list}</t:SendRequestRequest>"
            f"</s:Body></s:Envelope>").encode()


def included(attachment_id: str, href: str) -> str:
    return (f"<b:AttachmentContent><b:Id>{attachment_id}</b:Id><b:Content>"
            f"<xop:Include href='{href}'/></b:Content></b:AttachmentContent>")


def inline(attachment_id: str, text: str) -> str:
    return (f"<b:AttachmentContent><b:Id>{attachment_id}</b:Id><b:Content>{text}</b:Content>"
            "</b:AttachmentContent>")


def header(content_id: str, mime: str) -> str:
    return (f"<b:AttachmentHeader><b:contentId>{content_id}</b:contentId><b:MimeType>{mime}</b:MimeType>"
            "</b:AttachmentHeader>")


def received(tmp_path, envelope: bytes, parts=(), limit=1 << 20):
    """Parse the MTOM body of ``envelope`` + ``parts`` (cid, type, bytes), then resolve."""
    message = None
    if parts:
        content_type, body = multipart(envelope, list(parts))
        message = parse_mtom(io.BytesIO(body), content_type, len(body), max_envelope_bytes=1 << 20,
                             max_attachment_bytes=1 << 20, max_parts=10, spool_dir=tmp_path / "mtom")
    request = parse_envelope(envelope).body_child
    return request, xop.resolve(request, message, spool_dir=tmp_path / "inline", max_attachment_bytes=limit)


def spooled(tmp_path):
    return sorted(p.name for p in (tmp_path / "inline").glob("*")) if (tmp_path / "inline").exists() else []


def test_includes_are_resolved_by_percent_decoded_cid_and_emptied(tmp_path):
    wcf = "http://tempuri.org/1/636900000000000000"  # WCF-style: the URL is %-encoded
    envelope = request_xml(included("doc1", "cid:a%2540b@x")
                           + included("doc2", "cid:http%3A%2F%2Ftempuri.org%2F1%2F636900000000000000"))
    request, found = received(tmp_path, envelope, [("a%40b@x", "application/pdf", b"%PDF"),
                                                   (wcf, "application/octet-stream", b"\0" * 10)])
    assert {k: (v.content_type, v.size, v.sha256_hex, v.path.read_bytes()) for k, v in found.items()} == {
        "doc1": ("application/pdf", 4, hashlib.sha256(b"%PDF").hexdigest(), b"%PDF"),
        "doc2": ("application/octet-stream", 10, hashlib.sha256(b"\0" * 10).hexdigest(), b"\0" * 10)}
    contents = request.findall(f"{{{B}}}AttachmentContentList/{{{B}}}AttachmentContent/{{{B}}}Content")
    assert [(c.text, len(c)) for c in contents] == [("", 0), ("", 0)]
    assert next(request.iter(f"{{{XOP_NS}}}Include"), None) is None


@pytest.mark.parametrize("contents, parts, code", [
    (included("doc1", "cid:a%40b@x"), [("a%40b@x", "text/plain", b"1")], "MISSING_PART"),  # not encoded
    (included("doc1", "cid:nope@x"), [("a@x", "text/plain", b"1")], "MISSING_PART"),
    (included("doc1", "cid:a@x"), [], "MISSING_PART"),                                     # not MTOM at all
    (included("doc1", "cid:a@x"), [("a@x", "text/plain", b"1"), ("b@x", "text/plain", b"2")],
     "UNREFERENCED_PART"),
    ("", [("a@x", "text/plain", b"1")], "UNREFERENCED_PART"),
    (included("doc1", "cid:a@x") + included("doc2", "cid:a@x"), [("a@x", "text/plain", b"1")],
     "PART_REFERRED_TWICE"),
    (included("doc1", "a@x"), [("a@x", "text/plain", b"1")], "BAD_XOP_INCLUDE"),           # no cid:
    (included("doc1", "http://evil.example/a@x"), [("a@x", "text/plain", b"1")], "BAD_XOP_INCLUDE"),
    (included("doc1", "cid:a@x").replace("<xop:Include", "QQ==<xop:Include"), [("a@x", "text/plain", b"1")],
     "BAD_XOP_INCLUDE"),
    (included("doc1", "cid:a@x").replace("/></b:Content>", "/>QQ==</b:Content>"),
     [("a@x", "text/plain", b"1")], "BAD_XOP_INCLUDE"),
    (included("doc1", "cid:a@x").replace("/></b:Content>", "/><b:Id/></b:Content>"),
     [("a@x", "text/plain", b"1")], "BAD_XOP_INCLUDE"),
    (included("doc1", "cid:a@x") + included("doc1", "cid:b@x"),
     [("a@x", "text/plain", b"1"), ("b@x", "text/plain", b"2")], "DUPLICATE_ATTACHMENT_ID"),
    (included("doc1", "cid:a@x") + inline("doc1", "QQ=="), [("a@x", "text/plain", b"1")],
     "DUPLICATE_ATTACHMENT_ID"),
], ids=["href-not-percent-encoded", "unknown-cid", "no-parts", "one-unreferenced", "all-unreferenced",
        "referred-twice", "href-without-cid", "href-http", "text-before", "text-after", "two-children",
        "duplicate-id", "duplicate-id-inline"])
def test_cid_mismatches_are_miscoordination(tmp_path, contents, parts, code):
    with pytest.raises(faults.AttachmentContentMiscoordination) as err:
        received(tmp_path, request_xml(contents), parts)
    assert err.value.code == code
    assert spooled(tmp_path) == []


@pytest.mark.parametrize("where", ["payload", "header"])
def test_an_include_anywhere_else_is_refused(tmp_path, where):
    include = "<xop:Include xmlns:xop='http://www.w3.org/2004/08/xop/include' href='cid:a@x'/>"
    if where == "payload":  # MessagePrimaryContent is processContents="skip": the XSD would let it by
        envelope = request_xml(payload=f"<p:Doc xmlns:p='urn:p'>{include}</p:Doc>")
    else:
        envelope = request_xml().replace(b"<s:Body>", f"<s:Header>{include}</s:Header><s:Body>".encode())
    with pytest.raises(faults.AttachmentContentMiscoordination) as err:
        received(tmp_path, envelope, [("a@x", "text/plain", b"1")])
    assert err.value.code == "BAD_XOP_INCLUDE"


def test_inline_base64_is_decoded_spooled_and_digested(tmp_path):
    data = bytes(range(256)) * 3
    text = base64.encodebytes(data).decode()  # with line breaks, as many clients send it
    request, found = received(tmp_path, request_xml(inline("doc1", text) + inline("empty", "")))
    assert found["doc1"].path.read_bytes() == data and found["doc1"].size == len(data)
    assert found["doc1"].sha256_hex == hashlib.sha256(data).hexdigest()
    assert found["doc1"].content_type is None and found["empty"].size == 0
    assert found["doc1"].path.parent == tmp_path / "inline"
    xop.discard(found)
    assert spooled(tmp_path) == []


def test_inline_content_that_is_not_base64_is_left_to_the_xsd(tmp_path):
    _, found = received(tmp_path, request_xml(inline("doc1", "not base64!") + inline("doc2", "QQ==")))
    assert set(found) == {"doc2"}  # doc1 has no content: the XSD (then the header check) refuses it


def test_inline_and_mtom_sizes_count_together(tmp_path):
    envelope = request_xml(included("doc1", "cid:a@x") + inline("doc2", base64.b64encode(b"y" * 40).decode()))
    parts = [("a@x", "text/plain", b"x" * 60)]
    _, found = received(tmp_path, envelope, parts, limit=100)
    assert sum(f.size for f in found.values()) == 100
    xop.discard(found)
    with pytest.raises(faults.AttachmentSizeLimitExceeded) as err:
        received(tmp_path, envelope, parts, limit=99)
    assert dict(err.value.fields) == {"PermittedTotalAttachmentSize": "99", "RealTotalAttachmentSize": "100"}
    assert spooled(tmp_path) == []


def test_a_fault_after_inline_files_were_spooled_removes_them(tmp_path):
    envelope = request_xml(inline("doc1", "QUJD") + inline("doc2", "REVG") + inline("doc2", "R0hJ"))
    with pytest.raises(faults.AttachmentContentMiscoordination) as err:
        received(tmp_path, envelope)
    assert err.value.code == "DUPLICATE_ATTACHMENT_ID"
    assert spooled(tmp_path) == []


def test_no_attachments_at_all(tmp_path):
    assert received(tmp_path, request_xml())[1] == {}


def signed_data(request):
    return request.find(f"{{{T}}}SenderProvidedRequestData")


def test_headers_that_match_the_contents(tmp_path):
    envelope = request_xml(included("doc1", "cid:a@x") + included("doc2", "cid:b@x") + inline("doc3", "QQ=="),
                           header("doc1", "application/pdf") + header("doc2", "image/png")
                           + header("doc3", "text/plain"))
    request, found = received(tmp_path, envelope, [("a@x", "Application/PDF; name=a.pdf", b"1"),
                                                   ("b@x", "application/octet-stream", b"2")])
    xop.check_headers(signed_data(request), found)  # octet-stream parts match any MimeType
    xop.check_headers(signed_data(parse_envelope(request_xml()).body_child), {})


@pytest.mark.parametrize("headers, code, named", [
    (header("doc1", "application/pdf"), "HEADERS_AND_CONTENT_DISAGREE", "no header for doc2"),
    (header("doc1", "application/pdf") + header("doc2", "image/png") + header("doc3", "text/plain"),
     "HEADERS_AND_CONTENT_DISAGREE", "no content for doc3"),
    (header("doc1", "application/pdf") + header("doc9", "image/png"), "HEADERS_AND_CONTENT_DISAGREE",
     "no content for doc9; no header for doc2"),
    (header("doc1", "image/png") + header("doc2", "image/png"), "MIME_TYPE_MISMATCH",
     "header says image/png, the part is application/pdf"),
    (header("doc1", "application/pdf") + header("doc1", "application/pdf") + header("doc2", "image/png"),
     "DUPLICATE_HEADER", "doc1"),
], ids=["content-without-header", "header-without-content", "both-ways", "mime-type", "duplicate-header"])
def test_headers_and_contents_that_disagree(tmp_path, headers, code, named):
    envelope = request_xml(included("doc1", "cid:a@x") + inline("doc2", "QQ=="), headers)
    request, found = received(tmp_path, envelope, [("a@x", "application/pdf", b"1")])
    with pytest.raises(faults.AttachmentContentMiscoordination) as err:
        xop.check_headers(signed_data(request), found)
    assert err.value.code == code and named in err.value.description
