"""The stages the exchange operations share, each a function ``(services, ctx) -> None``.

Their order per operation is declared in each ``gateway/exchange/<operation>.py`` (``OPERATION``)
and listed in docs/protocol.md. A stage reads only what earlier stages established; after
``signature`` it reads only the verified element (``ctx.data``), never the raw tree."""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime, timedelta, timezone

from lxml import etree

from envelopes import ns
from envelopes.tree import child
from gateway import faults
from gateway.pipeline.context import Caller, Context
from gateway.pipeline.identity import check_message_id
from gateway.pipeline.participants import SEND, fingerprint
from gateway.pipeline.validate import raise_if_invalid
from gateway.pipeline.validate.fields import field_rule_issues
from gateway.storage import journal
from gateway.storage import messages, seen
from signing.c14n import exc_c14n

T, B, DS = ns.SMEV_TYPES, ns.SMEV_BASIC, ns.DS
TYPES_XSD = "smev-message-exchange-types-1.1.xsd"


# -- envelope and caller ---------------------------------------------------------------------

_KEY_INFO_CERTS = etree.XPath(
    "t:CallerInformationSystemSignature/ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate",
    namespaces={"t": T, "ds": DS})
MAX_CERTIFICATES = 8  # a signer and its intermediates; more is not a KeyInfo anyone needs
MAX_CERTIFICATE_CHARS = 16_384


_RAW_CERTIFICATE = re.compile(rb"X509Certificate(?:\s[^<>]{0,200})?>([^<]{0,20000})<")
SCREEN_FROM_BYTES = 64 * 1024  # smaller requests cost less to parse than to screen


def screen_signer(svc, data: bytes) -> None:
    """Before a large request is parsed: refuse it if none of the certificates its raw bytes
    carry belongs to a registered information system. A superset test — a registered
    certificate in the parsed KeyInfo is always found in the raw bytes — that can only refuse
    what :func:`known_signer` would refuse later; text it cannot judge (character references,
    CDATA) leaves the decision to the later stages."""
    if len(data) < SCREEN_FROM_BYTES:
        return
    candidates = _RAW_CERTIFICATE.findall(data)
    if not candidates and b"X509Certificate" not in data:
        if b"Signature" not in data:
            raise faults.SignatureVerificationFault(
                "the request is not signed: CallerInformationSystemSignature/ds:Signature is missing",
                code="NO_SIGNATURE")
        raise faults.SignatureVerificationFault(
            "KeyInfo/X509Data/X509Certificate with the signer's certificate is missing",
            code="NO_SIGNING_CERTIFICATE_FOUND")
    for text in candidates[:MAX_CERTIFICATES * 4]:
        key = _text_fingerprint(text)
        if key is None or svc.participants.known_fingerprint(key):
            return  # cannot judge it, or registered: the parsed stages decide
    if len(candidates) <= MAX_CERTIFICATES * 4 and candidates:
        raise faults.SenderIsNotRegistered(
            "no certificate in the request belongs to a registered information system",
            code="SENDER_IS_NOT_REGISTERED")


def _certificate_der(text: bytes | str) -> bytes | None:
    if isinstance(text, bytes):
        if b"&" in text:
            return None
        text = text.decode("ascii", "replace")
    if len(text) > MAX_CERTIFICATE_CHARS:
        return None
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


#: base64 certificate text (bytes from the raw screen, str from the tree) -> SHA-256 of its DER:
#: the same few certificates arrive with every message. Bounded: emptied when full.
_TEXT_FINGERPRINTS: dict[bytes | str, str] = {}


def _text_fingerprint(text: bytes | str) -> str | None:
    """The fingerprint of a certificate given as base64 text; None if it cannot be judged."""
    key = _TEXT_FINGERPRINTS.get(text)
    if key is None:
        der = _certificate_der(text)
        if der is None:
            return None
        key = hashlib.sha256(der).hexdigest()
        if len(_TEXT_FINGERPRINTS) >= 1024:
            _TEXT_FINGERPRINTS.clear()
        _TEXT_FINGERPRINTS[text] = key
    return key


