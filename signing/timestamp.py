"""RFC 3161 time-stamp tokens: the request, the token's verification, and the Merkle tree that
lets one token cover many receipts.

A token proves that a hash existed at its genTime. The gateway asks for one token per batch of
receipts over the Merkle root of their SignatureValues (docs/trust.md, «Trusted time»), so each
receipt keeps its Merkle path; ``verify_token`` checks the CMS signature (RSA, ECDSA or GOST
R 34.10-2012), the signed attributes (content type, message digest, signingCertificate(V2)),
the imprint and the TSA certificate's purpose. Whether the TSA's certificate is trusted is the
caller's question (``signing.chain.ChainValidator`` at the token's genTime).
"""
from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime

from asn1crypto import algos, cms, core, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from signing import gost

__all__ = ["TimestampError", "TimestampToken", "request", "verify_token", "reply_token",
           "merkle_root", "merkle_path", "root_from_path", "leaf_hash"]


class TimestampError(ValueError):
    """The token is malformed, does not cover the data, or its signature does not verify."""


@dataclasses.dataclass(frozen=True)
class TimestampToken:
    gen_time: datetime
    serial_number: int
    policy: str
    certificate: x509.Certificate                # the TSA's
    certificates: tuple[x509.Certificate, ...]   # every certificate the token carries


_DIGESTS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_GOST_DIGESTS = {gost.DIGEST_2012_256: gost.gost_openssl.DIGEST_256,
                 gost.DIGEST_2012_512: gost.gost_openssl.DIGEST_512}


def _digest(algorithm: algos.DigestAlgorithm, data: bytes) -> bytes:
    oid = algorithm["algorithm"].dotted
    if oid in _GOST_DIGESTS:
        return gost.digest(_GOST_DIGESTS[oid], data)
    name = algorithm["algorithm"].native
    if name not in _DIGESTS:
        raise TimestampError(f"digest algorithm {name} is not accepted")
    return _DIGESTS[name](data).digest()


def request(data_hash: bytes, *, nonce: int | None = None) -> tuple[bytes, int]:
    """A DER TimeStampReq for a SHA-256 hash (certificate requested), and its nonce."""
    nonce = nonce if nonce is not None else secrets.randbits(63)
    req = tsp.TimeStampReq({"version": "v1", "message_imprint": {
        "hash_algorithm": {"algorithm": "sha256"}, "hashed_message": data_hash},
        "nonce": nonce, "cert_req": True})
    return req.dump(), nonce


def reply_token(reply_der: bytes, nonce: int | None = None) -> bytes:
    """The token (DER ContentInfo) out of a TimeStampResp; TimestampError unless granted."""
    try:  # the status first: asn1crypto's TimeStampResp cannot parse one without a token
        outer = core.Sequence.load(reply_der)
        status = tsp.PKIStatusInfo.load(outer[0].dump())["status"].native
        if status not in ("granted", "granted_with_mods"):
            raise TimestampError(f"the TSA refused: {status}")
        token = tsp.TimeStampResp.load(reply_der)["time_stamp_token"]
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise TimestampError(f"not a TimeStampResp: {exc}") from None
    if nonce is not None:
        info = tsp.TSTInfo.load(token["content"]["encap_content_info"]["content"].contents)
        if info["nonce"].native != nonce:
            raise TimestampError("the reply's nonce is not the request's")
    return token.dump()


