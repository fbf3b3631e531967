"""Client side of the REST front (``POST /api/v1/messages``): a business payload dataclass as a
JWS-signed JSON request, and the gateway's JWS answer read back (docs/integration.md, «REST
and JSON»). The JSON form is :mod:`envelopes.payloads.json_form`'s; the JWS is
:mod:`signing.jws`'s, on the same algorithms as the SOAP signatures."""
from __future__ import annotations

import json
from typing import Any

from cryptography import x509

from envelopes.build import new_message_id
from envelopes.payloads import json_form
from envelopes.payloads.codec import CODECS
from signing import jws as jose
from signing.errors import SignatureCryptoError

from lxml import etree


def request_document(payload: Any, *, message_id: str | None = None, **fields) -> dict:
    """The JSON request: ``type`` (the payload's root), ``payload`` (its JSON form), the
    ``messageId`` (a new UUID version 1 unless given) and SendRequest's optional fields
    (``referenceMessageId``, ``transactionCode``, ``nodeId``, ``eol``, ``testMessage``)."""
    root = etree.QName(CODECS[type(payload)][0]).localname
    return {"messageId": message_id or new_message_id(), "type": root,
            "payload": json_form.to_json(payload), **fields}


def sign_request(document: dict, private_key, certificate: x509.Certificate, *, chain=(),
                 alg: str | None = None) -> str:
    """``document`` as a compact JWS (``Content-Type: application/jose``), x5c = the IS's
    certificate and its chain."""
    return jose.sign(json.dumps(document, ensure_ascii=False).encode("utf-8"), private_key,
                     certificate, chain=chain, alg=alg)


def read_answer(body: bytes, gateway_certificate: x509.Certificate) -> dict:
    """The gateway's answer (a compact JWS), verified: signed by ``gateway_certificate`` (pinned,
    as the SDK pins it for SOAP receipts), its JSON."""
    verified = jose.verify(jose.parse(body, json_serialization=False))
    if verified.certificate != gateway_certificate:
        raise SignatureCryptoError("the answer is signed by another certificate than the "
                                        "gateway's")
    return json.loads(verified.payload)


def selector_document(*, namespace: str | None = None, type: str | None = None,
                      node_id: str | None = None, timestamp: str | None = None) -> dict:
    """The JSON of ``POST /api/v1/responses`` (GetResponse): a fresh timestamp (each signed
    read is accepted once), optionally one business type."""
    from envelopes.build import _now

    document = {"timestamp": timestamp or _now()}
    if namespace is not None:
        document.update(namespace=namespace, type=type)
    if node_id:
        document["nodeId"] = node_id
    return document


def ack_document(message_id: str, accepted: bool = True) -> dict:
    """The JSON of ``POST /api/v1/acks`` (Ack) for a message taken with ``/responses``."""
    return {"messageId": message_id, "accepted": accepted}
