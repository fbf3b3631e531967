"""gostcrypto (pure Python, PyPI) as the second independent GOST implementation in the tests.

gostcrypto's conventions differ from OpenSSL's / PKIX's / XMLDSig's, so this adapter converts
at the boundary -- and the tests prove each conversion by making both sides agree:

- the digest goes in as an integer read big-endian, while GOST R 34.10 reads the hash vector
  as a little-endian number (OpenSSL's output is that vector): pass the digest reversed;
- its public key is ``X || Y`` big-endian; a certificate holds each coordinate little-endian;
- its signature is ``r || s``; OpenSSL, X.509 and XMLDSig carry ``s || r``.
"""
from __future__ import annotations

import gostcrypto
from asn1crypto import core
from gostcrypto.gostsignature import CURVES_R_1323565_1_024_2019 as CURVES
from gostcrypto.gostsignature import MODE_256, MODE_512

#: parameter-set OID -> gostcrypto's curve (CryptoPro sets are TC26 curves under older OIDs)
CURVE_OF = {
    "1.2.643.7.1.2.1.1.1": "id-tc26-gost-3410-2012-256-paramSetA",
    "1.2.643.7.1.2.1.1.2": "id-tc26-gost-3410-2012-256-paramSetB",
    "1.2.643.7.1.2.1.1.3": "id-tc26-gost-3410-2012-256-paramSetC",
    "1.2.643.7.1.2.1.1.4": "id-tc26-gost-3410-2012-256-paramSetD",
    "1.2.643.2.2.35.1": "id-tc26-gost-3410-2012-256-paramSetB",    # CryptoPro A
    "1.2.643.2.2.35.2": "id-tc26-gost-3410-2012-256-paramSetC",    # CryptoPro B
    "1.2.643.2.2.35.3": "id-tc26-gost-3410-2012-256-paramSetD",    # CryptoPro C
    "1.2.643.2.2.36.0": "id-tc26-gost-3410-2012-256-paramSetB",    # CryptoPro XchA = A
    "1.2.643.2.2.36.1": "id-tc26-gost-3410-2012-256-paramSetD",    # CryptoPro XchB = C
    "1.2.643.7.1.2.1.2.1": "id-tc26-gost-3410-12-512-paramSetA",
    "1.2.643.7.1.2.1.2.2": "id-tc26-gost-3410-12-512-paramSetB",
    "1.2.643.7.1.2.1.2.3": "id-tc26-gost-3410-2012-512-paramSetC",
}

#: GOST R 34.10-2012 appendix A.1 (the same example as in GOST R 34.10-2001): the test curve
TEST_CURVE = dict(
    p=0x8000000000000000000000000000000000000000000000000000000000000431,
    a=7,
    b=0x5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E,
    m=0x8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3,
    q=0x8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3,
    x=2,
    y=0x08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8,
)


def streebog(data: bytes, bits: int = 256) -> bytes:
    return bytes(gostcrypto.gosthash.new(f"streebog{bits}", data=data).digest())


def signer(curve: dict, bits: int = 256):
    return gostcrypto.gostsignature.new(MODE_512 if bits == 512 else MODE_256, curve)


def curve(paramset_oid: str) -> dict:
    return CURVES[CURVE_OF[paramset_oid]]


def verify(paramset_oid: str, bits: int, x: int, y: int, signature_sr: bytes,
           digest: bytes) -> bool:
    """Verify an OpenSSL-layout signature (s||r) over an OpenSSL digest."""
    n = bits // 8
    s, r = signature_sr[:n], signature_sr[n:]
    public = x.to_bytes(n, "big") + y.to_bytes(n, "big")
    return signer(curve(paramset_oid), bits).verify(bytearray(public), bytearray(digest[::-1]),
                                                    bytearray(r + s))


def sign(paramset_oid: str, bits: int, d: int, digest: bytes) -> bytes:
    """Sign an OpenSSL digest with scalar d; returns the OpenSSL layout s||r."""
    n = bits // 8
    value = bytes(signer(curve(paramset_oid), bits).sign(bytearray(d.to_bytes(n, "big")),
                                                          bytearray(digest[::-1])))
    return value[n:] + value[:n]


def public_point(paramset_oid: str, bits: int, d: int) -> tuple[int, int]:
    n = bits // 8
    raw = bytes(signer(curve(paramset_oid), bits).public_key_generate(
        bytearray(d.to_bytes(n, "big"))))
    return int.from_bytes(raw[:n], "big"), int.from_bytes(raw[n:], "big")


class _PrivateKeyInfo(core.Sequence):
    _fields = [("version", core.Integer), ("algorithm", core.Any),
               ("private_key", core.OctetString)]


def private_scalar(pkcs8: bytes) -> int:
    """d out of the engine's PKCS#8: it writes d itself, little-endian, as the privateKey octets
    (RFC 9215 nests one more OCTET STRING, which the engine reads too)."""
    octets = _PrivateKeyInfo.load(pkcs8)["private_key"].native
    assert len(octets) in (32, 64), octets.hex()
    return int.from_bytes(octets, "little")
