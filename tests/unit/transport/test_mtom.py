"""The streaming MTOM reader: bounded memory, limits, malformed bodies, Content-IDs."""
import hashlib
import io
import random
import tracemalloc

import pytest

from envelopes.mtom import multipart
from gateway import faults
from gateway.http.mtom import cid_url, content_id, is_mtom, parse_mtom

ENVELOPE = b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body/></s:Envelope>"
CT = ('multipart/related; boundary="b0"; type="application/xop+xml"; start="<root@x>"; '
      'start-info="text/xml"')
ROOT = (b"--b0\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\n"
        b"Content-ID: <root@x>\r\n\r\n" + ENVELOPE)


def parse(content_type, body, tmp_path, *, length=True, **limits):
    options = dict(max_envelope_bytes=1 << 20, max_attachment_bytes=1 << 30, max_parts=10,
                   spool_dir=tmp_path)
    options.update(limits)
    return parse_mtom(io.BytesIO(body), content_type, len(body) if length else None, **options)


def refused(content_type, body, tmp_path, fault=faults.GatewayFault, **limits):
    with pytest.raises(fault) as err:
        parse(content_type, body, tmp_path, **limits)
    assert err.value.client
    assert list(tmp_path.iterdir()) == []  # spool files of a refused request are removed
    return err.value


class Generated(io.RawIOBase):
    """A multipart body produced on the fly: never held in memory as a whole."""

    def __init__(self, head: bytes, size: int, tail: bytes):
        self.pieces = [head]
        self.size, self.tail, self.sent = size, tail, False

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.pieces:
            data = self.pieces.pop(0)
        elif self.size:
            data = b"\xab" * min(self.size, len(buffer))
            self.size -= len(data)
        elif not self.sent:
            data, self.sent = self.tail, True
        else:
            return 0
        buffer[:len(data)] = data
        return len(data)


class Trickle(io.RawIOBase):
    """Hands out a body in small reads of random size, so delimiters fall across reads."""

    def __init__(self, body: bytes, seed: int):
        self.body, self.at, self.random = body, 0, random.Random(seed)

    def readable(self):
        return True

    def readinto(self, buffer):
        size = min(len(buffer), self.random.randint(1, 9), len(self.body) - self.at)
        buffer[:size] = self.body[self.at:self.at + size]
        self.at += size
        return size


@pytest.mark.parametrize("known_length", [True, False], ids=["content-length", "chunked"])
def test_a_50_mb_attachment_streams_with_bounded_memory(tmp_path, known_length):
    content_type, small = multipart(ENVELOPE, [("big@x", "application/octet-stream", b"")])
    head, tail = small.split(b"Content-ID: <big@x>\r\n\r\n")
    head += b"Content-ID: <big@x>\r\n\r\n"
    size = 50 * 1024 * 1024
    stream = Generated(head, size, tail)  # unbuffered: each read is the reader's own request
    tracemalloc.start()
    try:
        message = parse_mtom(stream, content_type, len(head) + size + len(tail) if known_length else None,
                             max_envelope_bytes=1 << 20, max_attachment_bytes=1 << 30, max_parts=10,
                             spool_dir=tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    part = message.parts["big@x"]
    assert part.size == size and part.path.stat().st_size == size
    assert part.sha256_hex == hashlib.sha256(b"\xab" * size).hexdigest()
    assert peak < 1024 * 1024, f"peak {peak} bytes for a {size}-byte attachment"
    assert message.envelope == ENVELOPE
    message.cleanup()
    assert not part.path.exists()


def test_parts_are_spooled_with_type_size_and_digest(tmp_path):
    files = [("a%40b@x", "text/plain", b"one"), ("c@x", "image/png", b"\x89PNG\r\n--b0\r\n")]
    content_type, body = multipart(ENVELOPE, files)
    with parse(content_type, body, tmp_path) as message:
        assert message.envelope == ENVELOPE and message.soap_version == faults.SOAP11
        assert list(message.parts) == ["a%40b@x", "c@x"]  # the Content-ID as sent, not decoded
        for cid, mime, data in files:
            part = message.parts[cid]
            assert (part.content_type, part.size, part.path.read_bytes()) == (mime, len(data), data)
            assert part.sha256_hex == hashlib.sha256(data).hexdigest()
            assert part.path.parent == tmp_path and part.path.stat().st_mode & 0o077 == 0
    assert list(tmp_path.iterdir()) == []  # the context manager cleaned up


def body_of(files) -> bytes:
    """A multipart body with boundary b0 (the CT above), written out by hand."""
    out = ROOT
    for cid, mime, data in files:
        out += f"\r\n--b0\r\nContent-Type: {mime}\r\nContent-ID: <{cid}>\r\n\r\n".encode() + data
    return out + b"\r\n--b0--\r\n"


@pytest.mark.parametrize("seed", range(6))
def test_delimiters_split_across_reads(tmp_path, seed):
    """Parts full of near-delimiters ("\r\n--b", "--b0" without CRLF, "\r\n-b0"), read a
    few bytes at a time: every byte comes back, nothing more."""
    rng = random.Random(seed)
    pieces = [b"\r\n--b", b"--b0", b"\r\n-b0", b"\r\n", b"-", b"b0", b"x", b"\r\n--", b"\r"]
    files = []
    while len(files) < 4:
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 200)))
        if b"\r\n--b0" not in data:  # that would be a delimiter, which no part may contain
            files.append((f"p{len(files)}@x", "application/octet-stream", data))
    body = body_of(files)
    message = parse_mtom(Trickle(body, seed), CT, None if seed % 2 else len(body),
                         max_envelope_bytes=1 << 20, max_attachment_bytes=1 << 20, max_parts=10,
                         spool_dir=tmp_path)
    assert message.envelope == ENVELOPE
    assert {c: message.parts[c].path.read_bytes() for c, _, _ in files} == {c: d for c, _, d in files}
    message.cleanup()


