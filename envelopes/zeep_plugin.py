"""A zeep plugin: sign what leaves with the caller's key, believe only what the gateway signed.

Why in the SDK: any SOAP stack can talk to the gateway (zeep loads ``/ws?wsdl`` as it is), but
a stack without this plugin sends unsigned requests and accepts any receipt. Egress signs the
operation's signed element (``SenderProvidedRequestData`` and the others) into
``CallerInformationSystemSignature``; ingress checks every ``SMEVSignature`` of the answer with
the caller's :class:`envelopes.trust.GatewayTrust` and requires one on the receipts of
SendRequest and SendResponse. Faults are left to zeep (it raises ``zeep.exceptions.Fault``).
"""
from __future__ import annotations

from lxml import etree
from zeep import Plugin

from envelopes import ns
from envelopes.client import read_receipt
from envelopes.trust import GatewayTrust, UntrustedReceipt
from signing.xmldsig import sign_detached

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC

#: the element each operation signs, in the order they appear in the contract
SIGNED = (f"{{{T}}}SenderProvidedRequestData", f"{{{T}}}SenderProvidedResponseData",
          f"{{{B}}}MessageTypeSelector", f"{{{B}}}AckTargetMessage", f"{{{B}}}Timestamp")
#: answers that are receipts: they must carry a signed MessageMetadata
RECEIPTS = frozenset({f"{{{T}}}SendRequestResponse", f"{{{T}}}SendResponseResponse"})


def _body(envelope: etree._Element) -> etree._Element | None:
    for soap in (ns.SOAP11_ENV, ns.SOAP12_ENV):
        body = envelope.find(f"{{{soap}}}Body")
        if body is not None:
            return body
    return None


class GatewayPlugin(Plugin):
    """``GatewayPlugin(key, certificate, chain, trust=GatewayTrust(...))`` in ``zeep.Client(...,
    plugins=[...])``; an untrusted answer raises :class:`UntrustedReceipt` from the call."""

    def __init__(self, private_key, certificate, chain=(), *, trust: GatewayTrust):
        if not isinstance(trust, GatewayTrust):
            raise TypeError("GatewayPlugin needs a GatewayTrust (envelopes.trust) to check receipts")
        self.key, self.cert, self.chain, self.trust = private_key, certificate, tuple(chain), trust

    def egress(self, envelope, http_headers, operation, binding_options):
        body = _body(envelope)
        request = body[0] if body is not None and len(body) else None
        data = next((child for child in request if child.tag in SIGNED), None) \
            if request is not None else None
        if data is None:
            raise ValueError("the request holds none of the elements an SMEV operation signs")
        holder = request.find(f"{{{T}}}CallerInformationSystemSignature")
        if holder is None:
            holder = etree.SubElement(request, f"{{{T}}}CallerInformationSystemSignature")
        for old in list(holder):  # zeep needs a placeholder to build the element; drop it
            holder.remove(old)
        sign_detached(data, holder, self.key, self.cert, extra_certificates=self.chain)
        return envelope, http_headers

    def ingress(self, envelope, http_headers, operation):
        body = _body(envelope)
        if body is None or not len(body):
            raise UntrustedReceipt("the answer has no SOAP Body")
        answer = body[0]
        if etree.QName(answer).localname == "Fault":
            return envelope, http_headers
        if answer.tag in RECEIPTS:
            read_receipt(envelope, self.trust)
        for holder in answer.iter(f"{{{T}}}SMEVSignature"):
            self._check(holder)
        return envelope, http_headers

    def _check(self, holder: etree._Element) -> None:
        """The gateway signs a sibling of its SMEVSignature (the Request, Response or
        MessageMetadata it delivers); the Reference names which."""
        signature = holder.find(f"{{{ns.DS}}}Signature")
        reference = signature.find(f"{{{ns.DS}}}SignedInfo/{{{ns.DS}}}Reference") \
            if signature is not None else None
        uri = reference.get("URI", "") if reference is not None else ""
        target = next((el for el in holder.getparent() if el is not holder and uri.startswith("#")
                       and el.get("Id") == uri[1:]), None)
        self.trust.check(signature, target)


__all__ = ["GatewayPlugin", "SIGNED"]