def known_signer(svc, ctx: Context) -> None:
    """Cheap first: before any XSD, canonicalization or cryptography, one of the certificates
    in the caller's KeyInfo must belong to a registered information system (a hash and a cached
    look-up). Anyone can open a socket; only registered systems get the expensive checks. The
    ``signature`` and ``participant`` stages still decide on the certificate actually verified."""
    request = ctx.request
    holder = child(request, ns.q(T, "CallerInformationSystemSignature"))
    if holder is None or child(holder, ns.q(DS, "Signature")) is None:
        raise faults.SignatureVerificationFault(
            "the request is not signed: CallerInformationSystemSignature/ds:Signature is missing",
            code="NO_SIGNATURE")
    found = _KEY_INFO_CERTS(request)
    if not found:
        raise faults.SignatureVerificationFault(
            "KeyInfo/X509Data/X509Certificate with the signer's certificate is missing",
            code="NO_SIGNING_CERTIFICATE_FOUND")
    for element in found[:MAX_CERTIFICATES]:
        key = _text_fingerprint(element.text or "")
        if key is not None and svc.participants.known_fingerprint(key):
            return
    raise faults.SenderIsNotRegistered(
        "no certificate in the signature's KeyInfo belongs to a registered information system",
        code="SENDER_IS_NOT_REGISTERED")


def envelope_xsd(svc, ctx: Context) -> None:
    """The operation element against the message-exchange XSD (fixes every element's place)."""
    raise_if_invalid(svc.schemas.get(TYPES_XSD).errors(ctx.request, ctx.raw), "the request envelope")


def signature(svc, ctx: Context) -> None:
    """``CallerInformationSystemSignature`` over the single signed child the XSD fixed, and the
    signer's certificate path; from here on only the verified element is read."""
    request = ctx.request
    target = child(request, ctx.operation.signed)
    holder = child(request, ns.q(T, "CallerInformationSystemSignature"))
    found = [c for c in holder if isinstance(c.tag, str)] if holder is not None else []
    if len(found) > 1 or (found and found[0].tag != ns.q(DS, "Signature")):
        raise faults.SignatureVerificationFault(
            "CallerInformationSystemSignature must hold exactly one ds:Signature", code="FORMAT_FAILURE")
    if not found:
        raise faults.SignatureVerificationFault(
            "the request is not signed: CallerInformationSystemSignature/ds:Signature is missing",
            code="NO_SIGNATURE")
    ctx.verified = svc.verifier.verify(found[0], target, at=ctx.now)


def participant(svc, ctx: Context) -> None:
    """The signing certificate must belong to a registered, enabled information system."""
    ctx.caller = Caller(ctx.verified, svc.participants.sender_of(ctx.verified.signature.certificate))


def caller_signature(ctx: Context) -> etree._Element:
    """The caller's signature (verified by then), to be delivered beside its data: its
    ds:Signature, or the JWS of a request that came over REST (gateway/exchange/rest_request.py)."""
    return signature_in(ctx.request)


def signature_in(request: etree._Element) -> etree._Element | None:
    """The one element in a request's ``CallerInformationSystemSignature``."""
    holder = child(request, ns.q(T, "CallerInformationSystemSignature"))
    found = [c for c in holder if isinstance(c.tag, str)] if holder is not None else []
    return found[0] if found else None


# -- messages that are stored ----------------------------------------------------------------

def canonical_data(ctx: Context) -> bytes:
    """The exclusive c14n of the verified element: the one the signature check made on the way
    when it made one (``VerifiedSignature.canonical``), else made here."""
    verified = ctx.verified.signature
    if verified.canonical is not None and verified.element is ctx.data:
        return verified.canonical
    return exc_c14n(ctx.data)


def replay(svc, ctx: Context) -> None:
    """A MessageID already stored answers with its original receipt, byte for byte, before any
    handler runs; the same MessageID over other content is ``MessageIsAlreadySent``."""
    claimed = (ctx.data_text(ns.q(T, "MessageID")) or "").strip()
    ctx.digest = hashlib.sha256(canonical_data(ctx)).hexdigest()
    stored = messages.lookup(svc.engine, claimed)
    if stored is not None:
        ctx.answer = same_message(stored, claimed, ctx.digest)