def test_the_root_part_must_come_first_and_soap_12_is_recognised(tmp_path):
    """The root (envelope) part comes first, so an unknown sender is refused before any
    attachment is hashed and stored; a package that puts a part before it is refused."""
    later = (b"--b0\r\nContent-ID: <a@x>\r\nContent-Type: text/plain\r\n\r\nA"
             b"\r\n--b0\r\nContent-Type: application/xop+xml; type=\"application/soap+xml\"\r\n"
             b"Content-ID: <root@x>\r\n\r\n" + ENVELOPE + b"\r\n--b0--\r\n")
    content_type = CT.replace('"text/xml"', '"application/soap+xml"')
    with pytest.raises(faults.MalformedRequest) as refused:
        parse(content_type, later, tmp_path)
    assert refused.value.code == "ROOT_PART_NOT_FIRST" and not list(tmp_path.rglob("part-*"))
    first = (b"--b0\r\nContent-Type: application/xop+xml; type=\"application/soap+xml\"\r\n"
             b"Content-ID: <root@x>\r\n\r\n" + ENVELOPE
             + b"\r\n--b0\r\nContent-ID: <a@x>\r\nContent-Type: text/plain\r\n\r\nA\r\n--b0--\r\n")
    with parse(content_type, first, tmp_path) as message:
        assert message.envelope == ENVELOPE and message.soap_version == faults.SOAP12
        assert message.parts["a@x"].path.read_bytes() == b"A"


def test_the_root_is_checked_before_any_attachment_is_read(tmp_path):
    seen = []

    def check_root(envelope):
        seen.append((envelope, sorted(p.name for p in tmp_path.rglob("part-*"))))
        raise faults.SenderIsNotRegistered("stranger", code="SENDER_IS_NOT_REGISTERED")

    body = ROOT + b"\r\n--b0\r\nContent-ID: <a@x>\r\n\r\n" + b"A" * 100_000 + b"\r\n--b0--"
    with pytest.raises(faults.SenderIsNotRegistered):
        parse_mtom(io.BytesIO(body), CT, len(body), max_envelope_bytes=1 << 20,
                        max_attachment_bytes=1 << 30, max_parts=10, spool_dir=tmp_path,
                        check_root=check_root)
    assert seen == [(ENVELOPE, [])]  # checked with nothing spooled yet


def test_without_start_the_first_part_is_the_root(tmp_path):
    body = (ROOT.replace(b"Content-ID: <root@x>\r\n", b"")
            + b"\r\n--b0\r\nContent-ID: <a@x>\r\n\r\nA\r\n--b0--")
    with parse(CT.replace('start="<root@x>"; ', ""), body, tmp_path) as message:
        assert message.envelope == ENVELOPE and set(message.parts) == {"a@x"}


