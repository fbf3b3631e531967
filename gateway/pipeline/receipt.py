"""Stage: the signed receipt — ``MessageMetadata`` signed by the gateway (``SMEVSignature``).

The gateway's key is loaded once per process (loading an RSA key with validation costs ~50 ms).
The response body element is serialized once, stored with the message, and returned again
byte for byte when the same request is repeated.
"""
from __future__ import annotations

import base64
import dataclasses
from datetime import datetime
from pathlib import Path

from cryptography import x509
from lxml import etree

from envelopes import ns
from envelopes.model import Party
from signing.algorithms import DEFAULT_POLICY, AlgorithmPolicy, load_private_key
from signing.xmldsig import Profile, sign_detached

METADATA_ID = "SIGNED_BY_SMEV"


@dataclasses.dataclass(frozen=True)
class ReceiptData:
    message_id: str
    message_type: str  # REQUEST | RESPONSE
    sender: Party
    recipient: Party
    sending_timestamp: datetime
    delivery_timestamp: datetime | None
    status: str | None
    registration_number: str | None
    content_digest: str | None  # hex SHA-256 of the exc-c14n of the signed element
    destination: str  # the queue the message went to
    content_type_name: str | None = None  # the business type, for requests
    #: a test message's gw:TestPreview (what would have happened), signed with the metadata
    preview: etree._Element | None = None


class ReceiptSigner:
    """The gateway's signing identity for receipts and everything else it signs."""

    def __init__(self, key_path: Path, cert_path: Path, profile: str = "smev",
                 signature_method: str | None = None, digest_method: str | None = None, *,
                 policy: AlgorithmPolicy = DEFAULT_POLICY):
        # RSA, EC or GOST R 34.10-2012 (then receipts are GOST-signed, Streebog digests)
        self.private_key = load_private_key(key_path.read_bytes())
        pem = cert_path.read_bytes()
        certs = x509.load_pem_x509_certificates(pem)
        self.certificate, self.chain = certs[0], tuple(certs[1:])
        self.profile = Profile.SMEV if profile == "smev" else Profile.W3C
        self.signature_method = signature_method or None
        self.digest_method = digest_method or None
        # the gateway never signs what its own profile would refuse (GATEWAY_ALGORITHMS)
        self.policy = policy
        # Fail at start, not on the first request, if the key and algorithms do not fit.
        self._probe()

    def _probe(self) -> None:
        t = ns.SMEV_TYPES
        target = etree.Element(ns.q(t, "MessageMetadata"), nsmap={"ns": t}, Id="PROBE")
        holder = etree.Element(ns.q(t, "SMEVSignature"))
        self.sign(target, holder)

    def sign(self, target: etree._Element, container: etree._Element) -> etree._Element:
        return sign_detached(target, container, self.private_key, self.certificate,
                             profile=self.profile, extra_certificates=self.chain,
                             signature_method=self.signature_method,
                             digest_method=self.digest_method, policy=self.policy)


def _ts(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds")


def metadata_element(data: ReceiptData, *, element_id: str | None = METADATA_ID,
                     registration: bool = True) -> etree._Element:
    """``MessageMetadata`` in the contract's order; for a receipt (``registration``) it ends with
    the gateway's extension (registration number and digest of what was received)."""
    t = ns.SMEV_TYPES
    meta = etree.Element(ns.q(t, "MessageMetadata"), nsmap={"ns": t})
    if element_id:
        meta.set("Id", element_id)

    def sub(parent, tag, text=None):
        el = etree.SubElement(parent, ns.q(t, tag))
        el.text = text
        return el

    sub(meta, "MessageId", data.message_id)
    sub(meta, "MessageType", data.message_type)
    sender = sub(meta, "Sender")
    sub(sender, "Mnemonic", data.sender.mnemonic)
    sub(sender, "HumanReadableName", data.sender.human_readable_name)
    sub(meta, "SendingTimestamp", _ts(data.sending_timestamp))
    sub(meta, "DestinationName", data.destination)
    recipient = sub(meta, "Recipient")
    sub(recipient, "Mnemonic", data.recipient.mnemonic)
    sub(recipient, "HumanReadableName", data.recipient.human_readable_name)
    supplementary = sub(meta, "SupplementaryData")
    if data.content_type_name:
        sub(supplementary, "DetectedContentTypeName", data.content_type_name)
    sub(supplementary, "InteractionType", "other")
    if data.delivery_timestamp is not None:
        sub(meta, "DeliveryTimestamp", _ts(data.delivery_timestamp))
    if data.status:
        sub(meta, "Status", data.status)
    if not registration:
        return meta
    r = ns.RECEIPT
    registration = etree.SubElement(meta, ns.q(r, "Registration"), nsmap={"gw": r})
    etree.SubElement(registration, ns.q(r, "RegistrationNumber")).text = data.registration_number
    digest = etree.SubElement(registration, ns.q(r, "ContentDigest"))
    digest.set("Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256")
    digest.text = base64.b64encode(bytes.fromhex(data.content_digest)).decode("ascii")
    if data.preview is not None:
        meta.append(data.preview)
    return meta


def send_request_response(data: ReceiptData, signer: ReceiptSigner,
                          element: str = "SendRequestResponse") -> bytes:
    """``SendRequestResponse`` (or ``SendResponseResponse``) with signed ``MessageMetadata``,
    serialized (no XML declaration)."""
    t = ns.SMEV_TYPES
    response = etree.Element(ns.q(t, element), nsmap={"ns": t})
    meta = metadata_element(data)
    response.append(meta)
    container = etree.SubElement(response, ns.q(t, "SMEVSignature"))
    signer.sign(meta, container)
    return etree.tostring(response, encoding="UTF-8", xml_declaration=False)
