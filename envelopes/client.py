"""A small client SDK: post envelopes to the gateway and read receipts and faults.

It verifies the gateway's ``SMEVSignature`` on every receipt it returns against the caller's
:class:`envelopes.trust.GatewayTrust` (required), so a caller never trusts an unsigned, tampered
or re-signed receipt, nor one signed by anyone but the configured gateway.
"""
from __future__ import annotations

import re
from datetime import datetime

import requests
from lxml import etree

from envelopes import ns
from envelopes.model import Fault, MessageMetadata, Party
from envelopes.mtom import answer_root
from envelopes.trust import GatewayTrust, UntrustedReceipt

T, F = ns.SMEV_TYPES, ns.SMEV_FAULTS
#: the first element inside the SOAP Body: the operation, which names the HTTP-level action
_OPERATION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Body\b[^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z]+)[\s/>]")


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


def read_receipt(root: etree._Element, trust: GatewayTrust) -> tuple[MessageMetadata, object]:
    """Find ``MessageMetadata``, check that the configured gateway signed it (``trust``), return
    both. Raises :class:`UntrustedReceipt` for an unsigned, forged or foreign receipt."""
    meta = root.find(f".//{{{T}}}MessageMetadata")
    signature = root.find(f".//{{{T}}}SMEVSignature/{{{ns.DS}}}Signature")
    verified = trust.check(signature, meta)
    metadata = MessageMetadata(
        message_id=meta.findtext(f"{{{T}}}MessageId"),
        message_type=meta.findtext(f"{{{T}}}MessageType"),
        sender=_party(meta.find(f"{{{T}}}Sender")),
        recipient=_party(meta.find(f"{{{T}}}Recipient")),
        sending_timestamp=_dt(meta.findtext(f"{{{T}}}SendingTimestamp")),
        delivery_timestamp=_dt(meta.findtext(f"{{{T}}}DeliveryTimestamp")),
        status=meta.findtext(f"{{{T}}}Status"),
        registration_number=meta.findtext(f"{{{ns.RECEIPT}}}Registration/{{{ns.RECEIPT}}}RegistrationNumber"),
        content_digest=meta.findtext(f"{{{ns.RECEIPT}}}Registration/{{{ns.RECEIPT}}}ContentDigest"),
        test_preview=meta.find(f"{{{ns.RECEIPT}}}TestPreview"))
    return metadata, verified


class GatewayClient:
    """Posts envelopes to one gateway; ``trust`` says which signer its receipts must have."""

    def __init__(self, endpoint: str, trust: GatewayTrust, *, timeout: float = 30.0,
                 session: requests.Session | None = None):
        if not isinstance(trust, GatewayTrust):
            raise TypeError("GatewayClient needs a GatewayTrust (envelopes.trust) to check receipts")
        self.endpoint = endpoint
        self.trust = trust
        self.timeout = timeout
        self.session = session or requests.Session()

    def post(self, envelope: bytes, soap_version: str = "1.1") -> tuple[int, etree._Element]:
        # the WSDL's soapAction: urn:<operation>, whose body element is <operation>Request
        element = _OPERATION.search(envelope[:64 * 1024])
        action = f"urn:{element.group(1).decode().removesuffix('Request')}" if element else ""
        if soap_version == "1.2":
            content_type = "application/soap+xml; charset=utf-8" + (
                f'; action="{action}"' if action else "")
            headers = {"Content-Type": content_type}
        else:
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
        reply = self.session.post(self.endpoint, data=envelope, headers=headers, timeout=self.timeout)
        # an MTOM answer (files as parts) is read with its parts inlined
        return reply.status_code, answer_root(reply.headers.get("Content-Type", ""), reply.content)

    def send_request(self, envelope: bytes, soap_version: str = "1.1") -> tuple[MessageMetadata, object]:
        """Post a signed SendRequest; return the verified receipt or raise :class:`GatewayFault`
        (the gateway refused) or :class:`UntrustedReceipt` (the answer is not the gateway's)."""
        status, root = self.post(envelope, soap_version)
        fault = parse_fault(status, root)
        if fault is not None:
            raise GatewayFault(fault)
        return read_receipt(root, self.trust)


__all__ = ["GatewayClient", "GatewayFault", "GatewayTrust", "UntrustedReceipt", "parse_fault",
           "read_receipt"]