def verify_token(token_der: bytes, data_hash: bytes) -> TimestampToken:
    """Check a token over the SHA-256 ``data_hash``; TimestampError says what is wrong."""
    try:
        info_ci = cms.ContentInfo.load(token_der)
        if info_ci["content_type"].native != "signed_data":
            raise TimestampError("the token is not CMS SignedData")
        signed = info_ci["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("the token does not hold a TSTInfo")
        econtent = encap["content"].contents
        info = tsp.TSTInfo.load(econtent)
        imprint = info["message_imprint"]
        if imprint["hash_algorithm"]["algorithm"].native != "sha256" or \
                imprint["hashed_message"].native != data_hash:
            raise TimestampError("the token's message imprint is not the data's SHA-256")
        [signer] = list(signed["signer_infos"])
        certificates = [c.chosen for c in signed["certificates"] or ()]
        sid = signer["sid"].chosen
        tsa = next((c for c in certificates if c.issuer == sid["issuer"]
                    and c.serial_number == sid["serial_number"].native), None)
        if tsa is None:
            raise TimestampError("the token does not carry its signer's certificate")
        attributes = {a["type"].native: a["values"] for a in signer["signed_attrs"]}
        if attributes.get("content_type") is None or \
                attributes["content_type"][0].native != "tst_info":
            raise TimestampError("the signed content type is not TSTInfo")
        if attributes.get("message_digest") is None or \
                attributes["message_digest"][0].native != _digest(signer["digest_algorithm"], econtent):
            raise TimestampError("the signed message digest is not the TSTInfo's")
        _check_signing_certificate(attributes, tsa.dump())
        signed_bytes = b"\x31" + signer["signed_attrs"].dump()[1:]  # as a SET, not [0]
        _verify_signature(signer, tsa.dump(), signed_bytes)
        tsa_cert = x509.load_der_x509_certificate(tsa.dump())
        _check_purpose(tsa_cert)
        return TimestampToken(info["gen_time"].native, info["serial_number"].native,
                              info["policy"].dotted, tsa_cert,
                              tuple(x509.load_der_x509_certificate(c.dump()) for c in certificates))
    except TimestampError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TimestampError(f"malformed token: {exc!r}") from None


def _check_signing_certificate(attributes: dict, cert_der: bytes) -> None:
    """RFC 5816 / 2634: the signed attributes name the signer's certificate by its hash."""
    if attributes.get("signing_certificate_v2") is not None:
        ident = attributes["signing_certificate_v2"][0]["certs"][0]
        algorithm = ident["hash_algorithm"]["algorithm"].native
        if algorithm not in _DIGESTS or \
                _DIGESTS[algorithm](cert_der).digest() != ident["cert_hash"].native:
            raise TimestampError("signingCertificateV2 does not name the signer's certificate")
    elif attributes.get("signing_certificate") is not None:
        ident = attributes["signing_certificate"][0]["certs"][0]
        if hashlib.sha1(cert_der).digest() != ident["cert_hash"].native:
            raise TimestampError("signingCertificate does not name the signer's certificate")
    else:
        raise TimestampError("the token names no signing certificate (RFC 3161 2.4.2)")


def _verify_signature(signer: cms.SignerInfo, cert_der: bytes, data: bytes) -> None:
    signature = signer["signature"].native
    digest_oid = signer["digest_algorithm"]["algorithm"].dotted
    cert = x509.load_der_x509_certificate(cert_der)
    try:
        if digest_oid in _GOST_DIGESTS:
            spki = gost.certificate_key(cert).der
            gost.verify(spki, signature, data, _GOST_DIGESTS[digest_oid])
            return
        name = signer["digest_algorithm"]["algorithm"].native
        algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
                     "sha512": hashes.SHA512()}.get(name)
        if algorithm is None:
            raise TimestampError(f"digest algorithm {name} is not accepted")
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            raise TimestampError("unsupported TSA key")
    except (InvalidSignature, ValueError) as exc:
        raise TimestampError(f"the token's signature does not verify: {exc}") from None


def _check_purpose(cert: x509.Certificate) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise TimestampError("the TSA certificate has no extended key usage") from None
    if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
        raise TimestampError("the TSA certificate is not for time-stamping only "
                             "(critical extendedKeyUsage timeStamping, RFC 3161 2.3)")


# -------------------------------------------------------------------- Merkle tree (RFC 6962 style)
def leaf_hash(data: bytes) -> bytes:
    """Leaves and inner nodes hash with different prefixes, so a node cannot pose as a leaf."""
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    """Root over leaf hashes; an odd node at a level is carried up unchanged."""
    if not leaves:
        raise ValueError("no leaves")
    level = list(leaves)
    while len(level) > 1:
        level = [_node(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


def merkle_path(leaves: list[bytes], index: int) -> list[tuple[str, bytes]]:
    """Siblings from the leaf up: ("L", hash) when the sibling is on the left, ("R", hash) when
    on the right; a level where the node is carried up adds nothing."""
    path, level = [], list(leaves)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            path.append(("L" if sibling < index else "R", level[sibling]))
        level = [_node(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
        index //= 2
    return path


def root_from_path(leaf: bytes, path: list[tuple[str, bytes]]) -> bytes:
    node = leaf
    for side, sibling in path:
        node = _node(sibling, node) if side == "L" else _node(node, sibling)
    return node
