"""What the exchange delivers: ``RequestMessage`` (GetRequest), ``ResponseMessage``
(GetResponse) and ``SmevAsyncProcessingMessage`` (GetStatus), each signed by the gateway
(``SMEVSignature``) once — when queued, or for built-in answers when first taken — and
delivered byte for byte on every (re)delivery.

The original sender's signed element and signature are copied unchanged: exclusive c14n and the
SMEV transform depend only on what the element uses, so the recipient can verify the original
signature in its new place.
"""
from __future__ import annotations

import copy

from lxml import etree

from envelopes import ns
from envelopes.build import response_data
from gateway.pipeline.identity import new_message_id
from gateway.pipeline.receipt import (ReceiptData, ReceiptSigner, lxml_text, metadata_element,
                                      metadata_text)

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
SMEV_ID = "SIGNED_BY_SMEV"
PROVIDER_ID = "SIGNED_BY_GATEWAY_PROVIDER"


def _free_id(preferred: str, taken: set[str]) -> str:
    candidate, n = preferred, 0
    while candidate in taken:
        n += 1
        candidate = f"{preferred}_{n}"
    return candidate


_ID_VALUES = etree.XPath("descendant-or-self::*/@Id")  # compiled once, not per call


def _ids(element: etree._Element) -> set[str]:
    return set(_ID_VALUES(element))


def request_message(data: etree._Element, signature: etree._Element, meta: ReceiptData,
                    reply_to: str, signer: ReceiptSigner) -> bytes:
    """``RequestMessage``: the consumer's signed data and signature, metadata, reply address,
    signed by the gateway over ``Request``."""
    wrapper = etree.Element(ns.q(T, "RequestMessage"), nsmap={"ns": T})
    request = etree.SubElement(wrapper, ns.q(T, "Request"))
    request.append(copy.deepcopy(data))
    request.append(metadata_element(meta, element_id=None, registration=False))
    etree.SubElement(request, ns.q(T, "ReplyTo")).text = reply_to
    holder = etree.SubElement(request, ns.q(T, "SenderInformationSystemSignature"))
    holder.append(copy.deepcopy(signature))
    request.set("Id", _free_id(SMEV_ID, _ids(data) | _ids(signature)))
    signer.sign(request, etree.SubElement(wrapper, ns.q(T, "SMEVSignature")))
    return etree.tostring(wrapper, encoding="UTF-8")


PENDING = b"UNSIGNED:"  # a stored body the gateway signs when it is first delivered


def response_message(data: etree._Element, signature: etree._Element | None, meta: ReceiptData,
                     original_message_id: str, reference_message_id: str | None,
                     signer: ReceiptSigner | None) -> bytes:
    """``ResponseMessage``: the provider's signed data and signature, metadata, signed by the
    gateway over ``Response``. ``signature`` is None when the gateway itself is the provider:
    its ``SMEVSignature`` over ``Response`` already covers the data (the contract makes
    ``SenderInformationSystemSignature`` optional), so it is not signed twice."""
    wrapper = etree.Element(ns.q(T, "ResponseMessage"), nsmap={"ns": T})
    response = etree.SubElement(wrapper, ns.q(T, "Response"))
    etree.SubElement(response, ns.q(T, "OriginalMessageId")).text = original_message_id
    if reference_message_id:
        etree.SubElement(response, ns.q(T, "ReferenceMessageID")).text = reference_message_id
    response.append(copy.deepcopy(data))
    response.append(metadata_element(meta, element_id=None, registration=False))
    taken = _ids(data)
    if signature is not None:
        holder = etree.SubElement(response, ns.q(T, "SenderInformationSystemSignature"))
        holder.append(copy.deepcopy(signature))
        taken |= _ids(signature)
    response.set("Id", _free_id(SMEV_ID, taken))
    if signer is None:  # deferred: signed by sign_pending() when first taken
        return PENDING + etree.tostring(wrapper, encoding="UTF-8")
    signer.sign(response, etree.SubElement(wrapper, ns.q(T, "SMEVSignature")))
    return etree.tostring(wrapper, encoding="UTF-8")