def same_message(stored: messages.StoredMessage, message_id: str, digest: str) -> bytes:
    if stored.content_digest != digest:
        raise faults.MessageIsAlreadySent(
            f"MessageID {message_id} was already used for a different message",
            code="MESSAGE_ID_REUSED")
    return stored.receipt


def message_id(svc, ctx: Context) -> None:
    """MessageID: a UUID version 1 in canonical form, generated inside the accepted window."""
    ctx.message_id = check_message_id(
        ctx.data_text(ns.q(T, "MessageID")), ctx.now,
        max_age=timedelta(seconds=svc.settings.message_id_max_age_seconds),
        max_future=timedelta(seconds=svc.settings.message_id_max_future_seconds))


def business_payload(svc, ctx: Context) -> None:
    """The single business element of ``MessagePrimaryContent``."""
    content = ctx.data_child(ns.q(B, "MessagePrimaryContent"))
    business = [c for c in content if isinstance(c.tag, str)] if content is not None else []
    if len(business) != 1:
        raise faults.InvalidContent(f"the {ctx.operation.name} message: MessagePrimaryContent must "
                                    "hold exactly one business element", code="XSD_VIOLATION")
    ctx.payload = business[0]


def personal_signature(svc, ctx: Context) -> None:
    """A person's ``PersonalSignature`` over the business content, verified like the caller's
    (the content at its fixed place, the certificate path): it speaks for who acts."""
    holder = ctx.data_child(ns.q(T, "PersonalSignature"))
    if holder is None:
        return
    found = [c for c in holder if isinstance(c.tag, str)]
    if len(found) != 1 or found[0].tag != ns.q(DS, "Signature"):
        raise faults.SignatureVerificationFault("PersonalSignature must hold exactly one ds:Signature",
                                                code="FORMAT_FAILURE")
    verified = svc.verifier.verify(found[0], ctx.payload, at=ctx.now)
    ctx.person, ctx.person_not_after = verified.identity, verified.signature.certificate.not_valid_after_utc


def route(svc, ctx: Context) -> None:
    """The payload's root QName names its business type: a built-in domain handler, or the
    external providers registered to serve it; neither is ``BusinessDataTypeIsNotSupported``."""
    qname = etree.QName(ctx.payload)
    namespace, root = qname.namespace or "", qname.localname
    ctx.domain, ctx.handler = svc.router.route(ctx.payload)
    registered = svc.participants.providers(namespace, root)
    if ctx.handler is None and not registered:
        raise faults.BusinessDataTypeIsNotSupported(
            f"no provider serves the business type {{{namespace}}}{root}",
            code="BUSINESS_DATA_TYPE_IS_NOT_SUPPORTED",
            fields=[("RootElementLocalName", root), ("RootElementNamespaceURI", namespace)])
    ctx.providers = [p for p in registered if svc.participants.enabled(p)]
    if ctx.handler is None and not ctx.providers:
        raise faults.RecipientIsNotFound(
            f"every provider of {{{namespace}}}{root} is disabled: {', '.join(registered)}",
            code="RECIPIENT_IS_NOT_FOUND")


def authorize(svc, ctx: Context) -> None:
    """The sender needs a ``send`` permission for the business type."""
    qname = etree.QName(ctx.payload)
    sender = ctx.caller.system.mnemonic
    if not svc.participants.allowed(sender, SEND, qname.namespace or "", qname.localname):
        raise faults.AccessDenied(f"{sender} may not send {{{qname.namespace}}}{qname.localname}",
                                  code="ACCESS_DENIED")


def payload_rules(svc, ctx: Context) -> None:
    """A built-in domain's payload against its XSD, then the identifiers' checksum rules."""
    if ctx.payload is None or ctx.domain is None or \
            etree.QName(ctx.payload).namespace != ctx.domain.namespace:
        return
    raise_if_invalid(svc.schemas.get(ctx.domain.xsd).errors(ctx.payload, ctx.raw), "the business payload")
    raise_if_invalid(field_rule_issues(ctx.payload, ctx.raw), "the business payload")


