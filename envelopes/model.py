"""Typed data of the SMEV exchange, as the client SDK and the tests use it."""
from __future__ import annotations

import dataclasses
from datetime import datetime


@dataclasses.dataclass(frozen=True)
class Party:
    mnemonic: str
    human_readable_name: str


@dataclasses.dataclass(frozen=True)
class MessageMetadata:
    """The receipt the gateway signs (``ns:MessageMetadata``)."""

    message_id: str
    message_type: str
    sender: Party | None
    recipient: Party | None
    sending_timestamp: datetime
    delivery_timestamp: datetime | None
    status: str | None
    registration_number: str | None = None  # gateway extension
    content_digest: str | None = None  # base64 SHA-256 of what the gateway received
    #: a test message's gw:TestPreview (what it would have done), from the signed metadata
    test_preview: object = None


@dataclasses.dataclass(frozen=True)
class Fault:
    """A SOAP fault as the client sees it: the SMEV fault element and its code."""

    http_status: int
    faultcode: str
    faultstring: str
    element: str | None  # local name of the detail element in the faults namespace
    code: str | None
    description: str | None
    validation_errors: tuple[dict, ...] = ()
