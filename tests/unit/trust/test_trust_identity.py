"""Signer identity from qualified-certificate subjects, in every string encoding CAs use."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from signing.identity import INN, INN_LE, OGRN, SNILS, SignerIdentity, identity_of

PERSON_INN, ORG_INN, ORG_OGRN, PERSON_SNILS = "500100732259", "7707083893", "1027700132195", "11223344595"


def _attr_der(oid: x509.ObjectIdentifier, tag: int, value: str) -> bytes:
    """DER of AttributeTypeAndValue: the bytes a qualified certificate's subject must contain."""
    oid_der = core.ObjectIdentifier(oid.dotted_string).dump()
    inner = oid_der + bytes([tag, len(value)]) + value.encode("ascii")
    return bytes([0x30, len(inner)]) + inner


def _self_signed(attrs: list[x509.NameAttribute]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(attrs)
    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(0x1234ABCD)
            .not_valid_before(now).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))


def test_identity_of_a_qualified_certificate(pki):
    issued = pki.issue("identity-head", common_name="Иванов Иван Иванович", organization="ООО «Ромашка»",
                       title="Генеральный директор", inn=PERSON_INN, inn_le=ORG_INN, ogrn=ORG_OGRN,
                       snils=PERSON_SNILS, key_type="ec-p256")
    ident = identity_of(issued.certificate)
    assert isinstance(ident, SignerIdentity)
    assert (ident.common_name, ident.organization, ident.title) == (
        "Иванов Иван Иванович", "ООО «Ромашка»", "Генеральный директор")
    assert (ident.inn, ident.inn_le, ident.ogrn, ident.snils) == (
        PERSON_INN, ORG_INN, ORG_OGRN, PERSON_SNILS)
    assert ident.serial_number == format(issued.certificate.serial_number, "X")
    assert ident.fingerprint_sha256 == issued.certificate.fingerprint(hashes.SHA256()).hex()
    assert ident.issuer == pki.certificate("intermediate").subject.rfc4514_string()
    assert "1.2.643.100.3=11223344595" in ident.subject


def test_pki_writes_identifiers_as_numeric_strings(pki):
    """Приказ ФСБ № 795: ИНН, ИНН ЮЛ, ОГРН, СНИЛС are NumericString (tag 0x12)."""
    issued = pki.issue("identity-encoding", common_name="x", inn=PERSON_INN, inn_le=ORG_INN,
                       ogrn=ORG_OGRN, snils=PERSON_SNILS, key_type="ec-p256")
    subject_der = issued.certificate.subject.public_bytes()
    for oid, value in ((INN, PERSON_INN), (INN_LE, ORG_INN), (OGRN, ORG_OGRN), (SNILS, PERSON_SNILS)):
        assert _attr_der(oid, 0x12, value) in subject_der, oid.dotted_string
    assert _attr_der(NameOID.COUNTRY_NAME, 0x13, "RU") in subject_der  # PrintableString


@pytest.mark.parametrize("string_type", [_ASN1Type.NumericString, _ASN1Type.PrintableString,
                                         _ASN1Type.UTF8String])
def test_identity_tolerates_other_string_types(string_type):
    cert = _self_signed([
        x509.NameAttribute(INN, PERSON_INN, _type=string_type),
        x509.NameAttribute(INN_LE, ORG_INN, _type=string_type),
        x509.NameAttribute(OGRN, ORG_OGRN, _type=string_type),
        x509.NameAttribute(SNILS, PERSON_SNILS, _type=string_type),
        x509.NameAttribute(NameOID.COMMON_NAME, "Петров"),
    ])
    subject_der = cert.subject.public_bytes()
    assert _attr_der(SNILS, string_type.value, PERSON_SNILS) in subject_der
    ident = identity_of(cert)
    assert (ident.inn, ident.inn_le, ident.ogrn, ident.snils) == (
        PERSON_INN, ORG_INN, ORG_OGRN, PERSON_SNILS)
    assert ident.common_name == "Петров" and ident.organization is None and ident.title is None


def test_legacy_padded_legal_entity_inn():
    """Before 2021 a legal entity's ИНН sat in the ИНН attribute as 00 + 10 digits."""
    cert = _self_signed([x509.NameAttribute(INN, "00" + ORG_INN, _type=_ASN1Type.NumericString),
                         x509.NameAttribute(OGRN, ORG_OGRN, _type=_ASN1Type.NumericString),
                         x509.NameAttribute(NameOID.COMMON_NAME, "ООО Ромашка")])
    ident = identity_of(cert)
    assert (ident.inn, ident.inn_le, ident.ogrn) == (None, ORG_INN, ORG_OGRN)


def test_padded_inn_is_left_alone_when_inn_le_is_present():
    cert = _self_signed([x509.NameAttribute(INN, "00" + ORG_INN), x509.NameAttribute(INN_LE, ORG_INN),
                         x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    ident = identity_of(cert)
    assert (ident.inn, ident.inn_le) == ("00" + ORG_INN, ORG_INN)


def test_identity_without_russian_attributes():
    cert = _self_signed([x509.NameAttribute(NameOID.COMMON_NAME, "gateway"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Operator")])
    ident = identity_of(cert)
    assert (ident.inn, ident.inn_le, ident.ogrn, ident.snils) == (None, None, None, None)
    assert ident.serial_number == "1234ABCD"
    assert ident.subject == cert.subject.rfc4514_string()
    assert len(bytes.fromhex(ident.fingerprint_sha256)) == 32
    assert identity_of(x509.load_der_x509_certificate(cert.public_bytes(Encoding.DER))) == ident
