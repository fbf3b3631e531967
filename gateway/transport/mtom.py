"""MTOM/XOP requests (SOAP with attachments as MIME parts), read as a stream.

The root part (the envelope) is kept in memory under the envelope size cap; every other part
is written to a spool file while its SHA-256 and size are computed in the same pass, so an
attachment is never held in memory, let alone twice. Limits: total attachment bytes
(``AttachmentSizeLimitExceeded``) and number of parts.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from email.message import Message
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from gateway import faults
from gateway.faults import MalformedRequest

CHUNK = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024


@dataclasses.dataclass(frozen=True)
class Attachment:
    content_id: str
    content_type: str
    size: int
    sha256_hex: str
    path: Path


@dataclasses.dataclass
class MtomMessage:
    envelope: bytes
    soap_version: str
    parts: dict[str, Attachment]

    def cleanup(self) -> None:
        for part in self.parts.values():
            try:
                part.path.unlink()
            except FileNotFoundError:
                pass


def _params(content_type: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["content-type"] = content_type
    return message.get_content_type(), {k.lower(): v for k, v in message.get_params()[1:]}


def _cid(value: str) -> str:
    """A Content-ID or a ``cid:`` URL as one canonical key (RFC 2392: cid URLs are %-encoded)."""
    value = value.strip()
    if value.lower().startswith("cid:"):
        value = unquote(value[4:])
    return value.strip().strip("<>").strip()


def is_mtom(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "multipart/related"


def parse_mtom(stream: BinaryIO, content_type: str, length: int | None, *, max_envelope_bytes: int,
               max_attachment_bytes: int, max_parts: int, spool_dir: Path) -> MtomMessage:
    media, params = _params(content_type)
    boundary = params.get("boundary")
    if media != "multipart/related" or not boundary or len(boundary) > 200:
        raise MalformedRequest("multipart/related needs a boundary parameter", code="BAD_MULTIPART")
    start = _cid(params["start"]) if params.get("start") else None
    start_info = (params.get("start-info") or "").lower()
    soap_version = faults.SOAP12 if "soap+xml" in start_info else faults.SOAP11
    spool_dir.mkdir(parents=True, exist_ok=True)

    reader = _Reader(stream, length)
    delimiter = b"--" + boundary.encode("latin-1")
    reader.skip_preamble(delimiter)
    envelope: bytes | None = None
    parts: dict[str, Attachment] = {}
    total = 0
    count = 0
    result = MtomMessage(b"", soap_version, parts)
    try:
        while True:
            headers = reader.headers()
            count += 1
            if count > max_parts + 1:
                raise MalformedRequest(f"more than {max_parts} attachment parts", code="TOO_MANY_PARTS")
            cid = _cid(headers.get("content-id", ""))
            is_root = envelope is None and (start is None or cid == start)
            if is_root:
                chunks, size = [], 0
                for chunk in reader.body(b"\r\n" + delimiter):
                    size += len(chunk)
                    if size > max_envelope_bytes:
                        raise faults.RequestTooLarge(f"the envelope part is larger than {max_envelope_bytes} bytes")
                    chunks.append(chunk)
                envelope = b"".join(chunks)
            else:
                if not cid:
                    raise faults.AttachmentContentMiscoordination("an attachment part has no Content-ID",
                                                                  code="PART_WITHOUT_CONTENT_ID")
                if cid in parts:
                    raise faults.AttachmentContentMiscoordination(f"two parts have Content-ID {cid}",
                                                                  code="DUPLICATE_CONTENT_ID")
                digest, size = hashlib.sha256(), 0
                fd, name = tempfile.mkstemp(prefix="part-", dir=spool_dir)
                path = Path(name)
                parts[cid] = Attachment(cid, headers.get("content-type", "application/octet-stream"),
                                        0, "", path)
                with os.fdopen(fd, "wb") as out:
                    for chunk in reader.body(b"\r\n" + delimiter):
                        size += len(chunk)
                        if total + size > max_attachment_bytes:
                            raise faults.AttachmentSizeLimitExceeded(
                                f"attachments exceed {max_attachment_bytes} bytes",
                                code="ATTACHMENT_SIZE_LIMIT_EXCEEDED",
                                fields=[("PermittedTotalAttachmentSize", str(max_attachment_bytes)),
                                        ("RealTotalAttachmentSize", str(total + size))])
                        digest.update(chunk)
                        out.write(chunk)
                total += size
                parts[cid] = Attachment(cid, parts[cid].content_type, size, digest.hexdigest(), path)
            if reader.after_delimiter():  # "--": the closing delimiter
                break
        if envelope is None:
            raise MalformedRequest("the multipart request has no root (envelope) part",
                                   code="NO_ROOT_PART")
        result.envelope = envelope
        return result
    except BaseException:
        result.cleanup()
        raise


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

    def skip_preamble(self, delimiter: bytes) -> None:
        while True:
            at = self.buffer.find(delimiter)
            if at >= 0 and (at == 0 or self.buffer[at - 2:at] == b"\r\n"):
                self.buffer = self.buffer[at + len(delimiter):]
                self._line_end()
                return
            if len(self.buffer) > MAX_HEADER_BYTES or not self._fill():
                raise MalformedRequest("no multipart boundary found", code="BAD_MULTIPART")

    def _line_end(self) -> None:
        while len(self.buffer) < 2 and self._fill():
            pass
        if self.buffer.startswith(b"\r\n"):
            self.buffer = self.buffer[2:]
        else:
            raise MalformedRequest("malformed multipart boundary line", code="BAD_MULTIPART")

    def headers(self) -> dict[str, str]:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEADER_BYTES or not self._fill():
                raise MalformedRequest("malformed multipart part headers", code="BAD_MULTIPART")
        raw, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        headers = {}
        for line in raw.decode("latin-1").split("\r\n"):
            if ":" not in line:
                raise MalformedRequest("malformed multipart part header", code="BAD_MULTIPART")
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        return headers

    def body(self, delimiter: bytes):
        """Yield the part's bytes up to (not including) ``delimiter``; consume the delimiter."""
        while True:
            at = self.buffer.find(delimiter)
            if at >= 0:
                if at:
                    yield self.buffer[:at]
                self.buffer = self.buffer[at + len(delimiter):]
                return
            keep = len(delimiter) - 1
            if len(self.buffer) > keep:
                yield self.buffer[:-keep]
                self.buffer = self.buffer[-keep:]
            if not self._fill():
                raise MalformedRequest("the multipart body ends inside a part", code="BAD_MULTIPART")

    def after_delimiter(self) -> bool:
        """After a delimiter: True for the closing one (``--``), False before the next part."""
        while len(self.buffer) < 2 and self._fill():
            pass
        if self.buffer.startswith(b"--"):
            return True
        self._line_end()
        return False
