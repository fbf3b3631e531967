"""Attachments inside the envelope: XOP includes resolved to MIME parts, inline base64 decoded,
and both cross-checked with the signed ``AttachmentHeaderList``.

``AttachmentContentList`` travels outside the signed element (MTOM would break the signature
otherwise); what binds the files to the signed request is the header list inside it, so every
content must have exactly one header and every header exactly one content, of the same type.

Validation of an MTOM envelope: ``Content`` is ``xs:base64Binary`` without facets, and every
octet sequence is a valid base64Binary value, so a part's bytes can never make the envelope
invalid. Each resolved ``xop:Include`` is therefore replaced by EMPTY content (the empty string
is a valid base64Binary: the empty octet sequence) and the envelope is validated against the
unchanged XSD, which still checks everything else (``Id``, order, cardinality). The bytes stay
in their spool file; the mapping Id → file is what :func:`resolve` returns.
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
from envelopes.tree import child
from gateway import faults
from gateway.pipeline.parts import Attachment, MtomMessage, cid_url

B = ns.SMEV_BASIC
INCLUDE = ns.q(ns.XOP, "Include")
CONTENT_LIST = ns.q(B, "AttachmentContentList")
_HEADER_LIST, _HEADER = ns.q(B, "AttachmentHeaderList"), ns.q(B, "AttachmentHeader")


@dataclasses.dataclass(frozen=True)
class ReceivedAttachment:
    attachment_id: str  # AttachmentContent/Id = AttachmentHeader/contentId
    content_type: str | None  # of the MIME part (None for inline content)
    size: int
    sha256_hex: str
    path: Path  # spooled file


def attachment_headers(data) -> list:
    """``AttachmentHeaderList/AttachmentHeader`` of the signed data (children filtered in C:
    the path is read on every request, and most have none)."""
    return [header for holder in data.iterchildren(_HEADER_LIST)
            for header in holder.iterchildren(_HEADER)]


def _miscoordination(message: str, code: str) -> faults.GatewayFault:
    return faults.AttachmentContentMiscoordination(message, code=code)


def _contents(request: etree._Element):
    """(Id, Content element) of each ``AttachmentContent`` directly in the operation element."""
    content_list = child(request, CONTENT_LIST)
    for item in content_list.iterfind(ns.q(B, "AttachmentContent")) if content_list is not None else ():
        attachment_id = (item.findtext(ns.q(B, "Id")) or "").strip()
        content = item.find(ns.q(B, "Content"))
        if attachment_id and content is not None:  # otherwise the XSD reports what is missing
            yield attachment_id, content


def resolve_xop(request: etree._Element, parts: dict[str, Attachment]) -> dict[str, Attachment]:
    """Match every ``xop:Include`` of the envelope to its MIME part, by attachment Id.

    An include is only allowed as the single child of an ``AttachmentContent/Content`` of
    ``request``; its href must be a ``cid:`` URL naming a part; each part is referred to exactly
    once. Resolved includes are replaced by empty content (see the module docstring).
    """
    return _resolve_xop(request, parts)[0]


def _resolve_xop(request: etree._Element, parts: dict[str, Attachment]
                 ) -> tuple[dict[str, Attachment], set[etree._Element]]:
    """:func:`resolve_xop`, and the Content elements it emptied."""
    allowed: dict[etree._Element, str] = {}
    for attachment_id, content in _contents(request):
        children = [c for c in content if isinstance(c.tag, str)]
        if any(c.tag == INCLUDE for c in children):
            if len(children) != 1 or (content.text or "").strip() or (children[0].tail or "").strip():
                raise _miscoordination(f"attachment {attachment_id}: Content must hold one xop:Include "
                                       "and nothing else", "BAD_XOP_INCLUDE")
            allowed[children[0]] = attachment_id
    resolved: dict[str, Attachment] = {}
    referred: set[str] = set()
    for include in request.getroottree().getroot().iter(INCLUDE):
        attachment_id = allowed.get(include)
        if attachment_id is None:
            raise _miscoordination("an xop:Include is allowed only inside AttachmentContent/Content",
                                   "BAD_XOP_INCLUDE")
        if attachment_id in resolved:
            raise _miscoordination(f"two AttachmentContent elements have Id {attachment_id}",
                                   "DUPLICATE_ATTACHMENT_ID")
        href = include.get("href") or ""
        cid = cid_url(href)
        if cid is None:
            raise _miscoordination(f"attachment {attachment_id}: xop:Include href {href[:100]!r} is "
                                   "not a cid: URL", "BAD_XOP_INCLUDE")
        part = parts.get(cid)
        if part is None:
            raise _miscoordination(f"attachment {attachment_id} refers to a missing part "
                                   f"<{cid[:100]}>", "MISSING_PART")
        if cid in referred:
            raise _miscoordination(f"part <{cid[:100]}> is referred to twice", "PART_REFERRED_TWICE")
        referred.add(cid)
        resolved[attachment_id] = part
    unreferenced = sorted(set(parts) - referred)
    if unreferenced:
        raise _miscoordination(f"MIME part(s) {', '.join(unreferenced)[:300]} are not referred to by "
                               "any AttachmentContent", "UNREFERENCED_PART")
    emptied = set()
    for include in allowed:
        content = include.getparent()
        content.remove(include)
        content.text = ""
        emptied.add(content)
    return resolved, emptied


def _too_large(limit: int, total: int) -> faults.GatewayFault:
    return faults.AttachmentSizeLimitExceeded(
        f"the attachments exceed {limit} bytes ({total} bytes were sent)",
        code="ATTACHMENT_SIZE_LIMIT_EXCEEDED",
        fields=[("PermittedTotalAttachmentSize", str(limit)), ("RealTotalAttachmentSize", str(total))])


def resolve(request: etree._Element, mtom: MtomMessage | None, *, spool_dir: Path,
            max_attachment_bytes: int) -> dict[str, ReceivedAttachment]:
    """Every attachment of ``request`` (the operation element) by its Id: MTOM parts through
    their ``xop:Include``, inline base64 decoded into a spool file. Sizes of both kinds count
    against ``max_attachment_bytes`` together. Call it before validating the envelope; the caller
    discards the result (:func:`discard`) when done. On a fault nothing is left in the spool
    by this function (MTOM parts belong to ``mtom``, whose cleanup removes them)."""
    parts, emptied = _resolve_xop(request, dict(mtom.parts) if mtom else {})
    found = {attachment_id: ReceivedAttachment(attachment_id, part.content_type, part.size,
                                               part.sha256_hex, part.path)
             for attachment_id, part in parts.items()}
    total = sum(item.size for item in found.values())
    if total > max_attachment_bytes:
        raise _too_large(max_attachment_bytes, total)
    inline: dict[str, ReceivedAttachment] = {}
    try:
        for attachment_id, content in _contents(request):
            if content in emptied:
                continue  # an MTOM part, resolved above
            if attachment_id in found or attachment_id in inline:
                raise _miscoordination(f"two AttachmentContent elements have Id {attachment_id}",
                                       "DUPLICATE_ATTACHMENT_ID")
            if len(content):
                continue  # an element inside Content: the XSD reports it
            text = "".join((content.text or "").split())
            # the decoded size is known before decoding: refuse without allocating it
            if total + len(text) * 3 // 4 - text[-2:].count("=") > max_attachment_bytes:
                raise _too_large(max_attachment_bytes, total + len(text) * 3 // 4 - text[-2:].count("="))
            try:
                data = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                continue  # not base64: the XSD reports it
            total += len(data)
            inline[attachment_id] = _spool_inline(attachment_id, data, spool_dir)
    except BaseException:
        discard(inline)
        raise
    found.update(inline)
    return found


def _spool_inline(attachment_id: str, data: bytes, spool_dir: Path) -> ReceivedAttachment:
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="inline-", dir=spool_dir)  # mode 0600
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return ReceivedAttachment(attachment_id, None, len(data), hashlib.sha256(data).hexdigest(),
                              Path(name))


def _media(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def check_headers(data: etree._Element, attachments: dict[str, ReceivedAttachment]) -> None:
    """The signed ``AttachmentHeaderList`` (in ``data``, the verified element) and the
    attachments must match one to one: ``contentId`` = ``AttachmentContent/Id``, ``MimeType`` =
    the part's media type. A part labelled ``application/octet-stream`` matches any MimeType: the
    contract's ``xmime:expectedContentTypes`` makes SOAP stacks label every part that way."""
    headers: dict[str, str] = {}
    for header in attachment_headers(data):
        content_id = (header.findtext(ns.q(B, "contentId")) or "").strip()
        if content_id in headers:
            raise _miscoordination(f"two AttachmentHeader elements name {content_id}",
                                   "DUPLICATE_HEADER")
        headers[content_id] = (header.findtext(ns.q(B, "MimeType")) or "").strip()
    missing = sorted(set(headers) - set(attachments))
    extra = sorted(set(attachments) - set(headers))
    if missing or extra:
        raise _miscoordination(
            "AttachmentHeaderList and AttachmentContentList disagree: "
            + "; ".join(([f"no content for {', '.join(missing)}"] if missing else [])
                        + ([f"no header for {', '.join(extra)}"] if extra else [])),
            "HEADERS_AND_CONTENT_DISAGREE")
    for attachment_id, mime in headers.items():
        part_type = attachments[attachment_id].content_type
        if part_type and _media(part_type) not in (_media(mime), "application/octet-stream"):
            raise _miscoordination(f"attachment {attachment_id}: the header says {mime}, the part "
                                   f"is {_media(part_type)}", "MIME_TYPE_MISMATCH")


def discard(received: dict[str, ReceivedAttachment]) -> None:
    """Remove spool files not kept (a refused request); kept ones were moved away already."""
    for item in received.values():
        item.path.unlink(missing_ok=True)
