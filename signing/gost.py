"""GOST R 34.10-2012 / 34.11-2012 (and the withdrawn 2001/94) for the XMLDSig engine and PKIX.

What lives here: the OIDs and parameter sets, reading a GOST SubjectPublicKeyInfo (which
``cryptography`` cannot load) with asn1crypto, the digest / sign / verify callables the
algorithm registry plugs in, and ``backend()`` -- which implementation is active, for the
startup banner and /health. The cryptography itself is OpenSSL's GOST engine, reached through
``signing.gost_openssl``; there is no silent fallback: without the engine every GOST operation
raises ``CryptoConstraintsError`` naming the reason, and ``backend()`` says so.

Encodings (settled by tests against the ``openssl`` command, gostcrypto and the standards'
examples, see docs/gost.md): digests are the bytes OpenSSL outputs (DigestValue is exactly
those); SignatureValue and X.509 signatures are ``s || r``, each big-endian; the public key in
a certificate is an OCTET STRING holding ``X || Y``, each little-endian.
"""
from __future__ import annotations

import dataclasses

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from signing import certificates, gost_openssl
from signing.errors import CryptoConstraintsError

__all__ = ["GostPublicKeyInfo", "Backend", "backend", "public_key_info", "certificate_key",
           "PrivateKey", "digest", "sign", "verify", "PARAMSETS", "DEFAULT_PARAMSETS",
           "KEY_OIDS", "SIGNATURE_OIDS", "LEGACY_KEY_OIDS", "LEGACY_SIGNATURE_OIDS"]

PrivateKey = gost_openssl.PrivateKey

# -- key (SubjectPublicKeyInfo) algorithms
KEY_2012_256 = "1.2.643.7.1.1.1.1"      # id-tc26-gost3410-12-256
KEY_2012_512 = "1.2.643.7.1.1.1.2"      # id-tc26-gost3410-12-512
KEY_2001 = "1.2.643.2.2.19"             # id-GostR3410-2001 (withdrawn)
# -- certificate / CRL / OCSP signature algorithms
SIGNATURE_2012_256 = "1.2.643.7.1.1.3.2"  # id-tc26-signwithdigest-gost3410-12-256
SIGNATURE_2012_512 = "1.2.643.7.1.1.3.3"  # id-tc26-signwithdigest-gost3410-12-512
SIGNATURE_2001 = "1.2.643.2.2.3"          # id-GostR3411-94-with-GostR3410-2001 (withdrawn)
# -- digests
DIGEST_2012_256 = "1.2.643.7.1.1.2.2"
DIGEST_2012_512 = "1.2.643.7.1.1.2.3"
DIGEST_94 = "1.2.643.2.2.9"

KEY_OIDS = {KEY_2012_256: gost_openssl.KEY_2012_256, KEY_2012_512: gost_openssl.KEY_2012_512}
LEGACY_KEY_OIDS = {KEY_2001: gost_openssl.KEY_2001}
#: signature OID -> (key OID, OpenSSL digest name)
SIGNATURE_OIDS = {SIGNATURE_2012_256: (KEY_2012_256, gost_openssl.DIGEST_256),
                  SIGNATURE_2012_512: (KEY_2012_512, gost_openssl.DIGEST_512)}
LEGACY_SIGNATURE_OIDS = {SIGNATURE_2001: (KEY_2001, gost_openssl.DIGEST_94)}