def test_preamble_epilogue_padding_and_folded_headers_are_accepted(tmp_path):
    body = (b"a preamble that mentions --b0 mid-line\r\n" + ROOT.replace(b"--b0\r\n", b"--b0  \t\r\n")
            + b"\r\n--b0\r\nContent-Type:\r\n image/png\r\nContent-ID:\r\n\t<a@x>\r\n\r\nA"
            + b"\r\n--b0-- \r\nan epilogue that is ignored")
    with parse(CT, body, tmp_path) as message:
        assert message.parts["a@x"].content_type == "image/png"
        assert message.parts["a@x"].path.read_bytes() == b"A"


def test_size_limit_reports_both_sizes(tmp_path):
    content_type, body = multipart(ENVELOPE, [("a@x", "text/plain", b"x" * 60),
                                              ("b@x", "text/plain", b"y" * 40)])
    assert len(parse(content_type, body, tmp_path, max_attachment_bytes=100).parts) == 2
    for p in tmp_path.iterdir():
        p.unlink()
    err = refused(content_type, body, tmp_path, faults.AttachmentSizeLimitExceeded, max_attachment_bytes=99)
    assert dict(err.fields) == {"PermittedTotalAttachmentSize": "99", "RealTotalAttachmentSize": "100"}
    assert err.element == "AttachmentSizeLimitExceeded"


def test_envelope_limit_is_separate_from_the_attachment_limit(tmp_path):
    content_type, body = multipart(ENVELOPE, [("a@x", "text/plain", b"x" * 1000)])
    assert parse(content_type, body, tmp_path, max_envelope_bytes=len(ENVELOPE)).envelope == ENVELOPE
    for p in tmp_path.iterdir():
        p.unlink()
    err = refused(content_type, body, tmp_path, faults.RequestTooLarge, max_envelope_bytes=len(ENVELOPE) - 1)
    assert err.http_status == 413


def test_part_count_limit(tmp_path):
    content_type, body = multipart(ENVELOPE, [(f"p{i}@x", "text/plain", b"x") for i in range(3)])
    assert len(parse(content_type, body, tmp_path, max_parts=3).parts) == 3
    for p in tmp_path.iterdir():
        p.unlink()
    assert refused(content_type, body, tmp_path, faults.RequestTooLarge, max_parts=2).code == "TOO_MANY_PARTS"


@pytest.mark.parametrize("body, code", [
    (ROOT + b"\r\n--b0\r\nContent-ID: <a@x>\r\n\r\n1\r\n--b0\r\nContent-ID: <a@x>\r\n\r\n2\r\n--b0--",
     "DUPLICATE_CONTENT_ID"),
    (ROOT + b"\r\n--b0\r\nContent-ID: <root@x>\r\n\r\n1\r\n--b0--", "DUPLICATE_CONTENT_ID"),
    (ROOT + b"\r\n--b0\r\nContent-Type: text/plain\r\n\r\n1\r\n--b0--", "PART_WITHOUT_CONTENT_ID"),
    (ROOT + b"\r\n--b0\r\n\r\n1\r\n--b0--", "PART_WITHOUT_CONTENT_ID"),
    (ROOT + b"\r\n--b0\r\nContent-ID: <>\r\n\r\n1\r\n--b0--", "PART_WITHOUT_CONTENT_ID"),
], ids=["duplicate", "duplicate-of-root", "no-content-id", "no-headers", "empty-content-id"])
def test_content_ids_must_be_present_and_unique(tmp_path, body, code):
    err = refused(CT, body, tmp_path, faults.AttachmentContentMiscoordination)
    assert err.code == code


