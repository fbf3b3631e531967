"""``POST /api/v1/validate``: the QA kit's validator over HTTP (gateway/qa/engine.py).

The body is one XML document (``text/xml``, ``application/xml``, ``application/soap+xml``) or
``multipart/form-data`` with many (each part a file). The answer is a JSON report per document,
with the codes of ``gateway validate``. Nothing is stored and nothing is queued: the engine reads
the document, the XSDs and the trust anchors the gateway itself uses.

Access as for the rest of ``/api/v1``: ``Authorization: Bearer <token>`` of an information system
(``gateway is token``, gateway/http/history.py). ``GATEWAY_VALIDATE_OPEN_ON_LOOPBACK=true`` lets
requests from 127.0.0.1/::1 in without a token (a demo on one machine; never behind a proxy,
where every request comes from loopback). docs/qa.md says the same.
"""
from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP

from gateway.http import access
from gateway.http.history import HistoryError
from gateway.qa import report as reports
from gateway.qa.engine import Validator

MAX_FILES = 1000
_XML_TYPES = {"text/xml", "application/xml", "application/soap+xml"}
_LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def authorized(engine, settings, environ) -> None:
    """Raise HistoryError 401/403 unless the request carries a key with the ``validate`` scope
    (docs/integration.md), or may go without one (loopback, when configured)."""
    if settings.validate_open_on_loopback and environ.get("REMOTE_ADDR") in _LOOPBACK:
        return
    try:
        access.system(engine, environ.get("HTTP_AUTHORIZATION"), "validate")
    except access.Denied as exc:
        raise HistoryError(exc.status, exc.message) from None


def documents(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """(name, bytes) of each document in the body; HistoryError 400/415 when there are none."""
    media = content_type.split(";")[0].strip().lower()
    if media in _XML_TYPES:
        return [("body", body)]
    if media != "multipart/form-data":
        raise HistoryError(415, "send an XML document (text/xml, application/xml, "
                                "application/soap+xml) or multipart/form-data with files")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise HistoryError(400, "the multipart body has no boundary or no parts")
    found = []
    for index, part in enumerate(message.iter_parts(), 1):
        name = part.get_filename() or part.get_param("name", header="content-disposition") or f"part-{index}"
        found.append((str(name), part.get_payload(decode=True) or b""))
        if len(found) > MAX_FILES:
            raise HistoryError(413, f"at most {MAX_FILES} files per request")
    if not found:
        raise HistoryError(400, "the multipart body holds no file")
    return found


def handle(engine, settings, validator: Validator, environ, body: bytes) -> tuple[int, str, bytes]:
    """The whole endpoint: (HTTP status, content type, body)."""
    try:
        authorized(engine, settings, environ)
        found = [validator.validate(data, name)
                 for name, data in documents(environ.get("CONTENT_TYPE", ""), body)]
    except HistoryError as exc:
        return exc.status, "application/json", json.dumps({"error": exc.message},
                                                           ensure_ascii=False).encode("utf-8")
    return 200, "application/json", reports.as_json(found).encode("utf-8")
