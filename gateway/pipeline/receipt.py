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
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from envelopes import ns
from envelopes.model import Party
from signing.algorithms import (DEFAULT_POLICY, REGISTRY, AlgorithmPolicy, default_digest_method,
                                default_signature_method, load_private_key)
from signing.c14n import EXC_C14N
from signing.ns import DS
from signing.smev_transform import ALGORITHM as SMEV_TRANSFORM
from signing.smev_transform import escape_attribute, escape_text, escape_texts
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
        self.template = ReceiptTemplate(self)

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
    serialized (no XML declaration): from the signer's template, one signature, no tree. A test
    message's receipt carries its preview, a subtree the template has no place for: it is built
    as a tree (test messages are off the hot path)."""
    if data.preview is not None:
        return send_request_response_tree(data, signer, element)
    return signer.template.render(data, element)


def send_request_response_tree(data: ReceiptData, signer: ReceiptSigner,
                               element: str = "SendRequestResponse") -> bytes:
    """The same receipt built as an lxml tree and signed by ``sign_detached``: the reference
    the template's bytes are tested against."""
    t = ns.SMEV_TYPES
    response = etree.Element(ns.q(t, element), nsmap={"ns": t})
    meta = metadata_element(data)
    response.append(meta)
    container = etree.SubElement(response, ns.q(t, "SMEVSignature"))
    signer.sign(meta, container)
    return etree.tostring(response, encoding="UTF-8", xml_declaration=False)


# ------------------------------------------------------------------ the receipt from a template
#
# The receipt's shape is fixed; only its texts vary. So its three renderings are string
# templates: the bytes sent (as lxml serialises the tree above), the bytes the reference digest
# covers (SMEV transform, or exc-c14n for the W3C profile) and the exc-c14n of SignedInfo that
# is signed — one signature, no tree, no canonicalisation pass. tests/unit/gateway/
# test_receipt_template.py proves the bytes equal the tree builder's.

_XML_CHARS = __import__("re").compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _lxml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "\r", "&#13;")


def _c14n_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "\r", "&#xD;")


def _smev_text(text: str) -> str:
    return escape_text(text) if text.strip(" \t\n\r") else ""


def _texts(data: ReceiptData) -> tuple[tuple[bool, bool, bool], list]:
    """MessageMetadata's texts in the contract's order (those of ``metadata_element``), and
    which of its optional fields are there (the layout, :func:`_layout`)."""
    texts = [data.message_id, data.message_type, data.sender.mnemonic,
             data.sender.human_readable_name, _ts(data.sending_timestamp), data.destination,
             data.recipient.mnemonic, data.recipient.human_readable_name]
    present = (bool(data.content_type_name), data.delivery_timestamp is not None,
               bool(data.status))
    if present[0]:
        texts.append(data.content_type_name)
    texts.append("other")
    if present[1]:
        texts.append(_ts(data.delivery_timestamp))
    if present[2]:
        texts.append(data.status)
    return present, texts


def _layout(present: tuple[bool, bool, bool]) -> list[tuple[str, str]]:
    """The elements around :func:`_texts`' texts: ("leaf", tag) for each text in its order,
    ("open"/"close", tag) for the elements that hold others."""
    content_type, delivery, status = present
    return ([("leaf", "MessageId"), ("leaf", "MessageType"), ("open", "Sender"),
             ("leaf", "Mnemonic"), ("leaf", "HumanReadableName"), ("close", "Sender"),
             ("leaf", "SendingTimestamp"), ("leaf", "DestinationName"), ("open", "Recipient"),
             ("leaf", "Mnemonic"), ("leaf", "HumanReadableName"), ("close", "Recipient"),
             ("open", "SupplementaryData")]
            + [("leaf", "DetectedContentTypeName")] * content_type
            + [("leaf", "InteractionType"), ("close", "SupplementaryData")]
            + [("leaf", "DeliveryTimestamp")] * delivery + [("leaf", "Status")] * status)


def lxml_text(value: str | None) -> str:
    """Text as lxml serialises it (``ValueError`` for characters XML cannot hold, as lxml's)."""
    if value is None:
        return ""
    if _XML_CHARS.search(value):
        raise ValueError("All strings must be XML compatible")
    return _lxml_text(value)


