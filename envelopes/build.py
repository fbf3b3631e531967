"""Building SMEV envelopes on the client side, signed with the caller's key.

``send_request(...)`` returns the bytes of a SOAP 1.1 (or 1.2) ``SendRequest`` envelope whose
``SenderProvidedRequestData`` is signed (detached XMLDSig in ``CallerInformationSystemSignature``).
"""
from __future__ import annotations

from lxml import etree

from envelopes import ns
from envelopes.ids import new_message_id  # noqa: F401 - part of the SDK: build.new_message_id()
from signing.xmldsig import Profile, sign_detached

T, B = ns.SMEV_TYPES, ns.SMEV_BASIC
SPRD_ID = "SIGNED_BY_CONSUMER"


def _envelope(soap_version: str) -> tuple[etree._Element, etree._Element]:
    env_ns = ns.SOAP12_ENV if soap_version == "1.2" else ns.SOAP11_ENV
    envelope = etree.Element(ns.q(env_ns, "Envelope"), nsmap={"soap": env_ns})
    etree.SubElement(envelope, ns.q(env_ns, "Header"))
    body = etree.SubElement(envelope, ns.q(env_ns, "Body"))
    return envelope, body


def send_request(payload: etree._Element, private_key, certificate, *, message_id: str | None = None,
                 reference_message_id: str | None = None, test_message: bool = False,
                 soap_version: str = "1.1", profile: Profile = Profile.SMEV,
                 extra_certificates=(), sign: bool = True, transaction_code: str | None = None,
                 node_id: str | None = None, eol: str | None = None,
                 personal_signer: tuple | None = None) -> bytes:
    """A signed ``SendRequestRequest`` carrying ``payload`` (one business element)."""
    envelope, body = _envelope(soap_version)
    request = etree.SubElement(body, ns.q(T, "SendRequestRequest"), nsmap={"ns": T})
    data = etree.SubElement(request, ns.q(T, "SenderProvidedRequestData"))
    data.set("Id", SPRD_ID)
    etree.SubElement(data, ns.q(T, "MessageID")).text = message_id or new_message_id()
    if reference_message_id:
        etree.SubElement(data, ns.q(T, "ReferenceMessageID")).text = reference_message_id
    if transaction_code:
        etree.SubElement(data, ns.q(T, "TransactionCode")).text = transaction_code
    if node_id:
        etree.SubElement(data, ns.q(T, "NodeID")).text = node_id
    if eol:
        etree.SubElement(data, ns.q(T, "EOL")).text = eol
    content = etree.SubElement(data, ns.q(B, "MessagePrimaryContent"), nsmap={"b": B})
    content.append(payload)
    if personal_signer is not None:  # (key, certificate, chain) of the person signing the content
        person_key, person_cert, person_chain = personal_signer
        payload.set("Id", payload.get("Id") or "PERSONAL_CONTENT")
        holder = etree.SubElement(data, ns.q(T, "PersonalSignature"))
        sign_detached(payload, holder, person_key, person_cert, profile=profile,
                      extra_certificates=person_chain)
    if test_message:
        etree.SubElement(data, ns.q(T, "TestMessage"))
    holder = etree.SubElement(request, ns.q(T, "CallerInformationSystemSignature"))
    if sign:
        sign_detached(data, holder, private_key, certificate, profile=profile,
                      extra_certificates=extra_certificates)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _signed(operation: str, signed: etree._Element, private_key, certificate, *,
            extra_certificates=(), soap_version: str = "1.1", profile: Profile = Profile.SMEV,
            before_signature: list[etree._Element] = ()) -> bytes:
    envelope, body = _envelope(soap_version)
    request = etree.SubElement(body, ns.q(T, operation), nsmap={"ns": T, "b": B})
    request.append(signed)
    for element in before_signature:
        request.append(element)
    holder = etree.SubElement(request, ns.q(T, "CallerInformationSystemSignature"))
    sign_detached(signed, holder, private_key, certificate, profile=profile,
                  extra_certificates=extra_certificates)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


_LAST_STAMP: list = [None]
_STAMP_LOCK = __import__("threading").Lock()


def _now() -> str:
    """A timestamp for a signed selector: microseconds, and never the same twice in a process,
    since the gateway accepts a signed read request once (two polls signed with one key in the
    same instant would otherwise be one request twice)."""
    from datetime import datetime, timedelta, timezone

    with _STAMP_LOCK:
        now = datetime.now(timezone.utc)
        if _LAST_STAMP[0] is not None and now <= _LAST_STAMP[0]:
            now = _LAST_STAMP[0] + timedelta(microseconds=1)
        _LAST_STAMP[0] = now
    return now.isoformat(timespec="microseconds")


