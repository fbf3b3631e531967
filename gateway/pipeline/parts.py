"""The parts of an MTOM request as the edge hands them to the pipeline (read by
``gateway/http/mtom.py``, resolved against the envelope's ``xop:Include``s by
``gateway/exchange/xop.py``)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import unquote


@dataclasses.dataclass(frozen=True)
class Attachment:
    """One non-root MIME part, spooled to ``path`` (owned by the message until moved away)."""

    content_id: str  # without the angle brackets
    content_type: str  # as the part's Content-Type header says (application/octet-stream if none)
    size: int
    sha256_hex: str
    path: Path


@dataclasses.dataclass
class MtomMessage:
    """The root part (the envelope, in memory) and the spooled attachment parts by Content-ID."""

    envelope: bytes
    soap_version: str
    parts: dict[str, Attachment]

    def cleanup(self) -> None:
        """Remove the spool files that were not moved away; safe to call more than once."""
        for part in self.parts.values():
            part.path.unlink(missing_ok=True)

    def __enter__(self) -> "MtomMessage":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def cid_url(href: str) -> str | None:
    """The Content-ID a ``cid:`` URL names (RFC 2392: the URL is the %-encoded Content-ID), or
    None when ``href`` is not a cid URL. Decoded octet for octet (latin-1), exactly as part
    headers are read, so a non-ASCII id compares byte for byte."""
    value = href.strip()
    if value[:4].lower() != "cid:":
        return None
    return unquote(value[4:], encoding="latin-1", errors="strict")
