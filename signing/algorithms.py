"""Digest and signature algorithms by XMLDSig URI, a pluggable registry, and the allow-list.

The engine only ever asks the registry by URI. GOST R 34.10/34.11-2012 (the URIs real SMEV
messages carry) is registered here from ``signing.gost`` (OpenSSL's GOST engine); the withdrawn
GOST R 34.10-2001 / 34.11-94 is registered too, so it is recognised, but the default policy
refuses it with its reason. Signature algorithms receive the signer's *certificate*, not a
``cryptography`` public key, because ``cryptography`` cannot load GOST public keys: the GOST
plug-in reads the SubjectPublicKeyInfo itself.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (decode_dss_signature,
                                                             encode_dss_signature)

from signing import certificates, gost
from signing.c14n import C14N_10, C14N_11, ENVELOPED_SIGNATURE, EXC_C14N
from signing.errors import CryptoConstraintsError, FormatError
from signing.smev_transform import ALGORITHM as SMEV_TRANSFORM

# -- digests
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
DIGEST_SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
# -- signatures: RSA PKCS#1 v1.5, RSA-PSS (RFC 6931 2.3.10), ECDSA (raw r||s)
SIG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SIG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIG_RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
SIG_RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
SIG_RSA_PSS_SHA256 = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"
SIG_RSA_PSS_SHA384 = "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1"
SIG_RSA_PSS_SHA512 = "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1"
SIG_ECDSA_SHA1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
SIG_ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIG_ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
SIG_ECDSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
# -- GOST R 34.10-2012 / 34.11-2012 (SMEV 3), and the withdrawn 2001 / 94 pair (RFC 4051)
DIGEST_GOST_2012_256 = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256"
DIGEST_GOST_2012_512 = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-512"
SIG_GOST_2012_256 = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256"
SIG_GOST_2012_512 = "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-512"
DIGEST_GOST_94 = "http://www.w3.org/2001/04/xmldsig-more#gostr3411"
SIG_GOST_2001 = "http://www.w3.org/2001/04/xmldsig-more#gostr34102001-gostr3411"

#: Why an implemented algorithm is left out of the default policy (named in the refusal).
REFUSAL_REASONS = {
    SIG_GOST_2001: "GOST R 34.10-2001 was withdrawn (signing with it ended on 2019-01-01); "
                   "use GOST R 34.10-2012",
    DIGEST_GOST_94: "GOST R 34.11-94 was withdrawn together with GOST R 34.10-2001; use "
                    "GOST R 34.11-2012",
    DIGEST_SHA1: "SHA-1 is broken for signatures",
    SIG_RSA_SHA1: "SHA-1 is broken for signatures",
    SIG_ECDSA_SHA1: "SHA-1 is broken for signatures",
}

TRANSFORM_XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
TRANSFORM_XPATH_FILTER2 = "http://www.w3.org/2002/06/xmldsig-filter2"
TRANSFORM_XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"


@dataclasses.dataclass(frozen=True)
class DigestAlgorithm:
    uri: str
    name: str
    digest: Callable[[bytes], bytes]


@dataclasses.dataclass(frozen=True)
class SignatureAlgorithm:
    """One XMLDSig SignatureMethod. ``family`` ties it to a key type ("RSA", "EC", "GOST...")."""

    uri: str
    name: str
    family: str
    digest_uri: str
    sign: Callable[[object, bytes], bytes]                       # (private key, data) -> value
    verify: Callable[[x509.Certificate, bytes, bytes], None]     # raises InvalidSignature
    key_matches: Callable[[object], bool]                        # private key of this family?


@dataclasses.dataclass(frozen=True)
class AlgorithmPolicy:
    """The allow-list as configuration; everything not listed is refused before any crypto."""

    digests: frozenset[str] = frozenset({DIGEST_SHA256, DIGEST_SHA384, DIGEST_SHA512,
                                         DIGEST_GOST_2012_256, DIGEST_GOST_2012_512})
    signatures: frozenset[str] = frozenset({
        SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512,
        SIG_RSA_PSS_SHA256, SIG_RSA_PSS_SHA384, SIG_RSA_PSS_SHA512,
        SIG_ECDSA_SHA256, SIG_ECDSA_SHA384, SIG_ECDSA_SHA512,
        SIG_GOST_2012_256, SIG_GOST_2012_512})
    # Inclusive c14n 1.0/1.1 (without comments) too: signxml's default is c14n 1.1 and xmlsec1 /
    # .NET / Santuario templates often use 1.0; a bare Reference (no Transforms) means c14n 1.0.
    c14n: frozenset[str] = frozenset({EXC_C14N, C14N_10, C14N_11})
    transforms: frozenset[str] = frozenset({EXC_C14N, C14N_10, C14N_11, SMEV_TRANSFORM,
                                            ENVELOPED_SIGNATURE})
    min_rsa_bits: int = 2048
    curves: frozenset[str] = frozenset({"secp256r1", "secp384r1"})
    # GOST curves by OID (signing.gost.PARAMSETS): TC26 256 A-D, CryptoPro A/B/C/XchA/XchB,
    # TC26 512 A-C; not the standard's test curve.
    gost_paramsets: frozenset[str] = gost.DEFAULT_PARAMSETS
    #: The profile's name (GATEWAY_ALGORITHMS), named in every refusal it alone causes.
    profile: str = "all"
    #: Key and certificate-signature families a certificate path may use (signing.chain):
    #: "rsa", "ec", "gost2012".
    certificate_families: frozenset[str] = frozenset({"rsa", "ec", "gost2012"})

    def check_digest(self, uri: str) -> None:
        if uri not in self.digests:
            raise CryptoConstraintsError(f"digest method {uri!r} is not allowed"
                                         f"{self._why(uri, DEFAULT_POLICY.digests)}")

    def check_signature(self, uri: str) -> None:
        if uri not in self.signatures:
            raise CryptoConstraintsError(f"signature method {uri!r} is not allowed"
                                         f"{self._why(uri, DEFAULT_POLICY.signatures)}")

    def _why(self, uri: str, allowed_by_default: frozenset[str]) -> str:
        if self.profile != "all" and uri in allowed_by_default:
            return f" by the algorithm profile {self.refusal_name}"
        return _why(uri)

    @property
    def refusal_name(self) -> str:
        """'smev' (GOST R 34.10/34.11-2012 only) -- how refusals name the profile."""
        return f"'{self.profile}' ({PROFILE_DESCRIPTIONS.get(self.profile, '')})"

    def check_c14n(self, uri: str) -> None:
        if uri not in self.c14n:
            raise CryptoConstraintsError(f"canonicalization method {uri!r} is not allowed")

    def check_transform(self, uri: str) -> None:
        if uri not in self.transforms:
            raise CryptoConstraintsError(f"transform {uri!r} is not allowed")

    def check_key(self, certificate: x509.Certificate, family: str) -> None:
        """Key type must match the signature family; RSA size, EC curve and GOST parameter set
        must be allowed."""
        if family in _GOST_FAMILIES:
            gost.check_key(certificate, _GOST_FAMILIES[family], self.gost_paramsets)
            return
        try:
            key = certificates.public_key(certificate)
        except (UnsupportedAlgorithm, ValueError) as exc:
            raise CryptoConstraintsError(f"unsupported public key in the certificate: {exc}") \
                from None
        if family == "RSA":
            if not isinstance(key, rsa.RSAPublicKey):
                raise CryptoConstraintsError("an RSA signature method with a non-RSA key")
            if key.key_size < self.min_rsa_bits:
                raise CryptoConstraintsError(f"RSA key of {key.key_size} bits; at least "
                                             f"{self.min_rsa_bits} are required")
        elif family == "EC":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise CryptoConstraintsError("an ECDSA signature method with a non-EC key")
            if key.curve.name not in self.curves:
                raise CryptoConstraintsError(f"EC curve {key.curve.name} is not allowed")
        else:
            raise CryptoConstraintsError(f"unknown key family {family!r}")


def _why(uri: str) -> str:
    reason = REFUSAL_REASONS.get(uri)
    return f": {reason}" if reason else ""


#: signature family -> OID of the key algorithm it needs
_GOST_FAMILIES = {"GOST2012-256": gost.KEY_2012_256, "GOST2012-512": gost.KEY_2012_512,
                  "GOST2001": gost.KEY_2001}


DEFAULT_POLICY = AlgorithmPolicy()

PROFILE_DESCRIPTIONS = {
    "all": "RSA, ECDSA and GOST R 34.10/34.11-2012",
    "smev": "GOST R 34.10/34.11-2012 only",
    "international": "RSA and ECDSA only",
}
_GOST_DIGESTS = frozenset({DIGEST_GOST_2012_256, DIGEST_GOST_2012_512})
_GOST_SIGNATURES = frozenset({SIG_GOST_2012_256, SIG_GOST_2012_512})

#: GATEWAY_ALGORITHMS: ``smev`` is what the real bus accepts (GOST 2012 only), ``international``
#: the RSA/ECDSA world without GOST, ``all`` both (the default, so existing set-ups keep working).
PROFILES = {
    "all": DEFAULT_POLICY,
    "smev": dataclasses.replace(DEFAULT_POLICY, profile="smev", digests=_GOST_DIGESTS,
                                signatures=_GOST_SIGNATURES,
                                certificate_families=frozenset({"gost2012"})),
    "international": dataclasses.replace(
        DEFAULT_POLICY, profile="international", digests=DEFAULT_POLICY.digests - _GOST_DIGESTS,
        signatures=DEFAULT_POLICY.signatures - _GOST_SIGNATURES,
        certificate_families=frozenset({"rsa", "ec"})),
}


def policy_for(profile: str) -> AlgorithmPolicy:
    """The AlgorithmPolicy of a GATEWAY_ALGORITHMS value; ValueError names the choices."""
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown algorithm profile {profile!r}; one of "
                         f"{', '.join(PROFILES)}") from None


class AlgorithmRegistry:
    """URI -> implementation. ``REGISTRY`` is the process-wide one the engine uses."""

    def __init__(self) -> None:
        self._digests: dict[str, DigestAlgorithm] = {}
        self._signatures: dict[str, SignatureAlgorithm] = {}

    def register_digest(self, algorithm: DigestAlgorithm) -> None:
        self._digests[algorithm.uri] = algorithm

    def register_signature(self, algorithm: SignatureAlgorithm) -> None:
        self._signatures[algorithm.uri] = algorithm

    def digest(self, uri: str) -> DigestAlgorithm:
        try:
            return self._digests[uri]
        except KeyError:
            raise CryptoConstraintsError(f"digest method {uri!r} is not implemented") from None

    def signature(self, uri: str) -> SignatureAlgorithm:
        try:
            return self._signatures[uri]
        except KeyError:
            raise CryptoConstraintsError(f"signature method {uri!r} is not implemented") \
                from None


def _hashlib(name: str) -> Callable[[bytes], bytes]:
    constructor = getattr(hashlib, name)
    return lambda data: constructor(data).digest()


_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
           "sha512": hashes.SHA512}


def _rsa(hash_name: str, pss: bool) -> tuple[Callable, Callable]:
    algorithm = _HASHES[hash_name]()

    def pad():
        if pss:  # RFC 6931: MGF1 with the same hash, salt length = hash length, trailer 1
            return padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
        return padding.PKCS1v15()

    def sign(key, data: bytes) -> bytes:
        return key.sign(data, pad(), algorithm)

    def verify(certificate: x509.Certificate, value: bytes, data: bytes) -> None:
        certificates.public_key(certificate).verify(value, data, pad(), algorithm)
    return sign, verify


def _ecdsa(hash_name: str) -> tuple[Callable, Callable]:
    algorithm = _HASHES[hash_name]()

    def sign(key, data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(algorithm)))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def verify(certificate: x509.Certificate, value: bytes, data: bytes) -> None:
        key = certificates.public_key(certificate)
        size = (key.curve.key_size + 7) // 8
        if len(value) != 2 * size:  # XMLDSig ECDSA SignatureValue is raw r||s, not DER
            raise InvalidSignature(f"ECDSA SignatureValue of {len(value)} bytes, "
                                   f"expected {2 * size}")
        r = int.from_bytes(value[:size], "big")
        s = int.from_bytes(value[size:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(algorithm))
    return sign, verify


def _gost(digest_name: str) -> tuple[Callable, Callable]:
    def sign(key, data: bytes) -> bytes:
        return gost.sign(key, data, digest_name)

    def verify(certificate: x509.Certificate, value: bytes, data: bytes) -> None:
        try:
            spki = gost.certificate_key(certificate).der
        except ValueError as exc:
            raise InvalidSignature(str(exc)) from None
        gost.verify(spki, value, data, digest_name)    # value is s||r, as OpenSSL takes it
    return sign, verify


def _gost_digest(digest_name: str) -> Callable[[bytes], bytes]:
    return lambda data: gost.digest(digest_name, data)


def _default_registry() -> AlgorithmRegistry:
    registry = AlgorithmRegistry()
    for uri, name in ((DIGEST_SHA1, "sha1"), (DIGEST_SHA256, "sha256"),
                      (DIGEST_SHA384, "sha384"), (DIGEST_SHA512, "sha512")):
        registry.register_digest(DigestAlgorithm(uri, name, _hashlib(name)))
    is_rsa = lambda key: isinstance(key, rsa.RSAPrivateKey)  # noqa: E731
    is_ec = lambda key: isinstance(key, ec.EllipticCurvePrivateKey)  # noqa: E731
    for uri, hash_name, digest_uri in (
            (SIG_RSA_SHA1, "sha1", DIGEST_SHA1), (SIG_RSA_SHA256, "sha256", DIGEST_SHA256),
            (SIG_RSA_SHA384, "sha384", DIGEST_SHA384), (SIG_RSA_SHA512, "sha512", DIGEST_SHA512)):
        sign, verify = _rsa(hash_name, pss=False)
        registry.register_signature(SignatureAlgorithm(uri, f"rsa-{hash_name}", "RSA",
                                                       digest_uri, sign, verify, is_rsa))
    for uri, hash_name, digest_uri in (
            (SIG_RSA_PSS_SHA256, "sha256", DIGEST_SHA256),
            (SIG_RSA_PSS_SHA384, "sha384", DIGEST_SHA384),
            (SIG_RSA_PSS_SHA512, "sha512", DIGEST_SHA512)):
        sign, verify = _rsa(hash_name, pss=True)
        registry.register_signature(SignatureAlgorithm(uri, f"rsa-pss-{hash_name}", "RSA",
                                                       digest_uri, sign, verify, is_rsa))
    for uri, hash_name, digest_uri in (
            (SIG_ECDSA_SHA1, "sha1", DIGEST_SHA1), (SIG_ECDSA_SHA256, "sha256", DIGEST_SHA256),
            (SIG_ECDSA_SHA384, "sha384", DIGEST_SHA384),
            (SIG_ECDSA_SHA512, "sha512", DIGEST_SHA512)):
        sign, verify = _ecdsa(hash_name)
        registry.register_signature(SignatureAlgorithm(uri, f"ecdsa-{hash_name}", "EC",
                                                       digest_uri, sign, verify, is_ec))
    for uri, name, digest_name in (
            (DIGEST_GOST_2012_256, "gostr34112012-256", gost.gost_openssl.DIGEST_256),
            (DIGEST_GOST_2012_512, "gostr34112012-512", gost.gost_openssl.DIGEST_512),
            (DIGEST_GOST_94, "gostr3411-94", gost.gost_openssl.DIGEST_94)):
        registry.register_digest(DigestAlgorithm(uri, name, _gost_digest(digest_name)))
    for uri, name, family, digest_uri, digest_name, key_type in (
            (SIG_GOST_2012_256, "gostr34102012-gostr34112012-256", "GOST2012-256",
             DIGEST_GOST_2012_256, gost.gost_openssl.DIGEST_256, gost.gost_openssl.KEY_2012_256),
            (SIG_GOST_2012_512, "gostr34102012-gostr34112012-512", "GOST2012-512",
             DIGEST_GOST_2012_512, gost.gost_openssl.DIGEST_512, gost.gost_openssl.KEY_2012_512),
            (SIG_GOST_2001, "gostr34102001-gostr3411", "GOST2001", DIGEST_GOST_94,
             gost.gost_openssl.DIGEST_94, gost.gost_openssl.KEY_2001)):
        sign, verify = _gost(digest_name)
        registry.register_signature(SignatureAlgorithm(
            uri, name, family, digest_uri, sign, verify,
            lambda key, key_type=key_type: gost.key_type_of(key) == key_type))
    return registry


REGISTRY = _default_registry()


_GOST_DEFAULT_METHODS = {gost.gost_openssl.KEY_2012_256: SIG_GOST_2012_256,
                         gost.gost_openssl.KEY_2012_512: SIG_GOST_2012_512,
                         gost.gost_openssl.KEY_2001: SIG_GOST_2001}


def default_signature_method(private_key) -> str:
    """rsa-sha256 for RSA, ecdsa-sha256 for P-256, ecdsa-sha384 for P-384, the matching
    GOST R 34.10 method for a GOST key (signing.gost.PrivateKey)."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return SIG_RSA_SHA256
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if private_key.curve.name == "secp256r1":
            return SIG_ECDSA_SHA256
        if private_key.curve.name == "secp384r1":
            return SIG_ECDSA_SHA384
        raise FormatError(f"no default signature method for curve {private_key.curve.name}")
    gost_method = _GOST_DEFAULT_METHODS.get(gost.key_type_of(private_key))
    if gost_method is not None:
        return gost_method
    raise FormatError(f"no default signature method for a {type(private_key).__name__}")


