"""Who signed: the identity a (Russian qualified) certificate carries in its subject.

Authorization compares these fields with the payload and the registers, so they are read from
the subject exactly, whatever string type the CA chose (qualified certificates use NumericString
for the identifiers, older ones PrintableString or UTF8String).
"""
from __future__ import annotations

import dataclasses

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

__all__ = ["SignerIdentity", "identity_of", "INN", "INN_LE", "OGRN", "SNILS"]

INN = x509.ObjectIdentifier("1.2.643.3.131.1.1")
INN_LE = x509.ObjectIdentifier("1.2.643.100.4")
OGRN = x509.ObjectIdentifier("1.2.643.100.1")
SNILS = x509.ObjectIdentifier("1.2.643.100.3")


@dataclasses.dataclass(frozen=True)
class SignerIdentity:
    common_name: str | None
    organization: str | None
    title: str | None
    inn: str | None            # person's ИНН (12 digits)
    inn_le: str | None         # legal entity's ИНН (10 digits)
    ogrn: str | None
    snils: str | None
    serial_number: str         # certificate serial, upper-case hex without separators
    issuer: str                # RFC 4514
    subject: str               # RFC 4514
    fingerprint_sha256: str    # lower-case hex of SHA-256 over the DER certificate


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    if not attrs:
        return None
    value = attrs[0].value
    if isinstance(value, bytes):  # BMPString/UniversalString arrive decoded; be safe anyway
        value = value.decode("utf-8", "replace")
    return value.strip() or None


def describe(cert: x509.Certificate) -> str:
    """The certificate's subject for a message, or its serial number when the subject does not
    decode (building an error message must never fail on a hostile certificate)."""
    try:
        return cert.subject.rfc4514_string()
    except Exception:  # noqa: BLE001 - any decoding failure of attacker-supplied bytes
        return f"<certificate with an undecodable subject, serial {cert.serial_number:X}>"


def identity_of(cert: x509.Certificate) -> SignerIdentity:
    """Read the signer's identity from a certificate's subject.

    Certificates issued before the 2021 amendment of Приказ ФСБ № 795 put a legal entity's
    10-digit ИНН into the ИНН attribute padded with two leading zeros; when no ИНН ЮЛ attribute
    is present such a value is reported as ``inn_le`` (it is not a person's ИНН).
    """
    subject = cert.subject
    inn, inn_le = _first(subject, INN), _first(subject, INN_LE)
    if inn_le is None and inn is not None and len(inn) == 12 and inn.startswith("00"):
        inn, inn_le = None, inn[2:]
    return SignerIdentity(
        common_name=_first(subject, NameOID.COMMON_NAME),
        organization=_first(subject, NameOID.ORGANIZATION_NAME),
        title=_first(subject, NameOID.TITLE),
        inn=inn,
        inn_le=inn_le,
        ogrn=_first(subject, OGRN),
        snils=_first(subject, SNILS),
        serial_number=format(cert.serial_number, "X"),
        issuer=cert.issuer.rfc4514_string(),
        subject=subject.rfc4514_string(),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )
