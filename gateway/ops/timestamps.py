"""Trusted time for receipts, off the request path.

``stamp_round`` (run by every serving process's background thread every
GATEWAY_TIMESTAMP_INTERVAL_SECONDS when GATEWAY_TSA_URL is set) takes the receipts that have no
token yet, builds a Merkle tree over their SignatureValues, asks the TSA for one RFC 3161 token
over the root and stores the token with each receipt's path. A receipt leaves before any of
this: a TSA that is slow or down delays the proof, never an answer.

``verify_receipt`` (``gateway receipts verify FILE --at DATE``) proves that a receipt was signed
while the gateway's certificate was valid: its signature verifies, its SignatureValue is a leaf
under the token's Merkle root, the token verifies, and both the gateway's and the TSA's
certificate paths validate at the token's genTime, their revocation checked against the CRLs and
OCSP answers archived with the token (``revocation_evidence``) — which stays true after the
certificate expires and after the CA's responders are gone (docs/trust.md, «Trusted time»).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
from datetime import datetime

import requests
from cryptography import x509
from lxml import etree

from envelopes import ns
from gateway.config import Settings
from gateway.storage import timestamps as store
from signing import timestamp
from signing.algorithms import policy_for
from signing.chain import ChainValidator
from signing.errors import SignatureError
from signing.xmldsig import verify_detached

log = logging.getLogger("gateway.ops.timestamps")
BATCH_LIMIT = 5000

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _receipt_parts(receipt: bytes) -> tuple[etree._Element, etree._Element]:
    """(MessageMetadata, its ds:Signature) of a receipt, alone or inside its SOAP envelope."""
    root = etree.fromstring(receipt, _PARSER)
    meta = root if root.tag == ns.q(ns.SMEV_TYPES, "MessageMetadata") else \
        root.find(f".//{{{ns.SMEV_TYPES}}}MessageMetadata")
    signature = root.find(f".//{{{ns.SMEV_TYPES}}}SMEVSignature/{{{ns.DS}}}Signature")
    if meta is None or signature is None:
        raise ValueError("no signed MessageMetadata in the receipt")
    return meta, signature


def signature_value(receipt: bytes) -> bytes:
    """The receipt's SignatureValue bytes: what the token ultimately covers."""
    _meta, signature = _receipt_parts(receipt)
    return base64.b64decode("".join(signature.findtext(f"{{{ns.DS}}}SignatureValue").split()))


def leaf_data(receipt: bytes) -> bytes:
    """What a receipt's Merkle leaf covers: its SignatureValue; a stored answer that carries no
    signature (none is expected, but a round must not stall on one) is covered as its bytes."""
    try:
        return signature_value(receipt)
    except (ValueError, TypeError, etree.XMLSyntaxError):
        return receipt


def revocation_evidence(settings: Settings):
    """What ``stamp_round`` archives with a token: the CRLs and OCSP responses that the gateway's
    certificate path and the token's TSA path validate with now (hard-fail, fetched as the
    request path fetches them). A callable of the token; None from it when a path does not
    validate now (the token is stored all the same, its proof then without revocation)."""
    validators: list[ChainValidator] = []   # one, made on first use: its cache spares refetching

    def evidence(token) -> tuple[list[bytes], list[bytes]] | None:
        if not validators:
            anchors = _load(settings.trust_dir / "anchors")
            if not anchors:
                return None
            validators.append(ChainValidator(
                anchors, _load(settings.trust_dir / "intermediates"), revocation="hard-fail",
                fetch_timeout=settings.revocation_timeout, algorithms=policy_for(settings.algorithms)))
        validator = validators[0]
        own = x509.load_pem_x509_certificates(settings.signing_cert_path.read_bytes())
        crls: list[bytes] = []
        ocsps: list[bytes] = []
        for cert, extra in ((own[0], tuple(own[1:])), (token.certificate, tuple(token.certificates))):
            verdict, found_crls, found_ocsps = validator.revocation_evidence(cert, extra)
            if not verdict.passed:
                log.warning("no revocation data archived with the token: %s: %s/%s %s",
                            verdict.certificate, verdict.indication, verdict.sub_indication,
                            verdict.detail)
                return None
            crls += [d for d in found_crls if d not in crls]
            ocsps += [d for d in found_ocsps if d not in ocsps]
        return crls, ocsps
    return evidence


