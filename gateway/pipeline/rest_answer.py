"""The REST answer: the SOAP receipt's content as JSON, signed by the gateway as a JWS.

The receipt a SendRequest stores (signed XML, kept with the message and returned again for a
repeated MessageID) stays the one record: the JSON is read from it, so a repeated REST request
gets the same JSON, and the XML receipt itself travels inside (``receipt``), for a client that
keeps the XMLDSig proof as SOAP clients do. Faults are the SOAP faults' element, code,
description, fields and validation errors (docs/openapi.yaml, ``Fault``).
"""
from __future__ import annotations

import base64
import json

from lxml import etree

from envelopes import ns
from gateway import faults
from gateway.storage.applications import opened_by_message
from signing import jws as jose

T = ns.SMEV_TYPES
MEDIA_TYPE = "application/jose"


def receipt_document(svc, receipt: bytes) -> dict:
    """The stored ``SendRequestResponse`` as the JSON receipt."""
    meta = etree.fromstring(receipt).find(f"{{{T}}}MessageMetadata")

    def text(path: str) -> str | None:
        return meta.findtext(path, namespaces={"t": T, "gw": ns.RECEIPT})

    message_id = text("t:MessageId")
    digest = text("gw:Registration/gw:ContentDigest")
    document = {
        "messageId": message_id, "status": text("t:Status"),
        "registrationNumber": text("gw:Registration/gw:RegistrationNumber"),
        "contentDigest": {"algorithm": "SHA-256", "hex": base64.b64decode(digest).hex()} if digest else None,
        "sender": {"mnemonic": text("t:Sender/t:Mnemonic"),
                   "name": text("t:Sender/t:HumanReadableName")},
        "recipient": {"mnemonic": text("t:Recipient/t:Mnemonic"),
                      "name": text("t:Recipient/t:HumanReadableName")},
        "sendingTimestamp": text("t:SendingTimestamp"),
        "businessType": text("t:SupplementaryData/t:DetectedContentTypeName"),
    }
    application = opened_by_message(svc.engine, message_id) if message_id else None
    if application is not None:  # immutable facts only: the same answer to a repeat
        document["application"] = {"id": application.id, "domain": application.domain,
                                   "kind": application.kind}
    document["receipt"] = base64.b64encode(receipt).decode("ascii")
    return document


def fault_document(fault: faults.GatewayFault, message_id: str | None = None) -> dict:
    error = {"fault": fault.element, "code": fault.code, "description": fault.description,
             "client": fault.client}
    fields = fault.detail_fields()
    if fields:
        error["fields"] = {name: value for name, value in fields}
    if fault.issues:
        error["validationErrors"] = [
            {k: v for k, v in (("code", i.code), ("description", i.description), ("xpath", i.xpath),
                               ("line", i.line), ("column", i.column)) if v is not None}
            for i in fault.issues]
    return {"messageId": message_id, "error": error} if message_id else {"error": error}


def fault_status(fault: faults.GatewayFault) -> int:
    if fault.http_status:
        return fault.http_status
    if fault.code == "REGISTER_UNAVAILABLE":
        return 503
    return 400 if fault.client else 500


def signed(svc, document: dict) -> bytes:
    """``document`` as a compact JWS by the gateway's key, x5c = its certificate and chain."""
    signer = svc.signer
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return jose.sign(payload, signer.private_key, signer.certificate, chain=signer.chain,
                     headers={"typ": "JOSE", "cty": "application/json"}).encode("ascii")


def response_document(svc, ctx, answer) -> dict:
    """GetResponse's answer as JSON: the next answer to one of the caller's requests (its
    business content in the JSON form of envelopes/payloads, or its rejections or status), with
    the signed ``ResponseMessage`` itself (base64) — or ``{"response": null}``."""
    from envelopes.payloads import codec, json_form
    from envelopes.payloads._xml import PayloadError

    body = getattr(answer, "body", answer)  # an MtomAnswer's files stay for SOAP GetResponse
    message = etree.fromstring(body).find(f"{{{T}}}ResponseMessage")
    if message is None:
        return {"response": None}
    response = message.find(f"{{{T}}}Response")
    data = response.find(f"{{{T}}}SenderProvidedResponseData")
    found = {"messageId": data.findtext(f"{{{T}}}MessageID"),
             "originalMessageId": response.findtext(f"{{{T}}}OriginalMessageId")}
    content = data.find(f"{{{ns.SMEV_BASIC}}}MessagePrimaryContent")
    if content is not None and len(content):
        element = content[0]
        found["type"] = etree.QName(element).localname
        try:
            found["payload"] = json_form.to_json(codec.parse(element))
        except (PayloadError, TypeError, ValueError):  # a provider's type without a codec
            found["payloadXml"] = etree.tostring(element, encoding="unicode")
    rejections = data.findall(f"{{{T}}}RequestRejected")
    if rejections:
        found["rejections"] = [{"code": r.findtext(f"{{{T}}}RejectionReasonCode"),
                                "description": r.findtext(f"{{{T}}}RejectionReasonDescription")}
                               for r in rejections]
    status = data.find(f"{{{T}}}RequestStatus")
    if status is not None:
        found["status"] = {
            "code": status.findtext(f"{{{T}}}StatusCode"),
            "description": status.findtext(f"{{{T}}}StatusDescription"),
            "parameters": {p.findtext(f"{{{T}}}Key"): p.findtext(f"{{{T}}}Value")
                           for p in status.findall(f"{{{T}}}StatusParameter")}}
    if getattr(answer, "parts", ()):
        found["attachmentsOmitted"] = True
    found["message"] = base64.b64encode(etree.tostring(message, encoding="UTF-8")).decode("ascii")
    return {"response": found}


def ack_document(svc, ctx, answer) -> dict:
    target = ctx.data
    return {"acknowledged": (target.text or "").strip(),
            "accepted": target.get("accepted") == "true"}


#: REST operation name → its answer as JSON, from (services, context, the operation's answer)
RENDER = {"RestSendRequest": lambda svc, ctx, answer: receipt_document(svc, answer),
          "RestGetResponse": response_document, "RestAck": ack_document}