def message_type_selector(namespace: str | None = None, root: str | None = None,
                          node_id: str | None = None, timestamp: str | None = None) -> etree._Element:
    selector = etree.Element(ns.q(B, "MessageTypeSelector"), nsmap={"b": B})
    selector.set("Id", "SIGNED_BY_CALLER")
    if namespace is not None:
        etree.SubElement(selector, ns.q(B, "NamespaceURI")).text = namespace
        etree.SubElement(selector, ns.q(B, "RootElementLocalName")).text = root
    etree.SubElement(selector, ns.q(B, "Timestamp")).text = timestamp or _now()
    if node_id:
        etree.SubElement(selector, ns.q(B, "NodeID")).text = node_id
    return selector


def get_request(private_key, certificate, *, namespace=None, root=None, node_id=None,
                timestamp=None, **kwargs) -> bytes:
    """A signed ``GetRequestRequest`` (take the next request from my queue)."""
    return _signed("GetRequestRequest", message_type_selector(namespace, root, node_id, timestamp),
                   private_key, certificate, **kwargs)


def get_response(private_key, certificate, *, namespace=None, root=None, node_id=None,
                 timestamp=None, **kwargs) -> bytes:
    """A signed ``GetResponseRequest`` (take the next answer from my queue)."""
    return _signed("GetResponseRequest", message_type_selector(namespace, root, node_id, timestamp),
                   private_key, certificate, **kwargs)


def ack(message_id: str, private_key, certificate, *, accepted: bool = True, **kwargs) -> bytes:
    """A signed ``AckRequest`` confirming (or refusing) a message I took."""
    target = etree.Element(ns.q(B, "AckTargetMessage"), nsmap={"b": B})
    target.set("Id", "SIGNED_BY_CALLER")
    target.set("accepted", "true" if accepted else "false")
    target.text = message_id
    return _signed("AckRequest", target, private_key, certificate, **kwargs)


def _timestamp(value: str | None = None) -> etree._Element:
    stamp = etree.Element(ns.q(B, "Timestamp"), nsmap={"b": B})
    stamp.set("Id", "SIGNED_BY_CALLER")
    stamp.text = value or _now()
    return stamp


def get_status(private_key, certificate, *, timestamp: str | None = None, **kwargs) -> bytes:
    return _signed("GetStatusRequest", _timestamp(timestamp), private_key, certificate, **kwargs)


def get_incoming_queue_statistics(private_key, certificate, *, timestamp: str | None = None,
                                  **kwargs) -> bytes:
    return _signed("GetIncomingQueueStatisticsRequest", _timestamp(timestamp), private_key,
                   certificate, **kwargs)


def response_data(reply_to: str, *, payload: etree._Element | None = None,
                  rejections: list[tuple[str, str]] = (),
                  status: tuple[int, str] | tuple[int, str, dict] | None = None,
                  message_id: str | None = None,
                  element_id: str = "SIGNED_BY_PROVIDER",
                  test_message: bool = False) -> etree._Element:
    """``SenderProvidedResponseData`` answering the request whose ``ReplyTo`` was ``reply_to``:
    a business ``payload``, or ``rejections`` ((code, description), ...), or a ``status``
    ((code, description) or (code, description, {key: value}))."""
    data = etree.Element(ns.q(T, "SenderProvidedResponseData"), nsmap={"ns": T})
    data.set("Id", element_id)
    etree.SubElement(data, ns.q(T, "MessageID")).text = message_id or new_message_id()
    etree.SubElement(data, ns.q(T, "To")).text = reply_to
    if payload is not None:
        content = etree.SubElement(data, ns.q(B, "MessagePrimaryContent"), nsmap={"b": B})
        content.append(payload)
    elif rejections:
        for code, description in rejections:
            rejected = etree.SubElement(data, ns.q(T, "RequestRejected"))
            etree.SubElement(rejected, ns.q(T, "RejectionReasonCode")).text = code
            etree.SubElement(rejected, ns.q(T, "RejectionReasonDescription")).text = description[:4000]
    elif status is not None:
        block = etree.SubElement(data, ns.q(T, "RequestStatus"))
        etree.SubElement(block, ns.q(T, "StatusCode")).text = str(status[0])
        for key, value in (status[2] if len(status) > 2 else {}).items():
            parameter = etree.SubElement(block, ns.q(T, "StatusParameter"))
            etree.SubElement(parameter, ns.q(T, "Key")).text = key
            etree.SubElement(parameter, ns.q(T, "Value")).text = value
        etree.SubElement(block, ns.q(T, "StatusDescription")).text = status[1][:4000]
    else:
        raise ValueError("a response needs a payload, rejections or a status")
    if test_message:  # checked and previewed by the gateway, nothing done (gateway extension)
        etree.SubElement(data, ns.q(T, "TestMessage"))
    return data


def send_response(reply_to: str, private_key, certificate, *, payload: etree._Element | None = None,
                  rejections: list[tuple[str, str]] = (), status: tuple[int, str] | None = None,
                  message_id: str | None = None, test_message: bool = False, **kwargs) -> bytes:
    """A signed ``SendResponseRequest`` (see :func:`response_data` for the content)."""
    data = response_data(reply_to, payload=payload, rejections=rejections, status=status,
                         message_id=message_id, test_message=test_message)
    return _signed("SendResponseRequest", data, private_key, certificate, **kwargs)
