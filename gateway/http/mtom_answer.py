"""MTOM/XOP answers: a GetRequest/GetResponse answer whose attachments travel as MIME parts.

The files are streamed from the attachment store in chunks, never loaded whole, and the total
length is known in advance, so the answer carries a Content-Length. Content-IDs are derived from
the message and the file's position, so a redelivery names its parts the same way.
"""
from __future__ import annotations

import re
import uuid
from typing import Iterator

from gateway.faults import SOAP11, SOAP12
from gateway.pipeline.answer import OutgoingPart

CHUNK = 256 * 1024
ROOT_ID = "root.message@smev-gateway"
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}")
_START_INFO = {SOAP11: "text/xml", SOAP12: "application/soap+xml"}


def multipart(envelope: bytes, soap_version: str,
              parts: tuple[OutgoingPart, ...]) -> tuple[str, int, Iterator[bytes]]:
    """(Content-Type, Content-Length, the body's chunks) of an MTOM answer. A file that is not
    in the store as recorded raises here, before anything is sent (the message stays in its
    queue and is delivered again after the visibility timeout)."""
    for part in parts:
        if part.path.stat().st_size != part.size:
            raise OSError(f"attachment {part.path.name} is not {part.size} bytes in the store")
    boundary = f"uuid:{uuid.uuid4()}"
    start_info = _START_INFO[soap_version]
    heads = [(f"--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; "
              f'type="{start_info}"\r\nContent-Transfer-Encoding: binary\r\n'
              f"Content-ID: <{ROOT_ID}>\r\n\r\n").encode()]
    for part in parts:
        # the type comes from the sender's signed header (XSD pattern); never let it shape headers
        mime = part.content_type if _MEDIA_TYPE.fullmatch(part.content_type) else "application/octet-stream"
        heads.append((f"\r\n--{boundary}\r\nContent-Type: {mime}\r\n"
                      f"Content-Transfer-Encoding: binary\r\nContent-ID: <{part.content_id}>\r\n\r\n")
                     .encode())
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = sum(map(len, heads)) + len(envelope) + sum(p.size for p in parts) + len(tail)
    content_type = (f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
                    f'start="<{ROOT_ID}>"; start-info="{start_info}"')

    def chunks() -> Iterator[bytes]:
        yield heads[0]
        yield envelope
        for head, part in zip(heads[1:], parts):
            yield head
            sent = 0
            with open(part.path, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    sent += len(chunk)
                    yield chunk
            if sent != part.size:  # the store changed under us: never send a wrong length
                raise OSError(f"attachment {part.path.name} is {sent} bytes, not {part.size}")
        yield tail

    return content_type, length, chunks()
