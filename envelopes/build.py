"""Building SMEV envelopes on the client side, signed with the caller's key.

``send_request(...)`` returns the bytes of a SOAP 1.1 (or 1.2) ``SendRequest`` envelope whose
``SenderProvidedRequestData`` is signed (detached XMLDSig in ``CallerInformationSystemSignature``).
"""
from __future__ import annotations

import uuid
from lxml import etree

from envelopes import ns
from signing.xmldsig import Profile, sign_detached

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
SPRD_ID = "SIGNED_BY_CONSUMER"


def new_message_id() -> str:
    """A UUID version 1, as SMEV requires (its timestamp lets the gateway reject stale ids)."""
    return str(uuid.uuid1())


def _envelope(soap_version: str) -> tuple[etree._Element, etree._Element]:
    env_ns = ns.SOAP12_ENV if soap_version == "1.2" else ns.SOAP11_ENV
    envelope = etree.Element(ns.q(env_ns, "Envelope"), nsmap={"soap": env_ns})
    etree.SubElement(envelope, ns.q(env_ns, "Header"))
    body = etree.SubElement(envelope, ns.q(env_ns, "Body"))
    return envelope, body


def send_request(payload: etree._Element, private_key, certificate, *, message_id: str | None = None,
                 reference_message_id: str | None = None, test_message: bool = False,
                 soap_version: str = "1.1", profile: Profile = Profile.SMEV,
                 extra_certificates=(), sign: bool = True) -> bytes:
    """A signed ``SendRequestRequest`` carrying ``payload`` (one business element)."""
    envelope, body = _envelope(soap_version)
    request = etree.SubElement(body, ns.q(T, "SendRequestRequest"), nsmap={"ns": T})
    data = etree.SubElement(request, ns.q(T, "SenderProvidedRequestData"))
    data.set("Id", SPRD_ID)
    etree.SubElement(data, ns.q(T, "MessageID")).text = message_id or new_message_id()
    if reference_message_id:
        etree.SubElement(data, ns.q(T, "ReferenceMessageID")).text = reference_message_id
    content = etree.SubElement(data, ns.q(B, "MessagePrimaryContent"), nsmap={"b": B})
    content.append(payload)
    if test_message:
        etree.SubElement(data, ns.q(T, "TestMessage"))
    holder = etree.SubElement(request, ns.q(T, "CallerInformationSystemSignature"))
    if sign:
        sign_detached(data, holder, private_key, certificate, profile=profile,
                      extra_certificates=extra_certificates)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