def _lxml_texts(texts: list[str]) -> list[str]:
    """``lxml_text`` of each of ``texts``: one check and one escaping pass over them all (NUL,
    the separator, is among what the check refuses)."""
    if _XML_CHARS.search("".join(texts)):
        raise ValueError("All strings must be XML compatible")
    if not texts:
        return []
    return _lxml_text("\x00".join(texts)).split("\x00")


#: the %-templates of MessageMetadata's content by its layout and which texts are None: as lxml
#: serialises it (a None text is an empty element), its SMEV-transformed form, its exc-c14n form.
#: A handful in practice; at most 8 layouts x 2^12 None patterns, all of the gateway's own data
_SHAPES: dict[tuple, tuple[str, str, str]] = {}


def _shape(present: tuple[bool, bool, bool], texts: list) -> tuple[str, str, str]:
    absent = None in texts and tuple([text is None for text in texts])
    found = _SHAPES.get((present, absent))
    if found is None:
        wire, smev, c14n = [], [], []
        leaves = iter(texts)
        for kind, tag in _layout(present):
            if kind == "open":
                parts = (f"<ns:{tag}>", f"<ns1:{tag}>", f"<ns:{tag}>")
            elif kind == "close":
                parts = (f"</ns:{tag}>", f"</ns1:{tag}>", f"</ns:{tag}>")
            else:  # a None text: an empty element on the wire, empty content once signed
                parts = (f"<ns:{tag}/>" if next(leaves) is None else f"<ns:{tag}>%s</ns:{tag}>",
                         f"<ns1:{tag}>%s</ns1:{tag}>", f"<ns:{tag}>%s</ns:{tag}>")
            wire.append(parts[0])
            smev.append(parts[1])
            c14n.append(parts[2])
        found = _SHAPES.setdefault((present, absent), ("".join(wire), "".join(smev), "".join(c14n)))
    return found


def _wire(texts: list, shape: str) -> str:
    """The texts in the layout as lxml serialises it under a parent declaring ``ns``."""
    return shape % tuple(_lxml_texts([t for t in texts if t is not None] if None in texts
                                     else texts))


def metadata_text(data: ReceiptData) -> str:
    """``MessageMetadata`` without Id or registration, as ``etree.tostring`` writes
    ``metadata_element(data, element_id=None, registration=False)`` under a parent that
    declares the ``ns`` prefix (tests/unit/gateway/test_answer_template.py compares them)."""
    present, texts = _texts(data)
    return "<ns:MessageMetadata>" + _wire(texts, _shape(present, texts)[0]) + "</ns:MessageMetadata>"


#: a whitespace-only text among texts joined by NUL (the SMEV transform drops such texts)
_BLANK = __import__("re").compile("(?:^|\x00)[ \t\n\r]*(?:\x00|\\Z)")


