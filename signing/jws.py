"""JWS (RFC 7515) with X.509 certificates: the signature of the gateway's REST requests and answers.

Only what the gateway needs, on the same algorithm registry and allow-list as XMLDSig
(:mod:`signing.algorithms`), which is why this is a few lines over ``cryptography`` rather than a
JOSE library: the JOSE libraries know neither GOST R 34.10-2012 nor this project's policy
profiles, and the gateway must refuse exactly what its XMLDSig path refuses. Interoperability is
checked by the tests against an independent implementation (jwcrypto).

Rules (docs/integration.md, «REST and JSON»):

- one signature, compact serialization (``application/jose``) or flattened JSON serialization
  (``application/jose+json``); every header parameter in the integrity-protected header — an
  unprotected ``header`` is refused, as is the general serialization;
- ``alg`` from :data:`ALGORITHMS`, then the policy's allow-list; ``none`` is refused by name;
- the signer's certificate and its chain in ``x5c`` (the signer first); ``jku``, ``jwk`` and
  ``x5u`` are refused: a key is never taken from a URL or from an unbound JWK;
- ``crit`` is refused whatever it lists: this profile understands no extension (RFC 7515 §4.1.11
  demands refusing a ``crit`` one does not understand; ``b64: false`` included).
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import json

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from signing import algorithms as a
from signing.errors import (CryptoConstraintsError, FormatError, NoSigningCertificateError,
                            SignatureCryptoError)

#: JOSE ``alg`` → the XMLDSig signature method with the same mathematics (RFC 7518 §3.3-3.5:
#: PKCS#1 v1.5; PSS with MGF1 of the same hash and salt = hash length; ECDSA as raw r||s).
#: GOST: IANA registers no JOSE name for GOST R 34.10-2012, so these are the gateway's names
#: (docs/integration.md), the signature bytes as in GOST XMLDSig (s||r, Streebog of the input);
#: peers that use other names need one more row here.
ALGORITHMS = {
    "RS256": a.SIG_RSA_SHA256, "RS384": a.SIG_RSA_SHA384, "RS512": a.SIG_RSA_SHA512,
    "PS256": a.SIG_RSA_PSS_SHA256, "PS384": a.SIG_RSA_PSS_SHA384, "PS512": a.SIG_RSA_PSS_SHA512,
    "ES256": a.SIG_ECDSA_SHA256, "ES384": a.SIG_ECDSA_SHA384, "ES512": a.SIG_ECDSA_SHA512,
    "GOST3410-2012-256": a.SIG_GOST_2012_256, "GOST3410-2012-512": a.SIG_GOST_2012_512,
}
REFUSED_HEADERS = ("jku", "jwk", "x5u", "crit")
MAX_CERTIFICATES = 8
MAX_HEADER_BYTES = 64 * 1024


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    if not isinstance(text, str) or not all(c.isalnum() or c in "-_" for c in text):
        raise FormatError(f"{what} is not base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise FormatError(f"{what} is not base64url") from None


@dataclasses.dataclass(frozen=True)
class Jws:
    """A parsed JWS: its protected header (decoded), the signing input and the signature."""

    header: dict
    protected: str  # base64url, as received (part of the signing input)
    payload_b64: str
    signature: bytes

    @property
    def signing_input(self) -> bytes:
        return f"{self.protected}.{self.payload_b64}".encode("ascii")

    @property
    def payload(self) -> bytes:
        return b64url_decode(self.payload_b64, "the payload")

    @property
    def compact(self) -> str:
        return f"{self.protected}.{self.payload_b64}.{b64url(self.signature)}"


@dataclasses.dataclass(frozen=True)
class VerifiedJws:
    payload: bytes
    header: dict
    certificate: x509.Certificate
    extra_certificates: tuple[x509.Certificate, ...]
    signature_method: str  # the XMLDSig URI of ``alg`` (for the journal, like XMLDSig)
    digest_method: str


def parse(body: bytes, *, json_serialization: bool) -> Jws:
    """A compact JWS (``a.b.c``), or a flattened JSON one; anything else is ``FORMAT_FAILURE``."""
    try:
        text = body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise FormatError("a JWS is ASCII (base64url parts)") from None
    if json_serialization:
        try:
            document = json.loads(text)
        except ValueError:
            raise FormatError("the body is not JSON (flattened JWS JSON serialization)") from None
        if not isinstance(document, dict):
            raise FormatError("a flattened JWS is a JSON object")
        if "signatures" in document:
            raise FormatError("the general JWS JSON serialization is not accepted: send one "
                              "signature (compact or flattened)")
        if "header" in document:
            raise FormatError("an unprotected JWS header is not accepted: put every header "
                              "parameter in the protected header")
        if set(document) - {"protected", "payload", "signature"}:
            raise FormatError("a flattened JWS has exactly protected, payload and signature")
        parts = [document.get("protected"), document.get("payload"), document.get("signature")]
    else:
        parts = text.split(".")
        if len(parts) != 3:
            raise FormatError("a compact JWS has three base64url parts separated by dots "
                              "(five is JWE: not accepted)")
    protected, payload, signature = parts
    if not isinstance(protected, str) or len(protected) > MAX_HEADER_BYTES:
        raise FormatError("the protected header is missing or too large")
    try:
        header = json.loads(b64url_decode(protected, "the protected header"))
    except ValueError:
        raise FormatError("the protected header is not JSON") from None
    if not isinstance(header, dict):
        raise FormatError("the protected header is not a JSON object")
    if not isinstance(payload, str):
        raise FormatError("the payload is missing")
    b64url_decode(payload, "the payload")
    return Jws(header, protected, payload, b64url_decode(signature, "the signature"))


def certificates(header: dict) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    """The signer's certificate and the rest of ``x5c`` (RFC 7515 §4.1.6: standard base64 DER)."""
    chain = header.get("x5c")
    if not chain:
        raise NoSigningCertificateError("the JWS header has no x5c with the signer's certificate")
    if not isinstance(chain, list) or len(chain) > MAX_CERTIFICATES or \
            not all(isinstance(c, str) for c in chain):
        raise FormatError(f"x5c must be an array of at most {MAX_CERTIFICATES} base64 strings")
    try:
        found = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in chain]
    except (binascii.Error, ValueError):
        raise FormatError("an x5c entry is not a base64 DER certificate") from None
    return found[0], tuple(found[1:])


