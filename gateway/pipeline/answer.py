"""What an operation answers with when files travel as MIME parts (rendered by
``gateway/http/mtom_answer.py``)."""
from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from urllib.parse import quote


@dataclasses.dataclass(frozen=True)
class OutgoingPart:
    content_id: str  # without angle brackets
    content_type: str
    path: Path
    size: int

    @property
    def href(self) -> str:
        """The ``xop:Include/@href`` naming this part (RFC 2392: cid URL, %-escaped)."""
        return "cid:" + quote(self.content_id, safe="@.-_")


@dataclasses.dataclass(frozen=True)
class MtomAnswer:
    """What an operation returns when its answer carries parts: the body element (with
    ``xop:Include``s where the contents go) and the parts."""

    body: bytes
    parts: tuple[OutgoingPart, ...]


def content_id(message_id: str, index: int) -> str:
    return f"{index}.{uuid.uuid5(uuid.NAMESPACE_URL, message_id).hex}@smev-gateway"
