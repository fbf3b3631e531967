"""Attachments of SendRequest/SendResponse: resolved before anything else (a stage), matched
with the signed headers (a stage), kept on commit (files content-addressed in
data_dir/attachments, a row per file with its digest) within the per-sender quota, and put back
into what is delivered."""
from __future__ import annotations

import base64
import functools
import os
from xml.sax.saxutils import escape
from datetime import datetime, timedelta
from pathlib import Path

from envelopes import ns
from gateway import faults
from gateway.config import Settings
from gateway.storage import attachments as rows
from gateway.pipeline.answer import OutgoingPart, content_id
from gateway.exchange import xop
from gateway.exchange.xop import ReceivedAttachment

B = ns.SMEV_BASIC
XOP = "http://www.w3.org/2004/08/xop/include"
_QUOTE = {'"': "&quot;"}


def check_quota(conn, settings: Settings, sender: str, incoming: int,
                now: datetime) -> None:
    """``QuoteLimitExceeded`` if today's attachments of ``sender`` plus these exceed its quota."""
    if not incoming:
        return
    used = rows.bytes_since(conn, sender, now - timedelta(days=1))
    quota = settings.attachment_quota_bytes_per_day
    if used + incoming > quota:
        raise faults.QuoteLimitExceeded(
            f"{sender} may send {quota} attachment bytes a day; {used} used, {incoming} more sent",
            code="QUOTE_LIMIT_EXCEEDED",
            fields=[("RemainedTotalQuoteSize", str(max(0, quota - used))),
                    ("RealTotalAttachmentSize", str(incoming))])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def keep(conn, settings: Settings, message_id: str, sender: str,
         received: dict[str, ReceivedAttachment], mime_types: dict[str, str], now: datetime) -> None:
    """Move the spooled files to their durable place (before the transaction commits) and
    record them. Content-addressed: the same file twice is stored once."""
    if not received:  # most messages: no directory to make sure of, no fsync
        return
    directory = settings.attachments_dir
    directory.mkdir(parents=True, exist_ok=True)
    for attachment_id, item in received.items():
        target = directory / item.sha256_hex
        if target.exists():
            item.path.unlink(missing_ok=True)
        else:
            with open(item.path, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(item.path, target)
        rows.insert_attachment(
            conn, message_id=message_id, sender=sender, attachment_id=attachment_id,
            mime_type=mime_types.get(attachment_id) or item.content_type or "application/octet-stream",
            size=item.size, sha256=item.sha256_hex, received_at=now)
    _fsync_dir(directory)


def content_list(conn, settings: Settings, message_id: str, *, as_parts: bool = False
                 ) -> tuple[bytes | None, tuple[OutgoingPart, ...]]:
    """``b:AttachmentContentList`` for the message's files (None if it has none) and the parts.

    Inline (``as_parts`` False): each ``b:Content`` holds the file in base64, no parts. As MTOM
    parts: each ``b:Content`` holds an ``xop:Include`` naming its part; the files are streamed
    from the store when the answer is sent."""
    files = rows.of_message(conn, message_id)
    if not files:
        return None, ()
    out = [f'<b:AttachmentContentList xmlns:b="{B}">'.encode()]
    parts = []
    for index, (attachment_id, sha256, mime_type, size) in enumerate(files):
        path = settings.attachments_dir / sha256
        if as_parts:
            part = OutgoingPart(content_id(message_id, index), mime_type, path, size)
            parts.append(part)
            content = (f'<xop:Include xmlns:xop="{XOP}" href="{escape(part.href, _QUOTE)}"/>'
                       .encode())
        else:
            content = base64.b64encode(path.read_bytes())
        out.append(b"<b:AttachmentContent><b:Id>" + escape(attachment_id).encode() + b"</b:Id><b:Content>"
                   + content + b"</b:Content></b:AttachmentContent>")
    out.append(b"</b:AttachmentContentList>")
    return b"".join(out), tuple(parts)


def resolve(svc, ctx) -> None:
    """Stage: resolve ``AttachmentContentList`` (XOP parts and inline contents) before anything
    else — an xop:Include is not base64Binary until resolved; the spooled files that the commit
    does not keep are removed when the request is done, whatever happens.

    The clean-up holds the attachments, not the context: a closure over ``ctx`` in
    ``ctx.cleanups`` made every request's context (with its parsed trees) a reference cycle,
    freed only by the garbage collector's next pass instead of when the request ended."""
    received = ctx.received = xop.resolve(ctx.request, ctx.mtom, spool_dir=svc.settings.spool_dir,
                                          max_attachment_bytes=svc.settings.max_attachment_bytes)
    if received:
        ctx.cleanups.append(functools.partial(xop.discard, received))


def headers(svc, ctx) -> None:
    """Stage: the signed ``AttachmentHeaderList`` and the attachments match one to one."""
    xop.check_headers(ctx.data, ctx.received)


def header_mime_types(data) -> dict[str, str]:
    return {(h.findtext(ns.q(B, "contentId")) or "").strip(): (h.findtext(ns.q(B, "MimeType")) or "")
            for h in xop.attachment_headers(data)}