def stamp_round(engine, tsa_url: str, now: datetime, *, timeout: float = 5.0,
                session: requests.Session | None = None, evidence=None) -> int:
    """One batch: how many receipts it covered (0 when there was nothing to stamp).
    ``evidence`` (``revocation_evidence(settings)``): the revocation data stored with the token."""
    pending = store.unstamped(engine, BATCH_LIMIT)
    if not pending:
        return 0
    leaves = [timestamp.leaf_hash(leaf_data(receipt)) for _id, receipt in pending]
    root = timestamp.merkle_root(leaves)
    query, nonce = timestamp.request(hashlib.sha256(root).digest())
    reply = (session or requests).post(tsa_url, data=query, timeout=timeout,
                                       headers={"Content-Type": "application/timestamp-query"})
    reply.raise_for_status()
    token = timestamp.reply_token(reply.content, nonce)
    verified = timestamp.verify_token(token, hashlib.sha256(root).digest())
    gen_time = verified.gen_time
    entries = [(message_id, leaves[i], timestamp.merkle_path(leaves, i))
               for i, (message_id, _receipt) in enumerate(pending)]
    revocation = evidence(verified) if evidence is not None else None
    stored = store.store(engine, root, token, gen_time, now, entries, revocation)
    log.info("time-stamped %d receipts (genTime %s)", stored, gen_time.isoformat())
    return stored


@dataclasses.dataclass(frozen=True)
class ReceiptProof:
    proven: bool
    message_id: str | None
    lines: tuple[str, ...]  # what was checked, one line each; the last says why not, if not


def _load(directory) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in sorted(directory.glob("*.pem")):
        certs.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    return certs


def verify_receipt(settings: Settings, engine, receipt: bytes, at: datetime) -> ReceiptProof:
    lines: list[str] = []

    def fail(why: str, message_id: str | None = None) -> ReceiptProof:
        return ReceiptProof(False, message_id, (*lines, f"NOT PROVEN: {why}"))

    try:
        meta, signature = _receipt_parts(receipt)
        verified = verify_detached(signature, meta, policy=policy_for(settings.algorithms))
    except (ValueError, etree.XMLSyntaxError, SignatureError) as exc:
        return fail(f"the receipt's signature does not verify: {exc}")
    message_id = meta.findtext(f"{{{ns.SMEV_TYPES}}}MessageId")
    lines.append(f"signature      valid ({verified.signature_method}), signed by "
                 f"{verified.certificate.subject.rfc4514_string()}")
    stamp = store.stamp_of(engine, message_id)
    if stamp is None:
        return fail(f"no time-stamp token for MessageId {message_id} yet", message_id)
    leaf = timestamp.leaf_hash(leaf_data(receipt))
    if leaf != stamp.leaf or timestamp.root_from_path(leaf, stamp.path) != stamp.merkle_root:
        return fail("the receipt's SignatureValue is not under the token's Merkle root "
                    "(not the stored receipt)", message_id)
    lines.append(f"merkle path    {len(stamp.path)} steps to root {stamp.merkle_root.hex()}")
    try:
        token = timestamp.verify_token(stamp.token, hashlib.sha256(stamp.merkle_root).digest())
    except timestamp.TimestampError as exc:
        return fail(f"the time-stamp token does not verify: {exc}", message_id)
    lines.append(f"token          valid, genTime {token.gen_time.isoformat()}, serial "
                 f"{token.serial_number}, TSA {token.certificate.subject.rfc4514_string()}")
    if token.gen_time > at:
        return fail(f"the token's genTime is after {at.isoformat()}", message_id)
    anchors = _load(settings.trust_dir / "anchors")
    if not anchors:
        return fail(f"no trust anchors in {settings.trust_dir / 'anchors'}", message_id)
    # PKIX at the token's time; revocation against the CRLs/OCSP answers archived with the
    # token (offline, nothing fetched), or OFF for a token stored without them (docs/trust.md)
    if stamp.revocation is not None:
        chain = ChainValidator(anchors, _load(settings.trust_dir / "intermediates"),
                               revocation="hard-fail", archived_revocation=stamp.revocation,
                               clock=lambda: token.gen_time, algorithms=policy_for(settings.algorithms))
        checked = (f"revocation checked offline against the {len(stamp.revocation[0])} CRL(s) and "
                   f"{len(stamp.revocation[1])} OCSP response(s) archived with the token")
    else:
        chain = ChainValidator(anchors, _load(settings.trust_dir / "intermediates"),
                               revocation="off", clock=lambda: token.gen_time,
                               algorithms=policy_for(settings.algorithms))
        checked = "revocation not checked: no revocation data archived with this token"
    for what, cert, extra in (("TSA path", token.certificate, token.certificates),
                              ("signer path", verified.certificate, verified.extra_certificates)):
        verdict = chain.validate(cert, extra)
        if not verdict.passed:
            return fail(f"{what} at genTime: {verdict.indication}/{verdict.sub_indication}: "
                        f"{verdict.detail}", message_id)
        lines.append(f"{what:<14} valid at genTime ({checked})")
    not_after = verified.certificate.not_valid_after_utc
    since = f"; it has expired by {at.isoformat()}" if not_after < at else ""
    lines.append(f"PROVEN: the receipt was signed by {token.gen_time.isoformat()}, while the "
                 f"gateway's certificate was valid (notAfter {not_after.isoformat()}{since})")
    return ReceiptProof(True, message_id, tuple(lines))