def load_private_key(pem: bytes):
    """A PEM private key (PKCS#8) for sign_detached: a ``cryptography`` RSA/EC key, or a
    signing.gost.PrivateKey when the PKCS#8 algorithm is GOST R 34.10-2012 (which
    ``cryptography`` cannot load)."""
    from asn1crypto import core as asn1_core, pem as asn1_pem
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    if asn1_pem.detect(pem):
        kind, _headers, der = asn1_pem.unarmor(pem)
        if kind == "PRIVATE KEY":
            # PrivateKeyInfo: version, AlgorithmIdentifier (OID, parameters), key
            algorithm = asn1_core.Sequence.load(der)[1]
            oid = asn1_core.ObjectIdentifier.load(algorithm[0].dump()).dotted
            if oid in gost.KEY_OIDS or oid in gost.LEGACY_KEY_OIDS:
                return gost.PrivateKey.from_pem(pem)
    return load_pem_private_key(pem, password=None)


def default_digest_method(signature_method: str) -> str:
    """The reference digest a signer uses by default: the GOST signature's own Streebog for
    GOST (as SMEV requires), SHA-256 otherwise."""
    algorithm = REGISTRY.signature(signature_method)
    return algorithm.digest_uri if algorithm.family.startswith("GOST") else DIGEST_SHA256


__all__ = [name for name in dir() if name.isupper() and not name.startswith("_")] + [
    "DigestAlgorithm", "SignatureAlgorithm", "AlgorithmPolicy", "AlgorithmRegistry",
    "default_signature_method", "default_digest_method", "policy_for", "load_private_key",
]
