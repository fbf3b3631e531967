"""Stage: the signed receipt — ``MessageMetadata`` signed by the gateway (``SMEVSignature``).

The gateway's key is loaded once per process (loading an RSA key with validation costs ~50 ms).
The response body element is serialized once, stored with the message, and returned again
byte for byte when the same request is repeated.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from envelopes import ns
from signing.xmldsig import Profile, sign_detached

METADATA_ID = "SIGNED_BY_SMEV"


@dataclasses.dataclass(frozen=True)
class Party:
    mnemonic: str
    human_readable_name: str


@dataclasses.dataclass(frozen=True)
class ReceiptData:
    message_id: str
    message_type: str  # REQUEST | RESPONSE
    sender: Party
    recipient: Party
    sending_timestamp: datetime
    delivery_timestamp: datetime | None
    status: str
    registration_number: str
    content_digest: str


class ReceiptSigner:
    """The gateway's signing identity for receipts and everything else it signs."""

    def __init__(self, key_path: Path, cert_path: Path, profile: str = "smev"):
        self.private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        pem = cert_path.read_bytes()
        certs = x509.load_pem_x509_certificates(pem)
        self.certificate, self.chain = certs[0], tuple(certs[1:])
        self.profile = Profile.SMEV if profile == "smev" else Profile.W3C

    def sign(self, target: etree._Element, container: etree._Element) -> etree._Element:
        return sign_detached(target, container, self.private_key, self.certificate,
                             profile=self.profile, extra_certificates=self.chain)


def _ts(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")


def metadata_element(data: ReceiptData) -> etree._Element:
    t = ns.SMEV_TYPES
    meta = etree.Element(ns.q(t, "MessageMetadata"), nsmap={"ns": t})
    meta.set("Id", METADATA_ID)
    etree.SubElement(meta, ns.q(t, "MessageId")).text = data.message_id
    etree.SubElement(meta, ns.q(t, "MessageType")).text = data.message_type
    for tag, party in (("Sender", data.sender), ("Recipient", data.recipient)):
        if tag == "Recipient":
            etree.SubElement(meta, ns.q(t, "SendingTimestamp")).text = _ts(data.sending_timestamp)
        el = etree.SubElement(meta, ns.q(t, tag))
        etree.SubElement(el, ns.q(t, "Mnemonic")).text = party.mnemonic
        etree.SubElement(el, ns.q(t, "HumanReadableName")).text = party.human_readable_name
    if data.delivery_timestamp is not None:
        etree.SubElement(meta, ns.q(t, "DeliveryTimestamp")).text = _ts(data.delivery_timestamp)
    etree.SubElement(meta, ns.q(t, "Status")).text = data.status
    return meta


def send_request_response(data: ReceiptData, signer: ReceiptSigner) -> bytes:
    """``SendRequestResponse`` with signed ``MessageMetadata``, serialized (no XML declaration)."""
    t = ns.SMEV_TYPES
    response = etree.Element(ns.q(t, "SendRequestResponse"), nsmap={"ns": t})
    meta = metadata_element(data)
    response.append(meta)
    container = etree.SubElement(response, ns.q(t, "SMEVSignature"))
    signer.sign(meta, container)
    return etree.tostring(response, encoding="UTF-8", xml_declaration=False)
