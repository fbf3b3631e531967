"""Client side of attachments: a signed SendRequest whose files travel as MTOM/XOP parts
(or inline base64), with the ``AttachmentHeaderList`` inside the signed data."""
from __future__ import annotations

import base64
import dataclasses
import email.policy
import re
import uuid
from email.parser import BytesParser
from urllib.parse import quote, unquote

from lxml import etree

from envelopes import ns
from envelopes.build import SPRD_ID, _envelope, new_message_id
from signing.xmldsig import Profile, sign_detached

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclasses.dataclass(frozen=True)
class File:
    attachment_id: str  # an xs:ID: a letter first, e.g. "doc1"
    mime_type: str
    data: bytes
    content_id: str | None = None  # of its MIME part (printable ASCII); default: a fresh unique id


_PRINTABLE = re.compile(r"[\x21-\x7e]+")


def _content_id(f: File) -> str:
    if f.content_id is not None:
        if not _PRINTABLE.fullmatch(f.content_id) or "<" in f.content_id or ">" in f.content_id:
            raise ValueError(f"Content-ID {f.content_id!r} must be printable ASCII without <>")
        return f.content_id
    readable = f.attachment_id if _PRINTABLE.fullmatch(f.attachment_id) else "part"
    return f"{readable}-{uuid.uuid4().hex}@gateway.example"


def cid_href(content_id: str) -> str:
    """The ``cid:`` URL of a Content-ID (RFC 2392: characters not allowed in a URL, and ``%``
    itself, are %-encoded)."""
    return "cid:" + quote(content_id, safe="@!$&'()*+,;=:-._~/")


def send_request_with_files(payload: etree._Element, files: list[File], private_key, certificate, *,
                            extra_certificates=(), message_id: str | None = None, inline: bool = False,
                            header_files: list[File] | None = None,
                            profile: Profile = Profile.SMEV) -> tuple[str, bytes]:
    """(Content-Type, body) of a SendRequest with ``files``: MTOM parts, or base64 inline.

    ``header_files`` (default: ``files``) are what the signed AttachmentHeaderList announces; tests
    pass something else to make the two disagree.
    """
    envelope, body = _envelope("1.1")
    request = etree.SubElement(body, ns.q(T, "SendRequestRequest"), nsmap={"ns": T, "b": B})
    data = etree.SubElement(request, ns.q(T, "SenderProvidedRequestData"))
    data.set("Id", SPRD_ID)
    etree.SubElement(data, ns.q(T, "MessageID")).text = message_id or new_message_id()
    etree.SubElement(data, ns.q(B, "MessagePrimaryContent")).append(payload)
    announced = files if header_files is None else header_files
    if announced:
        headers = etree.SubElement(data, ns.q(B, "AttachmentHeaderList"))
        for f in announced:
            header = etree.SubElement(headers, ns.q(B, "AttachmentHeader"))
            etree.SubElement(header, ns.q(B, "contentId")).text = f.attachment_id
            etree.SubElement(header, ns.q(B, "MimeType")).text = f.mime_type
    cids = {}
    if files:
        content_list = etree.SubElement(request, ns.q(B, "AttachmentContentList"))
        for f in files:
            item = etree.SubElement(content_list, ns.q(B, "AttachmentContent"))
            etree.SubElement(item, ns.q(B, "Id")).text = f.attachment_id
            content = etree.SubElement(item, ns.q(B, "Content"))
            if inline:
                content.text = base64.b64encode(f.data).decode("ascii")
            else:
                cids[f.attachment_id] = cid = _content_id(f)
                include = etree.SubElement(content, ns.q(ns.XOP, "Include"), nsmap={"xop": ns.XOP})
                include.set("href", cid_href(cid))
    holder = etree.SubElement(request, ns.q(T, "CallerInformationSystemSignature"))
    sign_detached(data, holder, private_key, certificate, profile=profile,
                  extra_certificates=extra_certificates)
    xml = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    if inline:
        return "text/xml; charset=utf-8", xml
    return multipart(xml, [(cids[f.attachment_id], f.mime_type, f.data) for f in files])


def multipart(envelope: bytes, parts: list[tuple[str, str, bytes]]) -> tuple[str, bytes]:
    """An MTOM body: the envelope as the root part, then one part per (cid, type, bytes)."""
    boundary = f"MIMEBoundary_{uuid.uuid4().hex}"
    root = "<root.message@gateway.example>"
    chunks = [f"--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; "
              f"type=\"text/xml\"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: {root}\r\n\r\n"
              .encode(), envelope]
    for cid, mime, data in parts:
        chunks += [f"\r\n--{boundary}\r\nContent-Type: {mime}\r\nContent-Transfer-Encoding: binary\r\n"
                   f"Content-ID: <{cid}>\r\n\r\n".encode(), data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    content_type = (f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
                    f'start="{root}"; start-info="text/xml"')
    return content_type, b"".join(chunks)


XOP_INCLUDE = "{http://www.w3.org/2004/08/xop/include}Include"


def read_multipart(content_type: str, body: bytes) -> tuple[bytes, dict[str, bytes]]:
    """An MTOM answer's root part (the envelope) and its other parts by Content-ID."""
    message = BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise ValueError("not a multipart answer")
    start = (message.get_param("start") or "").strip("<>")
    root, parts = None, {}
    for part in message.get_payload():
        cid = (part.get("Content-ID") or "").strip().strip("<>")
        data = part.get_payload(decode=True)
        if root is None and (cid == start or not start):
            root = data
        else:
            parts[cid] = data
    if root is None:
        raise ValueError("the multipart answer has no root part")
    return root, parts


def answer_root(content_type: str, body: bytes) -> etree._Element:
    """The answer's envelope; for an MTOM answer, with each ``xop:Include`` replaced by its
    part's bytes in base64 (as the XOP infoset reads), so it can be handled like an inline one."""
    if not content_type.lower().startswith("multipart/related"):
        return etree.fromstring(body, _PARSER)
    envelope, parts = read_multipart(content_type, body)
    root = etree.fromstring(envelope, _PARSER)
    for include in list(root.iter(XOP_INCLUDE)):
        href = include.get("href", "")
        if not href.startswith("cid:") or unquote(href[4:]) not in parts:
            raise ValueError(f"xop:Include {href!r} names no part of the answer")
        holder = include.getparent()
        holder.remove(include)
        holder.text = base64.b64encode(parts[unquote(href[4:])]).decode()
    return root