class ReceiptTemplate:
    """Renders and signs receipts of one ReceiptSigner without building an lxml tree."""

    def __init__(self, signer: ReceiptSigner):
        self.signer = signer
        method = signer.signature_method or default_signature_method(signer.private_key)
        digest_method = signer.digest_method or default_digest_method(method)
        self.algorithm = REGISTRY.signature(method)  # the probe at start checked the policy
        self.digest = REGISTRY.digest(digest_method)
        smev = signer.profile is Profile.SMEV
        self.smev = smev
        transforms = (EXC_C14N, SMEV_TRANSFORM) if smev else (EXC_C14N,)
        d = f'xmlns:ds="{DS}"'
        self.signed_info = (
            f'<ds:SignedInfo{{decl}}><ds:CanonicalizationMethod Algorithm="{EXC_C14N}">'
            f'</ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{method}">'
            f'</ds:SignatureMethod><ds:Reference URI="#{METADATA_ID}"><ds:Transforms>'
            + "".join(f'<ds:Transform Algorithm="{t}"></ds:Transform>' for t in transforms)
            + f'</ds:Transforms><ds:DigestMethod Algorithm="{digest_method}"></ds:DigestMethod>'
            f'<ds:DigestValue>{{digest}}</ds:DigestValue></ds:Reference></ds:SignedInfo>')
        # the serialised form: lxml writes empty elements as <x/> and declares ds on Signature
        serialised = self.signed_info.replace('"></ds:CanonicalizationMethod>', '"/>').replace(
            '"></ds:SignatureMethod>', '"/>').replace('"></ds:Transform>', '"/>').replace(
            '"></ds:DigestMethod>', '"/>')
        certificates = "".join(
            f"<ds:X509Certificate>{base64.b64encode(c.public_bytes(Encoding.DER)).decode()}"
            f"</ds:X509Certificate>" for c in (signer.certificate, *signer.chain))
        self.signature_head = f"<ds:Signature {d}>" + serialised.replace("{decl}", "")
        self.signed_info = self.signed_info.replace("{decl}", " " + d)
        self.signature_tail = (f"<ds:KeyInfo><ds:X509Data>{certificates}</ds:X509Data>"
                               f"</ds:KeyInfo></ds:Signature>")

    def render(self, data: ReceiptData, element: str = "SendRequestResponse") -> bytes:
        """The same bytes as ``send_request_response_tree`` (a randomised signature aside)."""
        present, texts = _texts(data)
        wire_shape, smev_shape, c14n_shape = _shape(present, texts)
        wire = [_wire(texts, wire_shape)]  # refuses what lxml refuses, as the tree builder would
        if None in texts:
            texts = [text or "" for text in texts]
        smev = self.smev
        if smev:
            escaped = escape_texts(texts)
            if _BLANK.search("\x00".join(texts)):  # the SMEV transform drops blank text
                escaped = [e if t.strip(" \t\n\r") else "" for t, e in zip(texts, escaped)]
            signed = [smev_shape % tuple(escaped)]
        else:
            signed = [c14n_shape % tuple(_c14n_text("\x00".join(texts)).split("\x00"))]
        number = data.registration_number
        if number is not None and _XML_CHARS.search(number):
            raise ValueError("All strings must be XML compatible")
        digest_b64 = base64.b64encode(bytes.fromhex(data.content_digest)).decode("ascii")
        r, alg = ns.RECEIPT, "http://www.w3.org/2001/04/xmlenc#sha256"
        wire.append(f'<gw:Registration xmlns:gw="{r}">'
                    + (f"<gw:RegistrationNumber>{_lxml_text(number)}</gw:RegistrationNumber>"
                       if number is not None else "<gw:RegistrationNumber/>")
                    + f'<gw:ContentDigest Algorithm="{alg}">{digest_b64}</gw:ContentDigest>'
                    f"</gw:Registration>")
        if smev:
            signed.append(f'<ns2:Registration xmlns:ns2="{escape_attribute(r)}">'
                          f"<ns2:RegistrationNumber>{_smev_text(number or '')}"
                          f'</ns2:RegistrationNumber><ns2:ContentDigest Algorithm="{alg}">'
                          f"{digest_b64}</ns2:ContentDigest></ns2:Registration>")
            head = f'<ns1:MessageMetadata xmlns:ns1="{escape_attribute(ns.SMEV_TYPES)}" Id="{METADATA_ID}">'
            tail = "</ns1:MessageMetadata>"
        else:
            signed.append(f'<gw:Registration xmlns:gw="{r}">'
                          f"<gw:RegistrationNumber>{_c14n_text(number or '')}"
                          f'</gw:RegistrationNumber><gw:ContentDigest Algorithm="{alg}">'
                          f"{digest_b64}</gw:ContentDigest></gw:Registration>")
            head = f'<ns:MessageMetadata xmlns:ns="{ns.SMEV_TYPES}" Id="{METADATA_ID}">'
            tail = "</ns:MessageMetadata>"
        reference = (head + "".join(signed) + tail).encode("utf-8")
        digest_value = base64.b64encode(self.digest.digest(reference)).decode("ascii")
        signed_info = self.signed_info.replace("{digest}", digest_value, 1)
        value = base64.b64encode(self.algorithm.sign(self.signer.private_key,
                                                     signed_info.encode("utf-8"))).decode("ascii")
        t = ns.SMEV_TYPES
        return (f'<ns:{element} xmlns:ns="{t}"><ns:MessageMetadata Id="{METADATA_ID}">'
                + "".join(wire) + "</ns:MessageMetadata><ns:SMEVSignature>"
                + self.signature_head.replace("{digest}", digest_value, 1)
                + f"<ds:SignatureValue>{value}</ds:SignatureValue>" + self.signature_tail
                + f"</ns:SMEVSignature></ns:{element}>").encode("utf-8")
