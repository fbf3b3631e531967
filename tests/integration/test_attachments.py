"""Attachments over HTTP: MTOM/XOP parts and inline base64, checked against the signed headers,
kept with their digests, delivered to the provider; size limit, quota and every mismatch."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import time
import uuid
from urllib.parse import unquote

import pytest
import requests
from lxml import etree
from sqlalchemy import select

from conftest import serve_wsgi
from envelopes import build
from envelopes.client import parse_fault
from envelopes.mtom import File, multipart, send_request_with_files
from gateway.pipeline.participants import SEND, SERVE, add_system, grant
from gateway.ops.setup import open_pki
from gateway.storage.schema import attachments
from support import T, B, ok, taken

NS = "urn://test/documents/1.0"
XOP = "http://www.w3.org/2004/08/xop/include"


def payload():
    element = etree.Element(f"{{{NS}}}Documents")
    element.text = "see attachments"
    return element


@pytest.fixture(scope="module")
def archive(demo_settings, engine):
    """An external provider ARCHIVE serving NS; ROMASHKA may send it."""
    pki = open_pki(demo_settings)
    issued = pki.issue(f"archive-{uuid.uuid4().hex[:6]}", common_name="ARCHIVE", key_type="ec-p256")
    add_system(engine, "ARCHIVE", "Archive", [issued.certificate])
    grant(engine, "ARCHIVE", SERVE, NS)
    grant(engine, "ROMASHKA", SEND, NS)
    return issued.private_key, issued.certificate, tuple(pki.intermediates())


@pytest.fixture(scope="module")
def url(demo_settings, engine, archive):
    from gateway.wiring import build_app

    settings = dataclasses.replace(demo_settings, max_attachment_bytes=3 * 1024 * 1024,
                                   attachment_quota_bytes_per_day=8 * 1024 * 1024,
                                   visibility_timeout_seconds=1)
    server, base = serve_wsgi(build_app(settings, engine=engine))
    yield f"{base}/ws"
    server.shutdown()


def post(url, content_type, body):
    reply = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=60)
    return reply, etree.fromstring(reply.content)


def fault_of(url, content_type, body):
    reply, root = post(url, content_type, body)
    found = parse_fault(reply.status_code, root)
    assert found is not None, reply.text[:500]
    return found


FILES = [File("doc1", "application/pdf", os.urandom(300_000)),
         File("scan2", "image/png", b"\x89PNG" + os.urandom(1000))]


@pytest.mark.parametrize("inline", [False, True], ids=["mtom", "inline"])
def test_files_are_kept_and_delivered_to_the_provider(url, demo_client, archive, engine, inline):
    key, cert, chain = demo_client
    message_id = build.new_message_id()
    content_type, body = send_request_with_files(payload(), FILES, key, cert, extra_certificates=chain,
                                                 message_id=message_id, inline=inline)
    reply, root = post(url, content_type, body)
    assert reply.status_code == 200, reply.text[:500]
    with engine.connect() as conn:
        rows = conn.execute(select(attachments).where(attachments.c.message_id == message_id)
                            .order_by(attachments.c.id)).all()
    assert [(r.attachment_id, r.mime_type, r.size, r.sha256) for r in rows] == [
        (f.attachment_id, f.mime_type, len(f.data), hashlib.sha256(f.data).hexdigest()) for f in FILES]

    ak, ac, achain = archive
    answer = ok(url, build.get_request(ak, ac, extra_certificates=achain))
    inner, data = taken(answer, "Request")  # the SMEVSignature still verifies with files added
    assert data.findtext(f"{{{T}}}MessageID") == message_id
    delivered = {c.findtext(f"{{{B}}}Id"): base64.b64decode(c.findtext(f"{{{B}}}Content"))
                 for c in answer.iter(f"{{{B}}}AttachmentContent")}
    assert delivered == {f.attachment_id: f.data for f in FILES}
    ok(url, build.ack(message_id, ak, ac, extra_certificates=achain))


def test_too_large_attachments(url, demo_client):
    key, cert, chain = demo_client
    big = [File("big", "application/octet-stream", b"\0" * (3 * 1024 * 1024 + 1))]
    for inline in (False, True):
        f = fault_of(url, *send_request_with_files(payload(), big, key, cert,
                                                   extra_certificates=chain, inline=inline))
        assert f.element == "AttachmentSizeLimitExceeded", inline


@pytest.mark.parametrize("announced", [
    [FILES[0]],                                            # a file nobody announced
    FILES + [File("ghost", "text/plain", b"")],            # an announced file that is missing
    [dataclasses.replace(FILES[0], mime_type="text/plain"), FILES[1]],  # another type
], ids=["content-without-header", "header-without-content", "mime-type"])
def test_headers_and_contents_must_agree(url, demo_client, announced):
    key, cert, chain = demo_client
    f = fault_of(url, *send_request_with_files(payload(), FILES, key, cert, extra_certificates=chain,
                                               header_files=announced))
    assert f.element == "AttachmentContentMiscoordination"


def test_unreferenced_or_missing_mime_parts(url, demo_client):
    key, cert, chain = demo_client
    content_type, body = send_request_with_files(payload(), FILES[:1], key, cert,
                                                 extra_certificates=chain)
    envelope = body.split(b"\r\n\r\n", 1)[1].split(b"\r\n--MIMEBoundary", 1)[0]
    extra = multipart(envelope, [("stray@x", "text/plain", b"x")])  # the referenced part is gone
    assert fault_of(url, *extra).element == "AttachmentContentMiscoordination"


def test_daily_quota(url, demo_settings, engine):
    """A sender with 8 MiB a day: the fourth 2.5 MiB message is refused."""
    pki = open_pki(demo_settings)
    issued = pki.issue(f"quota-{uuid.uuid4().hex[:6]}", common_name="QUOTA", key_type="ec-p256")
    add_system(engine, "QUOTA", "Quota tester", [issued.certificate])
    grant(engine, "QUOTA", SEND, NS)
    chain = tuple(pki.intermediates())
    chunk = [File("part", "application/octet-stream", os.urandom(int(2.5 * 1024 * 1024)))]
    for _ in range(3):
        reply, _ = post(url, *send_request_with_files(payload(), chunk, issued.private_key,
                                                      issued.certificate, extra_certificates=chain))
        assert reply.status_code == 200, reply.text[:300]
    f = fault_of(url, *send_request_with_files(payload(), chunk, issued.private_key,
                                               issued.certificate, extra_certificates=chain))
    assert f.element == "QuoteLimitExceeded"


def _get_request_raw(url, archive):
    ak, ac, achain = archive
    body = build.get_request(ak, ac, extra_certificates=achain)
    return requests.post(url, data=body, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=60)


def _drain(url, archive):
    ak, ac, achain = archive
    while (got := taken(ok(url, build.get_request(ak, ac, extra_certificates=achain)), "Request")):
        ok(url, build.ack(got[1].findtext(f"{{{T}}}MessageID"), ak, ac, extra_certificates=achain))


def _send_files(url, demo_client):
    key, cert, chain = demo_client
    message_id = build.new_message_id()
    reply, _ = post(url, *send_request_with_files(payload(), FILES, key, cert, extra_certificates=chain,
                                                  message_id=message_id))
    assert reply.status_code == 200, reply.text[:500]
    return message_id


def test_files_are_delivered_as_mtom_parts_and_again_the_same_way(url, demo_client, archive, tmp_path):
    """GetRequest answers with multipart/related: the envelope names each part with xop:Include,
    the parts hold the files' bytes as sent, the length is declared. Read back with the gateway's
    own strict MTOM reader. A redelivery (no Ack) carries the same envelope and Content-IDs."""
    from gateway.http.mtom import parse_mtom

    _drain(url, archive)
    message_id = _send_files(url, demo_client)
    envelopes = []
    for _ in range(2):
        reply = _get_request_raw(url, archive)
        assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("multipart/related")
        assert 'start-info="text/xml"' in reply.headers["Content-Type"]
        assert int(reply.headers["Content-Length"]) == len(reply.content)
        message = parse_mtom(io.BytesIO(reply.content), reply.headers["Content-Type"], len(reply.content),
                             max_envelope_bytes=10 ** 7, max_attachment_bytes=10 ** 8, max_parts=10,
                             spool_dir=tmp_path)
        try:
            root = etree.fromstring(message.envelope)
            taken(root, "Request")  # both signatures verify with the parts outside them
            contents = root.findall(f".//{{{B}}}AttachmentContent")
            hrefs = [c.find(f"{{{B}}}Content/{{{XOP}}}Include").get("href") for c in contents]
            got = {c.findtext(f"{{{B}}}Id"): message.parts[unquote(h[4:])].path.read_bytes()
                   for c, h in zip(contents, hrefs)}
            assert got == {f.attachment_id: f.data for f in FILES}
            assert root.findtext(f".//{{{T}}}MessageID") == message_id
            envelopes.append(message.envelope)
        finally:
            message.cleanup()
        time.sleep(1.1)  # the visibility timeout below passes
    assert envelopes[0] == envelopes[1]


def test_inline_delivery_can_be_configured(demo_settings, engine, demo_client, archive):
    from gateway.wiring import build_app

    settings = dataclasses.replace(demo_settings, attachment_delivery="inline")
    server, base = serve_wsgi(build_app(settings, engine=engine))
    try:
        url = f"{base}/ws"
        _drain(url, archive)
        _send_files(url, demo_client)
        reply = _get_request_raw(url, archive)
        assert reply.headers["Content-Type"].startswith("text/xml")
        root = etree.fromstring(reply.content)
        assert {c.findtext(f"{{{B}}}Id"): base64.b64decode(c.findtext(f"{{{B}}}Content"))
                for c in root.iter(f"{{{B}}}AttachmentContent")} == {f.attachment_id: f.data for f in FILES}
    finally:
        server.shutdown()