@pytest.mark.parametrize("content_type, body, code", [
    (CT, ROOT[:40], "BAD_MULTIPART"),                                           # cut in the root
    (CT, ROOT + b"\r\n--b0\r\nContent-ID: <a@x>\r\n\r\nAAAA", "BAD_MULTIPART"),  # no closing
    (CT.replace("boundary=", "bound="), ROOT + b"\r\n--b0--", "BAD_MULTIPART"),
    (CT.replace('"b0"', '"' + "b" * 71 + '"'), ROOT + b"\r\n--b0--", "BAD_MULTIPART"),
    (CT.replace('"b0"', '"b0 "'), ROOT + b"\r\n--b0--", "BAD_MULTIPART"),
    (CT.replace('"b0"', "\"b\u00e40\""), ROOT + b"\r\n--b0--", "BAD_MULTIPART"),
    (CT, b"--b1\r\n" + ROOT[6:] + b"\r\n--b1--", "BAD_MULTIPART"),               # other boundary
    (CT, b"x" * 17_000 + b"\r\n" + ROOT + b"\r\n--b0--", "BAD_MULTIPART"),       # endless preamble
    (CT, b"--b0--\r\n", "BAD_MULTIPART"),                                       # no parts
    (CT, ROOT.replace(b"--b0\r\n", b"--b0junk\r\n") + b"\r\n--b0--", "BAD_MULTIPART"),
    (CT, ROOT.replace(b"\r\n\r\n", b"\r\n") + b"\r\n--b0--", "BAD_MULTIPART"),   # headers never end
    (CT, ROOT.replace(b"Content-ID:", b"Content ID:") + b"\r\n--b0--", "BAD_MULTIPART"),
    (CT, ROOT.replace(b"Content-Type:", b" Content-Type:") + b"\r\n--b0--", "BAD_MULTIPART"),
    (CT, ROOT.replace(b"\r\n\r\n", b"\r\nContent-ID: <r2@x>\r\n\r\n") + b"\r\n--b0--", "BAD_MULTIPART"),
    (CT, ROOT.replace(b"\r\n\r\n", b"\r\n" + b"X-Pad: " + b"x" * 17000 + b"\r\n\r\n") + b"\r\n--b0--",
     "BAD_MULTIPART"),
    (CT, ROOT + b"\r\n--b0" + b" " * 20000 + b"\r\n", "BAD_MULTIPART"),          # endless padding
    (CT.replace("<root@x>", "<nope@x>"), ROOT + b"\r\n--b0--", "ROOT_PART_NOT_FIRST"),
    (CT, ROOT.replace(b"application/xop+xml", b"application/octet-stream") + b"\r\n--b0--",
     "BAD_ROOT_PART"),
    (CT, ROOT + b"\r\n--b0\r\nContent-ID: <a@x>\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==\r\n--b0--",
     "UNSUPPORTED_TRANSFER_ENCODING"),
    (CT.replace("application/xop+xml", "text/xml"), ROOT + b"\r\n--b0--", "UNSUPPORTED_MEDIA_TYPE"),
    (CT.replace("boundary=\"b0\"", "boundary*=utf-8''b0"), ROOT + b"\r\n--b0--", None),  # RFC 2231: fine
], ids=["cut", "unclosed", "no-boundary", "long-boundary", "boundary-ends-in-space",
        "non-ascii-boundary", "other-boundary", "endless-preamble", "no-parts", "junk-after-boundary",
        "headers-never-end", "bad-header-name", "first-header-folded", "two-content-ids",
        "huge-headers", "endless-padding", "start-not-found", "root-not-xml", "base64-part",
        "swa-not-mtom", "rfc2231-boundary"])
def test_malformed_bodies_are_client_faults(tmp_path, content_type, body, code):
    if code is None:
        with parse(content_type, body, tmp_path) as message:
            assert message.envelope == ENVELOPE
        return
    assert refused(content_type, body, tmp_path).code == code


def test_a_refused_request_leaves_no_spool_file_even_midway(tmp_path):
    body = (ROOT + b"\r\n--b0\r\nContent-ID: <a@x>\r\n\r\n" + b"A" * 200_000
            + b"\r\n--b0\r\nContent-ID: <a@x>\r\n\r\nB")
    refused(CT, body, tmp_path, faults.AttachmentContentMiscoordination)
    refused(CT, body[:-100], tmp_path, faults.MalformedRequest, length=False)


def test_content_id_and_cid_url_forms():
    assert content_id(" <a@x> ") == "a@x" and content_id("a@x") == "a@x"
    assert cid_url("cid:a%2540b@x") == "a%40b@x"  # RFC 2392: the URL is the encoded Content-ID
    assert cid_url("CID:foo4*foo1@bar.net") == "foo4*foo1@bar.net"
    assert cid_url("cid:%D0%B4@x") == "\xd0\xb4@x"  # octets, as headers are read (latin-1)
    assert cid_url("http://example.org/a") is None and cid_url("a@x") is None
    assert is_mtom('Multipart/Related; boundary="x"') and not is_mtom("text/xml")
