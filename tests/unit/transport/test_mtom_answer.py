"""MTOM answers (gateway/http/mtom_answer.py): read back by the gateway's strict reader."""
from __future__ import annotations

import io

import pytest

from gateway.faults import SOAP11, SOAP12
from gateway.http.mtom import parse_mtom
from gateway.http.mtom_answer import multipart
from gateway.pipeline.answer import OutgoingPart, content_id


def _part(tmp_path, name: str, data: bytes, mime="application/octet-stream", index=0):
    path = tmp_path / name
    path.write_bytes(data)
    return OutgoingPart(content_id("msg-1", index), mime, path, len(data))


@pytest.mark.parametrize("version", [SOAP11, SOAP12])
def test_the_soap_version_is_announced(tmp_path, version):
    content_type, length, chunks = multipart(b"<x/>", version, (_part(tmp_path, "a", b"1"),))
    spool = tmp_path / "spool"
    spool.mkdir()
    message = parse_mtom(io.BytesIO(b"".join(chunks)), content_type, length, max_envelope_bytes=100,
                         max_attachment_bytes=100, max_parts=5, spool_dir=spool)
    assert message.soap_version == version
    message.cleanup()


def test_the_answer_reads_back_part_for_part(tmp_path):
    parts = (_part(tmp_path, "a", b"\r\n--not-a-boundary\r\n" * 5000, "application/pdf"),
             _part(tmp_path, "b", b"", "text/plain", 1))
    envelope = b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'/>"
    content_type, length, chunks = multipart(envelope, SOAP11, parts)
    body = b"".join(chunks)
    assert len(body) == length
    spool = tmp_path / "spool"
    spool.mkdir()
    message = parse_mtom(io.BytesIO(body), content_type, length, max_envelope_bytes=10 ** 6,
                         max_attachment_bytes=10 ** 7, max_parts=5, spool_dir=spool)
    assert message.envelope == envelope
    assert {cid: (p.content_type, p.path.read_bytes()) for cid, p in message.parts.items()} == {
        parts[0].content_id: ("application/pdf", parts[0].path.read_bytes()),
        parts[1].content_id: ("text/plain", b"")}
    message.cleanup()


def test_content_ids_are_stable_and_distinct():
    assert content_id("m", 0) == content_id("m", 0) != content_id("m", 1) != content_id("n", 1)


def test_a_file_that_changed_in_the_store_fails_before_anything_is_sent(tmp_path):
    part = _part(tmp_path, "a", b"12345")
    part.path.write_bytes(b"1234")
    with pytest.raises(OSError):
        multipart(b"<x/>", SOAP11, (part,))


def test_a_media_type_cannot_inject_part_headers(tmp_path):
    part = _part(tmp_path, "a", b"1", "text/plain\r\nContent-ID: <evil@x>")
    _, _, chunks = multipart(b"<x/>", SOAP11, (part,))
    body = b"".join(chunks)
    assert b"evil@x" not in body and b"Content-Type: application/octet-stream\r\n" in body