#: Elliptic-curve parameter sets by OID: (name, key size in bits, the engine's paramset name).
#: CryptoPro A/B/C and XchA/XchB are the same curves as TC26 256 B/C/D, B, D under older OIDs
#: (R 1323565.1.024-2019); all are in use in qualified certificates.
PARAMSETS = {
    "1.2.643.7.1.2.1.1.1": ("id-tc26-gost-3410-2012-256-paramSetA", 256, "TCA"),
    "1.2.643.7.1.2.1.1.2": ("id-tc26-gost-3410-2012-256-paramSetB", 256, "TCB"),
    "1.2.643.7.1.2.1.1.3": ("id-tc26-gost-3410-2012-256-paramSetC", 256, "TCC"),
    "1.2.643.7.1.2.1.1.4": ("id-tc26-gost-3410-2012-256-paramSetD", 256, "TCD"),
    "1.2.643.2.2.35.1": ("id-GostR3410-2001-CryptoPro-A-ParamSet", 256, "A"),
    "1.2.643.2.2.35.2": ("id-GostR3410-2001-CryptoPro-B-ParamSet", 256, "B"),
    "1.2.643.2.2.35.3": ("id-GostR3410-2001-CryptoPro-C-ParamSet", 256, "C"),
    "1.2.643.2.2.36.0": ("id-GostR3410-2001-CryptoPro-XchA-ParamSet", 256, "XA"),
    "1.2.643.2.2.36.1": ("id-GostR3410-2001-CryptoPro-XchB-ParamSet", 256, "XB"),
    "1.2.643.7.1.2.1.2.1": ("id-tc26-gost-3410-12-512-paramSetA", 512, "A"),
    "1.2.643.7.1.2.1.2.2": ("id-tc26-gost-3410-12-512-paramSetB", 512, "B"),
    "1.2.643.7.1.2.1.2.3": ("id-tc26-gost-3410-12-512-paramSetC", 512, "C"),
    # The standard's example curve (GOST R 34.10-2012 appendix A.1): known, never allowed.
    "1.2.643.2.2.35.0": ("id-GostR3410-2001-TestParamSet", 256, "0"),
}
TEST_PARAMSET = "1.2.643.2.2.35.0"
DEFAULT_PARAMSETS = frozenset(oid for oid in PARAMSETS if oid != TEST_PARAMSET)


class _KeyParameters(core.Sequence):      # GostR3410-2012-PublicKeyParameters (RFC 9215)
    _fields = [("public_key_param_set", core.ObjectIdentifier),
               ("digest_param_set", core.ObjectIdentifier, {"optional": True}),
               ("encryption_param_set", core.ObjectIdentifier, {"optional": True})]


class _AlgorithmIdentifier(core.Sequence):
    _fields = [("algorithm", core.ObjectIdentifier),
               ("parameters", core.Any, {"optional": True})]


class _SubjectPublicKeyInfo(core.Sequence):
    _fields = [("algorithm", _AlgorithmIdentifier), ("public_key", core.OctetBitString)]


@dataclasses.dataclass(frozen=True)
class GostPublicKeyInfo:
    """A GOST key as a certificate carries it, read without OpenSSL."""

    algorithm_oid: str          # KEY_2012_256 | KEY_2012_512 | KEY_2001
    paramset_oid: str
    digest_paramset_oid: str | None
    x: int                      # affine coordinates of the public point
    y: int
    der: bytes                  # the DER SubjectPublicKeyInfo

    @property
    def size(self) -> int:
        """256 or 512 (bits of the curve and of each coordinate)."""
        return 512 if self.algorithm_oid == KEY_2012_512 else 256

    @property
    def paramset_name(self) -> str:
        return PARAMSETS.get(self.paramset_oid, (self.paramset_oid,))[0]

    @property
    def legacy(self) -> bool:
        return self.algorithm_oid in LEGACY_KEY_OIDS


def public_key_info(spki: bytes) -> GostPublicKeyInfo:
    """Parse a DER SubjectPublicKeyInfo of a GOST key; ValueError for anything else."""
    try:
        info = _SubjectPublicKeyInfo.load(spki, strict=True)
        algorithm = info["algorithm"]["algorithm"].dotted
        if algorithm not in KEY_OIDS and algorithm not in LEGACY_KEY_OIDS:
            raise ValueError(f"key algorithm {algorithm} is not GOST R 34.10")
        raw = info["algorithm"]["parameters"]
        if raw.contents is None:
            raise ValueError("GOST key without parameters (publicKeyParamSet is required)")
        params = _KeyParameters.load(raw.dump(), strict=True)
        point = core.OctetString.load(info["public_key"].native, strict=True).native
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a GOST SubjectPublicKeyInfo: {exc}") from None
    size = 64 if algorithm == KEY_2012_512 else 32
    if len(point) != 2 * size:
        raise ValueError(f"a GOST public key of {len(point)} bytes, expected {2 * size}")
    digest = params["digest_param_set"]
    return GostPublicKeyInfo(
        algorithm_oid=algorithm,
        paramset_oid=params["public_key_param_set"].dotted,
        digest_paramset_oid=digest.dotted if digest.native is not None else None,
        x=int.from_bytes(point[:size], "little"),
        y=int.from_bytes(point[size:], "little"),
        der=spki)


