"""Attachments inside the envelope: XOP includes resolved to MIME parts, inline base64 decoded,
and both cross-checked with the signed ``AttachmentHeaderList``.

``AttachmentContentList`` travels outside the signed element (MTOM would break the signature
otherwise); what binds the files to the signed request is the header list inside it, so every
content must have exactly one header and every header exactly one content, of the same type.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
import tempfile
from pathlib import Path

from lxml import etree

from envelopes import ns
from gateway import faults
from gateway.transport.mtom import MtomMessage, _cid

B = ns.SMEV_BASIC
INCLUDE = ns.q(ns.XOP, "Include")


@dataclasses.dataclass(frozen=True)
class ReceivedAttachment:
    attachment_id: str  # AttachmentContent/Id = AttachmentHeader/contentId
    content_type: str | None  # of the MIME part (None for inline content)
    size: int
    sha256_hex: str
    path: Path  # spooled file


def _miscoordination(message: str, code: str) -> faults.GatewayFault:
    return faults.AttachmentContentMiscoordination(message, code=code)


def resolve(request: etree._Element, mtom: MtomMessage | None, *, spool_dir: Path,
            max_attachment_bytes: int) -> dict[str, ReceivedAttachment]:
    """Map each ``AttachmentContent`` to its bytes; replace XOP includes by empty content so the
    envelope validates against the contract (an include is not base64Binary)."""
    parts = dict(mtom.parts) if mtom else {}
    used: set[str] = set()
    found: dict[str, ReceivedAttachment] = {}
    total = 0
    content_list = request.find(ns.q(B, "AttachmentContentList"))
    for item in (content_list.findall(ns.q(B, "AttachmentContent")) if content_list is not None else []):
        attachment_id = (item.findtext(ns.q(B, "Id")) or "").strip()
        content = item.find(ns.q(B, "Content"))
        if not attachment_id or content is None:
            continue  # the XSD reports the missing element
        if attachment_id in found:
            raise _miscoordination(f"two AttachmentContent elements have Id {attachment_id}",
                                   "DUPLICATE_ATTACHMENT_ID")
        includes = [c for c in content if isinstance(c.tag, str)]
        if includes:
            if len(includes) != 1 or includes[0].tag != INCLUDE or (content.text or "").strip():
                raise _miscoordination(f"attachment {attachment_id}: Content must hold one xop:Include",
                                       "BAD_XOP_INCLUDE")
            cid = _cid(includes[0].get("href") or "")
            part = parts.get(cid)
            if part is None:
                raise _miscoordination(f"attachment {attachment_id} refers to a missing part cid:{cid}",
                                       "MISSING_PART")
            if cid in used:
                raise _miscoordination(f"part cid:{cid} is referred to twice", "PART_REFERRED_TWICE")
            used.add(cid)
            content.remove(includes[0])
            content.text = ""
            found[attachment_id] = ReceivedAttachment(attachment_id, part.content_type, part.size,
                                                      part.sha256_hex, part.path)
            total += part.size
        else:
            try:
                data = base64.b64decode("".join((content.text or "").split()), validate=True)
            except (binascii.Error, ValueError):
                continue  # not base64: the XSD reports it
            total += len(data)
            if total > max_attachment_bytes:
                raise faults.AttachmentSizeLimitExceeded(
                    f"attachments exceed {max_attachment_bytes} bytes", code="ATTACHMENT_SIZE_LIMIT_EXCEEDED",
                    fields=[("PermittedTotalAttachmentSize", str(max_attachment_bytes)),
                            ("RealTotalAttachmentSize", str(total))])
            spool_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="inline-", dir=spool_dir)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            found[attachment_id] = ReceivedAttachment(attachment_id, None, len(data),
                                                      hashlib.sha256(data).hexdigest(), Path(name))
    unreferenced = sorted(set(parts) - used)
    if unreferenced:
        raise _miscoordination(f"MIME part(s) {', '.join(unreferenced)} are not referred to by any "
                               "AttachmentContent", "UNREFERENCED_PART")
    return found


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def check_headers(data: etree._Element, attachments: dict[str, ReceivedAttachment]) -> None:
    """The signed ``AttachmentHeaderList`` and the attachments must match one to one."""
    header_list = data.find(ns.q(B, "AttachmentHeaderList"))
    headers = {}
    for header in (header_list.findall(ns.q(B, "AttachmentHeader")) if header_list is not None else []):
        content_id = (header.findtext(ns.q(B, "contentId")) or "").strip()
        if content_id in headers:
            raise _miscoordination(f"two AttachmentHeader elements name {content_id}", "DUPLICATE_HEADER")
        headers[content_id] = (header.findtext(ns.q(B, "MimeType")) or "").strip()
    missing = sorted(set(headers) - set(attachments))
    extra = sorted(set(attachments) - set(headers))
    if missing or extra:
        raise _miscoordination(
            "AttachmentHeaderList and AttachmentContentList disagree: "
            + (f"no content for {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"no header for {', '.join(extra)}" if extra else ""), "HEADERS_AND_CONTENT_DISAGREE")
    for attachment_id, mime in headers.items():
        part_type = attachments[attachment_id].content_type
        if part_type and _media(part_type) not in (_media(mime), "application/octet-stream"):
            raise _miscoordination(f"attachment {attachment_id}: header says {mime}, the part is "
                                   f"{part_type}", "MIME_TYPE_MISMATCH")


def discard(received: dict[str, ReceivedAttachment]) -> None:
    """Remove spool files not kept (a refused request); kept ones were moved away already."""
    for item in received.values():
        item.path.unlink(missing_ok=True)