def gateway_answer(reply_to: str, meta_of, original_message_id: str,
                   reference_message_id: str | None, *, payload: etree._Element | None = None,
                   rejections: list[tuple[str, str]] = (),
                   status: tuple[int, str, dict] | None = None) -> tuple[str, bytes]:
    """(message id, stored body) of the gateway's own answer as a built-in provider: the
    :data:`PENDING` ``ResponseMessage`` that :func:`gateway_response_data` and
    :func:`response_message` build, signed when first taken. ``meta_of(message id)`` gives its
    metadata.

    An answer with a business payload (what every built-in domain sends) is written from a
    template around the payload's own serialisation: the same bytes as the tree builder
    (tests/unit/gateway/test_answer_template.py), without building, copying and serialising
    the wrapper's tree on the request path. Rejections, statuses, and a payload that names the
    wrapper's Id or declares its prefixes, take the tree builder."""
    if payload is not None:
        content = etree.tostring(payload, encoding="UTF-8")
        # the tree builder would pick another Id for the wrapper, or drop the payload's own
        # declarations of the ns and b prefixes that the wrapper declares: leave those to it
        if SMEV_ID.encode() not in content and b" xmlns:ns=" not in content \
                and b" xmlns:b=" not in content:
            message_id = new_message_id()
            reference = (f"<ns:ReferenceMessageID>{lxml_text(reference_message_id)}"
                         f"</ns:ReferenceMessageID>" if reference_message_id else "")
            head = (f'<ns:ResponseMessage xmlns:ns="{T}"><ns:Response Id="{SMEV_ID}">'
                    f"<ns:OriginalMessageId>{lxml_text(original_message_id)}</ns:OriginalMessageId>"
                    f'{reference}<ns:SenderProvidedResponseData Id="{PROVIDER_ID}">'
                    f"<ns:MessageID>{message_id}</ns:MessageID><ns:To>{lxml_text(reply_to)}</ns:To>"
                    f'<b:MessagePrimaryContent xmlns:b="{B}">')
            tail = ("</b:MessagePrimaryContent></ns:SenderProvidedResponseData>"
                    + metadata_text(meta_of(message_id)) + "</ns:Response></ns:ResponseMessage>")
            return message_id, PENDING + head.encode("utf-8") + content + tail.encode("utf-8")
    message_id, data = gateway_response_data(reply_to, payload=payload, rejections=rejections,
                                             status=status)
    return message_id, response_message(data, None, meta_of(message_id), original_message_id,
                                        reference_message_id, None)


_OWN = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def sign_pending(body: bytes, signer: ReceiptSigner) -> bytes:
    """Sign a body stored with :data:`PENDING` (the gateway's own XML, so a plain parse is safe)."""
    wrapper = etree.fromstring(body[len(PENDING):], _OWN)
    response = wrapper.find(ns.q(T, "Response"))
    signer.sign(response, etree.SubElement(wrapper, ns.q(T, "SMEVSignature")))
    return etree.tostring(wrapper, encoding="UTF-8")


def gateway_response_data(reply_to: str, *, payload: etree._Element | None = None,
                          rejections: list[tuple[str, str]] = (),
                          status: tuple[int, str, dict] | None = None) -> tuple[str, etree._Element]:
    """``SenderProvidedResponseData`` written by the gateway as a built-in provider (covered by
    the ``SMEVSignature`` of the ``Response`` that carries it). Returns (message id, data)."""
    message_id = new_message_id()
    return message_id, response_data(reply_to, payload=payload, rejections=rejections,
                                     status=status, message_id=message_id, element_id=PROVIDER_ID)


def status_message(original_message_id: str, category: str, details: str | None,
                   signer: ReceiptSigner) -> bytes:
    """``SmevAsyncProcessingMessage`` about one of the recipient's messages."""
    wrapper = etree.Element(ns.q(T, "SmevAsyncProcessingMessage"), nsmap={"ns": T})
    data = etree.SubElement(wrapper, ns.q(T, "AsyncProcessingStatusData"))
    data.set("Id", SMEV_ID)
    status = etree.SubElement(data, ns.q(T, "AsyncProcessingStatus"))
    etree.SubElement(status, ns.q(T, "OriginalMessageId")).text = original_message_id
    etree.SubElement(status, ns.q(T, "StatusCategory")).text = category
    if details:
        etree.SubElement(status, ns.q(T, "StatusDetails")).text = details[:500]
    signer.sign(data, etree.SubElement(wrapper, ns.q(T, "SMEVSignature")))
    return etree.tostring(wrapper, encoding="UTF-8")


def wrap_operation(element: str, body: bytes | None) -> bytes:
    """``<ns:{element}>`` around a stored body (or empty), without re-serializing the body."""
    if body is None:
        return f'<ns:{element} xmlns:ns="{T}"/>'.encode()
    return f'<ns:{element} xmlns:ns="{T}">'.encode() + body + f"</ns:{element}>".encode()


def with_attachments(body: bytes, content_list: bytes) -> bytes:
    """Put ``AttachmentContentList`` into a stored Request/ResponseMessage, just before its
    ``SMEVSignature`` (which covers only the Request/Response, so it stays valid)."""
    at = body.rfind(b"<ns:SMEVSignature")
    if at < 0:
        raise ValueError("not a stored RequestMessage/ResponseMessage")
    return body[:at] + content_list + body[at:]
