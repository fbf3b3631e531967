"""A small client SDK: post envelopes to the gateway and read receipts and faults.

It verifies the gateway's ``SMEVSignature`` on every receipt it returns, so a caller never
trusts an unsigned or tampered receipt.
"""
from __future__ import annotations

from datetime import datetime

import requests
from lxml import etree

from envelopes import ns
from envelopes.model import Fault, MessageMetadata, Party
from envelopes.mtom import answer_root
from signing.algorithms import DEFAULT_POLICY, AlgorithmPolicy
from signing.xmldsig import verify_detached

T, F = ns.SMEV_TYPES, ns.SMEV_FAULTS


class GatewayFault(Exception):
    def __init__(self, fault: Fault):
        super().__init__(f"{fault.element or fault.faultcode}/{fault.code}: {fault.description or fault.faultstring}")
        self.fault = fault


def parse_fault(status: int, root: etree._Element) -> Fault | None:
    fault = root.find(f".//{{{ns.SOAP11_ENV}}}Fault")
    if fault is None:
        fault = root.find(f".//{{{ns.SOAP12_ENV}}}Fault")
    if fault is None:
        return None
    if fault.tag.startswith(f"{{{ns.SOAP12_ENV}}}"):
        faultcode = fault.findtext(f"{{{ns.SOAP12_ENV}}}Code/{{{ns.SOAP12_ENV}}}Value") or ""
        faultstring = fault.findtext(f"{{{ns.SOAP12_ENV}}}Reason/{{{ns.SOAP12_ENV}}}Text") or ""
        detail = fault.find(f"{{{ns.SOAP12_ENV}}}Detail")
    else:
        faultcode = fault.findtext("faultcode") or ""
        faultstring = fault.findtext("faultstring") or ""
        detail = fault.find("detail")
    element = code = description = None
    errors: list[dict] = []
    if detail is not None and len(detail):
        item = detail[0]
        element = etree.QName(item).localname
        code = item.findtext(f"{{{ns.SMEV_BASIC}}}Code")
        description = item.findtext(f"{{{ns.SMEV_BASIC}}}Description")
        for err in item.findall(f"{{{F}}}ValidationError"):
            errors.append({"message": err.text, **dict(err.attrib)})
    return Fault(status, faultcode, faultstring, element, code, description, tuple(errors))


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _party(el: etree._Element | None) -> Party | None:
    if el is None:
        return None
    return Party(el.findtext(f"{{{T}}}Mnemonic"), el.findtext(f"{{{T}}}HumanReadableName"))


def read_receipt(root: etree._Element, *,
                 policy: AlgorithmPolicy = DEFAULT_POLICY) -> tuple[MessageMetadata, object]:
    """Find ``MessageMetadata``, verify the gateway's signature over it (RSA, ECDSA or GOST
    R 34.10-2012; ``policy``, e.g. ``signing.algorithms.PROFILES["smev"]``, narrows that),
    return both."""
    meta = root.find(f".//{{{T}}}MessageMetadata")
    signature = root.find(f".//{{{T}}}SMEVSignature/{{{ns.DS}}}Signature")
    if meta is None or signature is None:
        raise ValueError("the response holds no signed MessageMetadata")
    verified = verify_detached(signature, meta, policy=policy)
    metadata = MessageMetadata(
        message_id=meta.findtext(f"{{{T}}}MessageId"),
        message_type=meta.findtext(f"{{{T}}}MessageType"),
        sender=_party(meta.find(f"{{{T}}}Sender")),
        recipient=_party(meta.find(f"{{{T}}}Recipient")),
        sending_timestamp=_dt(meta.findtext(f"{{{T}}}SendingTimestamp")),
        delivery_timestamp=_dt(meta.findtext(f"{{{T}}}DeliveryTimestamp")),
        status=meta.findtext(f"{{{T}}}Status"),
        registration_number=meta.findtext(f"{{{ns.RECEIPT}}}Registration/{{{ns.RECEIPT}}}RegistrationNumber"),
        content_digest=meta.findtext(f"{{{ns.RECEIPT}}}Registration/{{{ns.RECEIPT}}}ContentDigest"))
    return metadata, verified


class GatewayClient:
    def __init__(self, endpoint: str, *, timeout: float = 30.0, session: requests.Session | None = None,
                 policy: AlgorithmPolicy = DEFAULT_POLICY):
        self.endpoint = endpoint
        self.policy = policy  # the algorithms a receipt signature may use
        self.timeout = timeout
        self.session = session or requests.Session()

    def post(self, envelope: bytes, soap_version: str = "1.1") -> tuple[int, etree._Element]:
        content_type = ("application/soap+xml; charset=utf-8" if soap_version == "1.2"
                        else "text/xml; charset=utf-8")
        headers = {"Content-Type": content_type}
        if soap_version == "1.1":
            headers["SOAPAction"] = "urn:SendRequest"
        reply = self.session.post(self.endpoint, data=envelope, headers=headers, timeout=self.timeout)
        # an MTOM answer (files as parts) is read with its parts inlined
        return reply.status_code, answer_root(reply.headers.get("Content-Type", ""), reply.content)

    def send_request(self, envelope: bytes, soap_version: str = "1.1") -> tuple[MessageMetadata, object]:
        """Post a signed SendRequest; return the verified receipt or raise :class:`GatewayFault`."""
        status, root = self.post(envelope, soap_version)
        fault = parse_fault(status, root)
        if fault is not None:
            raise GatewayFault(fault)
        return read_receipt(root, policy=self.policy)