#: GOST keys by certificate fingerprint (a certificate object as the key would hash its parsed
#: structure on every look-up: signing/certificates.py); bounded, emptied when full
_KEYS: dict[str, GostPublicKeyInfo] = {}


def certificate_key(certificate: x509.Certificate) -> GostPublicKeyInfo:
    """The GOST key of a certificate (ValueError if it holds another key type)."""
    key = certificates.fingerprint(certificate)
    found = _KEYS.get(key)
    if found is None:
        der = certificate.public_bytes(Encoding.DER)
        found = public_key_info(asn1_x509.Certificate.load(der).public_key.dump())
        if len(_KEYS) >= 1024:
            _KEYS.clear()
        _KEYS[key] = found
    return found


# ------------------------------------------------------------------ backend
@dataclasses.dataclass(frozen=True)
class Backend:
    """Which GOST implementation this process uses. ``str()`` is one line for a banner."""

    available: bool
    name: str          # "openssl-engine" or "unavailable"
    detail: str

    def __str__(self) -> str:
        if self.available:
            return f"GOST R 34.10/34.11-2012: {self.name}: {self.detail}"
        return f"GOST R 34.10/34.11-2012 unavailable: {self.detail}"


def backend() -> Backend:
    """The active GOST backend, loading it if needed (cheap after the first call).

    For the gateway's startup banner and /health: ``available`` False means every GOST
    message will be refused with CRYPTO_CONSTRAINTS_FAILURE and this ``detail``.
    """
    ok, detail = gost_openssl.status()
    return Backend(ok, "openssl-engine" if ok else "unavailable", detail)


def _library() -> gost_openssl.Library:
    try:
        return gost_openssl.load()
    except gost_openssl.GostUnavailable as exc:
        raise CryptoConstraintsError(f"GOST R 34.10/34.11 is not available in this "
                                     f"installation: {exc}") from None


# ------------------------------------------------------------------ primitives
def digest(name: str, data: bytes) -> bytes:
    """Streebog-256/512 (or GOST R 34.11-94) of ``data``: the bytes OpenSSL outputs."""
    return _library().digest(name, data)


def verify(spki: bytes, signature: bytes, data: bytes, digest_name: str) -> None:
    """Verify ``s || r`` over ``data`` with the key in ``spki``; raises InvalidSignature."""
    _library()
    try:
        key = gost_openssl.public_key(spki)
    except (ValueError, gost_openssl.OpenSSLError) as exc:
        raise InvalidSignature(f"the GOST public key does not load: {exc}") from None
    key.verify(signature, data, digest_name)


def sign(key: gost_openssl.PrivateKey, data: bytes, digest_name: str) -> bytes:
    _library()
    return key.sign(data, digest_name)


def key_type_of(private_key) -> str | None:
    """gost2012_256 / gost2012_512 / gost2001 for a GOST PrivateKey, else None."""
    return private_key.key_type if isinstance(private_key, gost_openssl.PrivateKey) else None


def check_key(certificate: x509.Certificate, key_oid: str, paramsets: frozenset[str]) -> None:
    """The signer's certificate must hold a GOST key of ``key_oid`` on an allowed curve."""
    try:
        info = certificate_key(certificate)
    except ValueError as exc:
        raise CryptoConstraintsError(f"a GOST signature method with a non-GOST key ({exc})") \
            from None
    if info.algorithm_oid != key_oid:
        raise CryptoConstraintsError(
            f"the signature method needs a {KEY_OIDS.get(key_oid) or LEGACY_KEY_OIDS.get(key_oid)}"
            f" key; the certificate holds "
            f"{KEY_OIDS.get(info.algorithm_oid) or LEGACY_KEY_OIDS.get(info.algorithm_oid)}")
    if info.paramset_oid not in paramsets:
        raise CryptoConstraintsError(f"GOST parameter set {info.paramset_name} "
                                     f"({info.paramset_oid}) is not allowed")
    expected = PARAMSETS.get(info.paramset_oid, (None, None))[1]
    if expected != info.size:
        raise CryptoConstraintsError(f"GOST parameter set {info.paramset_name} does not fit a "
                                     f"{info.size}-bit key")
