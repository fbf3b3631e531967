"""The streaming MTOM reader: bounded memory, limits, malformed bodies, Content-IDs."""
import hashlib
import io
import tracemalloc

import pytest

from envelopes.mtom import multipart
from gateway import faults
from gateway.transport.mtom import parse_mtom

ENVELOPE = b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body/></s:Envelope>"


def parse(content_type, body, tmp_path, **limits):
    options = dict(max_envelope_bytes=1 << 20, max_attachment_bytes=1 << 30, max_parts=10,
                   spool_dir=tmp_path)
    options.update(limits)
    return parse_mtom(io.BytesIO(body), content_type, len(body), **options)


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


def test_a_50_mb_attachment_streams_with_bounded_memory(tmp_path):
    content_type, small = multipart(ENVELOPE, [("big@x", "application/octet-stream", b"")])
    head, tail = small.split(b"Content-ID: <big@x>\r\n\r\n")
    size = 50 * 1024 * 1024
    stream = io.BufferedReader(Generated(head + b"Content-ID: <big@x>\r\n\r\n", size, tail))
    tracemalloc.start()
    message = parse_mtom(stream, content_type, None, max_envelope_bytes=1 << 20,
                         max_attachment_bytes=1 << 30, max_parts=10, spool_dir=tmp_path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    part = message.parts["big@x"]
    assert part.size == size and part.path.stat().st_size == size
    assert part.sha256_hex == hashlib.sha256(b"\xab" * size).hexdigest()
    assert peak < 2 * 1024 * 1024, f"peak {peak} bytes"
    assert message.envelope == ENVELOPE
    message.cleanup()
    assert not part.path.exists()


def test_parts_and_percent_encoded_content_ids(tmp_path):
    content_type, body = multipart(ENVELOPE, [("a%40b@x", "text/plain", b"one"), ("c@x", "image/png", b"two")])
    message = parse(content_type, body, tmp_path)
    assert set(message.parts) == {"a%40b@x", "c@x"}
    assert message.parts["c@x"].content_type == "image/png"
    assert message.parts["c@x"].path.read_bytes() == b"two"


def test_size_and_part_limits(tmp_path):
    content_type, body = multipart(ENVELOPE, [("a@x", "text/plain", b"x" * 100)])
    with pytest.raises(faults.AttachmentSizeLimitExceeded) as err:
        parse(content_type, body, tmp_path, max_attachment_bytes=99)
    assert dict(err.value.fields)["RealTotalAttachmentSize"] == "100"
    content_type, body = multipart(ENVELOPE, [(f"p{i}@x", "text/plain", b"x") for i in range(3)])
    with pytest.raises(faults.MalformedRequest):
        parse(content_type, body, tmp_path, max_parts=2)
    assert list(tmp_path.iterdir()) == []  # spool files of a refused request are removed


def test_duplicate_and_missing_content_ids(tmp_path):
    content_type, body = multipart(ENVELOPE, [("a@x", "text/plain", b"1"), ("a@x", "text/plain", b"2")])
    with pytest.raises(faults.AttachmentContentMiscoordination):
        parse(content_type, body, tmp_path)
    content_type, body = multipart(ENVELOPE, [("a@x", "text/plain", b"1")])
    with pytest.raises(faults.AttachmentContentMiscoordination):
        parse(content_type, body.replace(b"Content-ID: <a@x>\r\n", b""), tmp_path)


@pytest.mark.parametrize("mangle", [
    lambda ct, b: (ct, b[: len(b) // 2]),                          # cut inside a part
    lambda ct, b: (ct.replace("boundary=", "bound="), b),           # no boundary parameter
    lambda ct, b: (ct, b.replace(b"\r\n\r\n", b"\r\n", 1)),         # headers never end
    lambda ct, b: (ct.replace('start="<root.message@gateway.example>"', 'start="<nope>"'), b),
])
def test_malformed_bodies_are_client_faults(tmp_path, mangle):
    content_type, body = multipart(ENVELOPE, [("a@x", "text/plain", b"x")])
    with pytest.raises(faults.GatewayFault) as err:
        parse(*mangle(content_type, body), tmp_path)
    assert err.value.client