def check_header(header: dict, policy: a.AlgorithmPolicy) -> str:
    """The header's rules; the XMLDSig signature method of its ``alg``."""
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise FormatError("the JWS header has no alg")
    if alg.lower() == "none":
        raise CryptoConstraintsError('alg "none" (an unsigned JWS) is never accepted')
    for name in REFUSED_HEADERS:
        if name in header:
            why = ("this profile understands no critical extension" if name == "crit" else
                   "keys come only from x5c, validated against the trust anchors")
            raise CryptoConstraintsError(f"the JWS header parameter {name!r} is refused: {why}")
    uri = ALGORITHMS.get(alg)
    if uri is None:
        raise CryptoConstraintsError(f"alg {alg[:40]!r} is not one of {', '.join(ALGORITHMS)}")
    policy.check_signature(uri)
    return uri


def verify(jws: Jws, policy: a.AlgorithmPolicy = a.DEFAULT_POLICY) -> VerifiedJws:
    """Check the header, then the signature with the x5c signer's key. The certificate PATH is
    the caller's to validate (signing.chain), as for XMLDSig."""
    uri = check_header(jws.header, policy)
    certificate, extra = certificates(jws.header)
    algorithm = a.REGISTRY.signature(uri)
    policy.check_key(certificate, algorithm.family)
    try:
        algorithm.verify(certificate, jws.signature, jws.signing_input)
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        raise SignatureCryptoError("the JWS signature does not verify with the x5c certificate's "
                                   "key: the payload or header changed, or another key signed") from None
    return VerifiedJws(jws.payload, jws.header, certificate, extra, uri, algorithm.digest_uri)


def default_alg(private_key) -> str:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}[private_key.curve.name]
    method = a.default_signature_method(private_key)
    return {v: k for k, v in ALGORITHMS.items()}[method]


def sign(payload: bytes, private_key, certificate: x509.Certificate, *, chain=(),
         alg: str | None = None, headers: dict | None = None) -> str:
    """A compact JWS over ``payload`` with ``x5c`` = the certificate and ``chain``."""
    alg = alg or default_alg(private_key)
    header = {"alg": alg, **(headers or {}),
              "x5c": [base64.b64encode(c.public_bytes(Encoding.DER)).decode("ascii")
                      for c in (certificate, *chain)]}
    protected = b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    payload_b64 = b64url(payload)
    algorithm = a.REGISTRY.signature(ALGORITHMS[alg])
    value = algorithm.sign(private_key, f"{protected}.{payload_b64}".encode("ascii"))
    return f"{protected}.{payload_b64}.{b64url(value)}"


__all__ = ["ALGORITHMS", "Jws", "VerifiedJws", "parse", "verify", "sign", "check_header",
           "certificates", "default_alg"]