# -- signed read operations -------------------------------------------------------------------

def check_timestamp(svc, text: str | None, now: datetime, what: str) -> None:
    """A signed selector/timestamp must be current, so a captured one cannot be replayed later."""
    skew = timedelta(seconds=svc.settings.request_timestamp_skew_seconds)
    try:
        stamp = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise faults.InvalidContent(f"{what} is not an xs:dateTime", code="BAD_TIMESTAMP") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    if abs(stamp - now) > skew:
        raise faults.InvalidContent(
            f"{what} {stamp.isoformat()} is more than {skew} away from the gateway's clock "
            f"{now.isoformat()}", code="STALE_TIMESTAMP")


def not_replayed(svc, ctx: Context) -> None:
    """The same signed read request (operation, signer, signed content) is accepted once: a
    captured GetResponse replayed inside its freshness window would take the next message off
    the caller's queue. Remembered in the database (every worker and node sees it) until its
    timestamp is too old to pass ``freshness`` — an Ack, which has none, for
    ``GATEWAY_REPLAY_MEMORY_SECONDS``."""
    material = b"\x1f".join([ctx.operation.name.encode(), fingerprint(ctx.verified.signature.certificate)
                             .encode(), canonical_data(ctx)])
    key = hashlib.sha256(material).hexdigest()
    stamp = _timestamp_of(ctx)
    skew = timedelta(seconds=svc.settings.request_timestamp_skew_seconds)
    expires = (stamp + skew) if stamp is not None else \
        ctx.now + timedelta(seconds=svc.settings.replay_memory_seconds)
    expires = max(expires, ctx.now + timedelta(seconds=1))
    if ctx.operation.replay_with_effect:  # written with the effect (remember_replay)
        ctx.replay = (key, expires)
        return
    if not seen.first_time(svc.engine, key, ctx.now, expires):
        raise _replayed(ctx)


def remember_replay(conn, ctx: Context) -> None:
    """The replay memory ``not_replayed`` left to this transaction: written with the effect it
    guards, so a crash between them cannot leave a request remembered but not carried out
    (an Ack, which cannot be signed anew, could then never be carried out). A copy that got
    in first makes this one a replay: raised, its transaction writes nothing."""
    if ctx.replay is None:  # an operation that keeps no replay memory
        return
    key, expires = ctx.replay
    if not seen.remember(conn, key, ctx.now, expires):
        raise _replayed(ctx)


def _replayed(ctx: Context) -> faults.InvalidContent:
    return faults.InvalidContent(
        f"this signed {ctx.operation.name} was accepted before: sign a new one (with a new "
        "Timestamp) for every request", code="REPLAYED_REQUEST")


def _timestamp_of(ctx: Context) -> datetime | None:
    text = ctx.data.text if ctx.data.tag == ns.q(B, "Timestamp") else \
        ctx.data_text(ns.q(B, "Timestamp"))
    try:
        stamp = datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def freshness(svc, ctx: Context) -> None:
    """The signed ``Timestamp`` (of a selector, or the signed element itself) is current."""
    stamp = ctx.data_child(ns.q(B, "Timestamp"))
    if ctx.data.tag == ns.q(B, "Timestamp"):
        check_timestamp(svc, ctx.data.text, ctx.now, "Timestamp")
    else:
        check_timestamp(svc, stamp.text if stamp is not None else None, ctx.now,
                        f"{etree.QName(ctx.data).localname}/Timestamp")


# -- the journal --------------------------------------------------------------------------------

def journal_exchange(conn, ctx: Context, answer: bytes, **detail) -> None:
    """Journal a request and the answer to it (inside the operation's transaction)."""
    journal.append_many(conn, [
        journal.Entry(ctx.now, detail.pop("message_id", None), "IN", ctx.operation.name,
                      {"sender": ctx.caller.system.mnemonic,
                       "verification": ctx.caller.verified.journal_detail(), **detail},
                      ctx.raw, keep=True),
        journal.Entry(ctx.now, None, "OUT", f"{ctx.operation.name}Response", {}, answer, keep=True)])
