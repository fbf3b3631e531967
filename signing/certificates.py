"""What the request path asks of a certificate again and again, worked out once per certificate
object: its SHA-256 fingerprint (the key of every cache that is about a certificate) and its
public key.

Why not the certificate itself as a dict key: ``x509.Certificate.__hash__`` hashes the parsed
structure (names, extensions) on every call, about 20,000 instructions, and a message's
certificates are looked up in several caches. Why not ``certificate.public_key()`` each time:
OpenSSL 3 decodes the key through its provider machinery on every call (tens of thousands of
instructions). The signature check hands out one certificate object per certificate text
(``signing.xmldsig``'s cache), so keying these facts by ``id()`` finds them again; each entry
holds its certificate, so an id is never reused while its entry lives. Bounded: emptied when
full, and a certificate of more than ``MAX_KEPT_DER`` bytes (none that a CA issues) is worked
out every time and never kept.
"""
from __future__ import annotations

import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

MAX_KEPT = 1024
MAX_KEPT_DER = 12_288

_UNSET: Any = object()

#: id(certificate) -> [the certificate, its fingerprint, its public key or _UNSET]
_FACTS: dict[int, list] = {}


def _facts(cert: x509.Certificate) -> list:
    facts = _FACTS.get(id(cert))
    if facts is not None and facts[0] is cert:
        return facts
    der = cert.public_bytes(Encoding.DER)
    facts = [cert, hashlib.sha256(der).hexdigest(), _UNSET]
    if len(der) <= MAX_KEPT_DER:
        if len(_FACTS) >= MAX_KEPT:
            _FACTS.clear()
        _FACTS[id(cert)] = facts
    return facts


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, in hex."""
    return _facts(cert)[1]


def public_key(cert: x509.Certificate):
    """``cert.public_key()`` (its exceptions too: they are not kept)."""
    facts = _facts(cert)
    key = facts[2]
    if key is _UNSET:
        key = facts[2] = cert.public_key()
    return key
