"""MTOM/XOP requests (SOAP with attachments as MIME parts), read as a stream.

The root part (the envelope) is kept in memory under the envelope size cap; every other part
is written to a spool file while its SHA-256 and size are computed in the same pass, so an
attachment is never held in memory, let alone twice. Limits: total attachment bytes
(``AttachmentSizeLimitExceeded``), number of parts, bytes of part headers and of the preamble.

The reader is strict where leniency would be ambiguous (CRLF line ends, one Content-ID per
part, unique Content-IDs, no transfer encodings that would change the bytes) and lenient where
the RFCs are (transport padding after a delimiter, folded headers, preamble and epilogue).
No multipart library in the environment streams to disk (the stdlib ``email`` parser holds the
whole message), hence this small reader.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import re
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from gateway import faults
from gateway.faults import MalformedRequest
from gateway.pipeline.parts import Attachment, MtomMessage, cid_url  # noqa: F401 (the reader's types)

CHUNK = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024  # the headers of one part, and the preamble before the first part
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")  # RFC 2046
_IDENTITY_ENCODINGS = {"", "binary", "8bit", "7bit"}  # MTOM parts travel as raw octets
_ROOT_TYPES = {"application/xop+xml", "text/xml", "application/soap+xml"}


def _params(content_type: str) -> tuple[str, dict[str, str]]:
    """Media type and parameters (quotes removed, RFC 2231 values collapsed to text)."""
    message = Message()
    try:
        message["content-type"] = content_type
        params = message.get_params()[1:]
    except (ValueError, TypeError):
        raise MalformedRequest("a Content-Type header is malformed", code="BAD_MULTIPART") from None
    return message.get_content_type(), {
        k.lower(): collapse_rfc2231_value(v) if isinstance(v, tuple) else v for k, v in params if k}


def content_id(header: str) -> str:
    """A ``Content-ID`` header value (``<id>``, RFC 2045 §7) as the key of its part."""
    value = header.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value


def is_mtom(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "multipart/related"


def _soap_version(start_info: str) -> str:
    return faults.SOAP12 if start_info.split(";")[0].strip().lower() == "application/soap+xml" \
        else faults.SOAP11


def _too_large(permitted: int, seen: int) -> faults.GatewayFault:
    # Reading stops at the limit: the real total is at least ``seen``.
    return faults.AttachmentSizeLimitExceeded(
        f"the attachments exceed {permitted} bytes (at least {seen} bytes were sent)",
        code="ATTACHMENT_SIZE_LIMIT_EXCEEDED",
        fields=[("PermittedTotalAttachmentSize", str(permitted)),
                ("RealTotalAttachmentSize", str(seen))])


def parse_mtom(stream: BinaryIO, content_type: str, length: int | None = None, *,
               max_envelope_bytes: int, max_attachment_bytes: int, max_parts: int,
               spool_dir: Path, check_root: Callable[[bytes], None] | None = None) -> MtomMessage:
    """Read a ``multipart/related`` body from ``stream`` (at most ``length`` bytes if given).

    The root part (the envelope) must come first, and ``check_root`` sees it before any
    attachment part is read: a sender the gateway does not know is refused before it can make
    the gateway hash and store a hundred megabytes.

    Raises ``MalformedRequest`` (400) for a body that is not a sound multipart, ``RequestTooLarge``
    (413) for an envelope over ``max_envelope_bytes`` or more than ``max_parts`` attachment parts,
    ``AttachmentSizeLimitExceeded`` once the attachment bytes pass ``max_attachment_bytes``, and
    ``AttachmentContentMiscoordination`` for a part without, or with a duplicate, Content-ID.
    No spool file is left behind when it raises.
    """
    media, params = _params(content_type)
    boundary = params.get("boundary") or ""
    if media != "multipart/related" or not _BOUNDARY.fullmatch(boundary):
        raise MalformedRequest("multipart/related needs a boundary parameter of 1 to 70 characters "
                               "(RFC 2046)", code="BAD_MULTIPART")
    kind = (params.get("type") or "application/xop+xml").strip().lower()
    if kind != "application/xop+xml":
        raise faults.UnsupportedMediaType(
            f"multipart/related of type {kind[:80]} is not MTOM: use type=\"application/xop+xml\"")
    start = content_id(params["start"]) if params.get("start") else None
    soap_version = _soap_version(params.get("start-info") or "")
    spool_dir.mkdir(parents=True, exist_ok=True)

    delimiter = b"--" + boundary.encode("ascii")
    reader = _Reader(stream, length)
    reader.skip_preamble(delimiter)
    message = MtomMessage(b"", soap_version, {})
    envelope: bytes | None = None
    root_cid: str | None = None
    total = 0
    try:
        while True:
            headers = reader.headers()
            cid = content_id(headers.get("content-id", ""))
            if cid and (cid == root_cid or cid in message.parts):
                raise faults.AttachmentContentMiscoordination(
                    f"two parts have Content-ID <{cid[:100]}>", code="DUPLICATE_CONTENT_ID")
            encoding = headers.get("content-transfer-encoding", "").strip().lower()
            if encoding not in _IDENTITY_ENCODINGS:
                raise MalformedRequest(f"Content-Transfer-Encoding {encoding[:40]} is not supported: MTOM "
                                       "parts travel as binary", code="UNSUPPORTED_TRANSFER_ENCODING")
            if envelope is None and start is not None and cid != start:
                raise MalformedRequest("the root part (the envelope) must be the first part",
                                       code="ROOT_PART_NOT_FIRST")
            if envelope is None:
                root_type, root_params = _params(headers.get("content-type", "text/xml"))
                if root_type not in _ROOT_TYPES:
                    raise MalformedRequest(f"the root part is {root_type[:80]}, not application/xop+xml",
                                           code="BAD_ROOT_PART")
                if root_type == "application/soap+xml" or root_params.get("type"):
                    soap_version = _soap_version(root_params.get("type") or root_type)
                envelope, root_cid = _read_root(reader, delimiter, max_envelope_bytes), cid
                if check_root is not None:
                    check_root(envelope)
            else:
                if not cid:
                    raise faults.AttachmentContentMiscoordination(
                        "an attachment part has no Content-ID", code="PART_WITHOUT_CONTENT_ID")
                if len(message.parts) >= max_parts:
                    raise faults.RequestTooLarge(f"more than {max_parts} attachment parts",
                                                 code="TOO_MANY_PARTS")
                total = _spool(reader, delimiter, message, cid,
                               headers.get("content-type") or "application/octet-stream",
                               spool_dir, total, max_attachment_bytes)
            if reader.after_delimiter():  # "--": the closing delimiter; the epilogue is ignored
                break
        if envelope is None:
            raise MalformedRequest(f"no part has the start Content-ID <{start[:100]}>" if start else
                                   "the multipart request has no root (envelope) part",
                                   code="NO_ROOT_PART")
        message.envelope, message.soap_version = envelope, soap_version
        return message
    except BaseException:
        message.cleanup()
        raise


def _read_root(reader: "_Reader", delimiter: bytes, limit: int) -> bytes:
    chunks, size = [], 0
    for chunk in reader.body(delimiter):
        size += len(chunk)
        if size > limit:
            raise faults.RequestTooLarge(f"the envelope part is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _spool(reader: "_Reader", delimiter: bytes, message: MtomMessage, cid: str, content_type: str,
           spool_dir: Path, total: int, limit: int) -> int:
    """Write one part to a spool file, hashing it on the way; returns the new running total.
    The part is registered before the first byte is written, so cleanup() always finds it."""
    fd, name = tempfile.mkstemp(prefix="part-", dir=spool_dir)  # mode 0600
    path = Path(name)
    message.parts[cid] = Attachment(cid, content_type, 0, "", path)
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out:
        for chunk in reader.body(delimiter):
            size += len(chunk)
            if total + size > limit:
                raise _too_large(limit, total + size)
            digest.update(chunk)
            out.write(chunk)
    message.parts[cid] = Attachment(cid, content_type, size, digest.hexdigest(), path)
    return total + size


class _Reader:
    """A byte stream with look-ahead, bounded by Content-Length when there is one."""

    def __init__(self, stream: BinaryIO, length: int | None):
        self.stream = stream
        self.remaining = length
        self.buffer = b""
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        size = CHUNK if self.remaining is None else min(CHUNK, self.remaining)
        data = self.stream.read(size) if size else b""
        if not data:
            self.eof = True
            return False
        if self.remaining is not None:
            self.remaining -= len(data)
        self.buffer += data
        return True

    def _need(self, count: int) -> None:
        while len(self.buffer) < count and self._fill():
            pass

    def skip_preamble(self, delimiter: bytes) -> None:
        """Skip to just after the first delimiter line (at the start or after a CRLF)."""
        searched = 0
        while True:
            at = self.buffer.find(delimiter, searched)
            while at > 0 and self.buffer[at - 2:at] != b"\r\n":
                at = self.buffer.find(delimiter, at + 1)
            if at > MAX_HEADER_BYTES:
                break
            if at >= 0:
                self.buffer = self.buffer[at + len(delimiter):]
                self._need(2)
                if self.buffer.startswith(b"--"):
                    raise MalformedRequest("the multipart body has no parts", code="BAD_MULTIPART")
                self._line_end()
                return
            searched = max(0, len(self.buffer) - len(delimiter) - 2)
            if len(self.buffer) > MAX_HEADER_BYTES or not self._fill():
                break
        raise MalformedRequest("the first multipart boundary was not found in the first "
                               f"{MAX_HEADER_BYTES} bytes", code="BAD_MULTIPART")

    def _line_end(self) -> None:
        """The rest of a delimiter line: optional transport padding (RFC 2046), then CRLF."""
        padding = 0
        while padding <= MAX_HEADER_BYTES:
            self._need(2)
            stripped = self.buffer.lstrip(b" \t")
            if len(stripped) != len(self.buffer):
                padding += len(self.buffer) - len(stripped)
                self.buffer = stripped
                continue
            if self.buffer.startswith(b"\r\n"):
                self.buffer = self.buffer[2:]
                return
            break
        raise MalformedRequest("a multipart delimiter line does not end with CRLF",
                               code="BAD_MULTIPART")

    def headers(self) -> dict[str, str]:
        """The part's headers by lower-case name; folded lines joined (RFC 5322 §2.2.3)."""
        self._need(2)
        if self.buffer.startswith(b"\r\n"):  # a part without headers
            self.buffer = self.buffer[2:]
            return {}
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEADER_BYTES or not self._fill():
                raise MalformedRequest("the headers of a multipart part do not end",
                                       code="BAD_MULTIPART")
        if end > MAX_HEADER_BYTES:
            raise MalformedRequest("the headers of a multipart part are too long", code="BAD_MULTIPART")
        raw, self.buffer = self.buffer[:end], self.buffer[end + 4:]
        lines: list[str] = []
        for line in raw.decode("latin-1").split("\r\n"):
            if line[:1] in (" ", "\t") and lines:
                lines[-1] += " " + line.strip()
            else:
                lines.append(line)
        headers: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(":")
            name = name.rstrip(" \t").lower()
            if not colon or not name or any(c in name for c in " \t\r\n"):
                raise MalformedRequest("a multipart part header is malformed", code="BAD_MULTIPART")
            if name in headers and name.startswith("content-"):
                raise MalformedRequest(f"a multipart part has two {name} headers",
                                       code="BAD_MULTIPART")
            headers[name] = value.strip()
        return headers

    def body(self, boundary: bytes) -> Iterator[bytes]:
        """Yield the part's bytes up to (not including) the CRLF before the next delimiter, and
        consume that delimiter. Keeps at most one chunk plus the delimiter's length buffered."""
        delimiter = b"\r\n" + boundary
        keep = len(delimiter) - 1
        while True:
            at = self.buffer.find(delimiter)
            if at >= 0:
                if at:
                    yield self.buffer[:at]
                self.buffer = self.buffer[at + len(delimiter):]
                return
            if len(self.buffer) > keep:
                yield self.buffer[:-keep]
                self.buffer = self.buffer[-keep:]
            if not self._fill():
                raise MalformedRequest("the multipart body ends inside a part", code="BAD_MULTIPART")

    def after_delimiter(self) -> bool:
        """After a delimiter: True for the closing one (``--``), False before the next part."""
        self._need(2)
        if self.buffer.startswith(b"--"):
            return True
        self._line_end()
        return False
