"""GOST R 34.10-2012 certificate paths: root (2012-512) -> issuing CA (2012-256) -> leaf, made
and served (CRLs, OCSP) by the ``openssl`` command with the GOST engine (gost_ca.py), validated
by ChainValidator through pyhanko with signing.chain.GostSignatureValidator plugged in. The
verdicts are the ones the RSA/ECDSA paths get in test_trust_chain.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from lxml import etree

from gost_ca import GostTestPki
from signing import gost, gost_openssl
from signing.chain import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, ChainValidator
from signing.identity import identity_of
from signing.xmldsig import sign_detached, verify_detached

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def gpki(tmp_path_factory):
    gost_openssl.load()       # no engine: an error here, never a skip
    pki = GostTestPki(tmp_path_factory.mktemp("gost-pki"))
    yield pki
    pki.stop()


@pytest.fixture()
def online(gpki):
    gpki.offline = False
    yield gpki
    gpki.offline = False


_count = iter(range(10_000))


def name(prefix="gost") -> str:
    return f"{prefix}-{next(_count)}"


def validator(pki: GostTestPki, **kwargs) -> ChainValidator:
    return ChainValidator([pki.root.certificate], [pki.issuing.certificate], **kwargs)


def expect(verdict, indication, sub):
    assert (verdict.indication, verdict.sub_indication) == (indication, sub), verdict.detail


def test_good_gost_chain_passes_with_crl_and_ocsp(online):
    issued = online.issue(name())
    before = online.requests
    verdict = validator(online).validate(issued.certificate)
    expect(verdict, TOTAL_PASSED, None)
    assert verdict.path == (issued.certificate, online.issuing.certificate,
                            online.root.certificate)
    assert "revocation status checked (good)" in verdict.detail
    assert online.requests - before >= 2     # the root's CRL and the issuing CA's OCSP
    assert issued.certificate.signature_algorithm_oid.dotted_string == gost.SIGNATURE_2012_256
    assert online.issuing.certificate.signature_algorithm_oid.dotted_string == \
        gost.SIGNATURE_2012_512


def test_the_intermediate_can_come_from_the_message(online):
    issued = online.issue(name())
    verdict = ChainValidator([online.root.certificate]).validate(
        issued.certificate, [online.issuing.certificate])
    expect(verdict, TOTAL_PASSED, None)


@pytest.mark.parametrize("key_type, paramset", [("gost2012_256", "TCA"), ("gost2012_256", "A"),
                                                ("gost2012_512", "C")])
def test_leaf_keys_of_every_size(online, key_type, paramset):
    issued = online.issue(name(), key_type=key_type, paramset=paramset)
    expect(validator(online).validate(issued.certificate), TOTAL_PASSED, None)


def test_what_the_gateway_reads_from_a_gost_leaf(online):
    issued = online.issue(name("ident"))
    who = identity_of(issued.certificate)
    assert (who.inn, who.inn_le, who.ogrn, who.snils) == (None, "7701234567", "1027700132195",
                                                           "11223344595")
    assert who.organization == "ООО Ромашка"
    usage = issued.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    policies = issued.certificate.extensions.get_extension_for_class(
        x509.CertificatePolicies).value
    assert {p.policy_identifier.dotted_string for p in policies} == {"1.2.643.100.113.1",
                                                                    "1.2.643.100.113.2"}
    key = gost.certificate_key(issued.certificate)
    assert key.paramset_name == "id-GostR3410-2001-CryptoPro-XchA-ParamSet"


def test_expired(online):
    issued = online.issue(name(), not_before=NOW - timedelta(days=30),
                          not_after=NOW - timedelta(days=1))
    expect(validator(online).validate(issued.certificate), TOTAL_FAILED, "EXPIRED")


def test_not_yet_valid(online):
    issued = online.issue(name(), not_before=NOW + timedelta(days=2),
                          not_after=NOW + timedelta(days=30))
    expect(validator(online).validate(issued.certificate), TOTAL_FAILED, "NOT_YET_VALID")


def test_revoked_by_crl(online):
    issued = online.issue(name(), extensions="v3_leaf_crl_only")
    check = validator(online)
    expect(check.validate(issued.certificate), TOTAL_PASSED, None)
    online.revoke(issued)
    check.clear_cache()
    verdict = check.validate(issued.certificate)
    expect(verdict, TOTAL_FAILED, "REVOKED")
    assert "CRL" in verdict.detail


def test_revoked_by_ocsp(online):
    issued = online.issue(name())
    online.revoke(issued)
    verdict = validator(online).validate(issued.certificate)
    expect(verdict, TOTAL_FAILED, "REVOKED")
    assert "OCSP" in verdict.detail


def test_unknown_issuer(tmp_path, online):
    stranger = GostTestPki(tmp_path / "other")
    try:
        issued = stranger.issue(name())
        expect(validator(online).validate(issued.certificate, [stranger.issuing.certificate]),
               INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")
    finally:
        stranger.stop()


def test_wrong_key_usage(online):
    issued = online.issue(name(), extensions="v3_leaf_encipherment_only")
    verdict = validator(online).validate(issued.certificate)
    expect(verdict, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")
    assert "digital_signature" in verdict.detail


def test_tampered_certificate_signature(online):
    issued = online.issue(name())
    from cryptography.hazmat.primitives.serialization import Encoding
    der = bytearray(issued.certificate.public_bytes(Encoding.DER))
    der[-3] ^= 0x01                      # inside the 64-byte s||r at the end
    verdict = validator(online).validate(x509.load_der_x509_certificate(bytes(der)))
    expect(verdict, INDETERMINATE, "CERTIFICATE_CHAIN_GENERAL_FAILURE")
    assert "could not be verified" in verdict.detail


@pytest.fixture(scope="module")
def legacy_ca(gpki):
    """An issuing CA still signing with GOST R 34.10-2001 / 34.11-94 (its own certificate is
    signed by the 2012 root)."""
    return gpki.issue_ca("legacy", key_type="gost2001", paramset="A", md="md_gost94")


def test_legacy_2001_certificate_signature_is_refused(online, legacy_ca):
    issued = online.issue(name(), issuer="legacy")
    assert issued.certificate.signature_algorithm_oid.dotted_string == gost.SIGNATURE_2001
    verdict = validator(online).validate(issued.certificate, [legacy_ca.certificate])
    expect(verdict, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
    assert "1.2.643.2.2.3" in verdict.detail
    # recognised and implemented, refused by policy only: loosened, the same path passes
    loose = validator(online, weak_signature_algos=frozenset())
    expect(loose.validate(issued.certificate, [legacy_ca.certificate]), TOTAL_PASSED, None)


def test_legacy_2001_leaf_key_is_refused(online):
    issued = online.issue(name(), key_type="gost2001", paramset="A")
    verdict = validator(online).validate(issued.certificate)
    expect(verdict, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
    assert "GOST R 34.10-2001 key" in verdict.detail


def test_test_curve_leaf_key_is_refused(online):
    issued = online.issue(name(), paramset="0")
    verdict = validator(online).validate(issued.certificate)
    expect(verdict, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
    assert "TestParamSet" in verdict.detail


def test_unreachable_responder_hard_and_soft_fail(gpki):
    issued = gpki.issue(name())
    gpki.offline = True
    try:
        expect(validator(gpki).validate(issued.certificate), INDETERMINATE, "TRY_LATER")
        soft = validator(gpki, revocation="soft-fail").validate(issued.certificate)
        expect(soft, TOTAL_PASSED, None)
        assert soft.detail.startswith("trusted, with warnings:")
    finally:
        gpki.offline = False


def test_without_the_engine_the_verdict_names_it(online, monkeypatch):
    issued = online.issue(name())
    monkeypatch.setattr(gost_openssl, "_library", None)
    monkeypatch.setattr(gost_openssl, "_failure", "engine missing (test)")
    verdict = validator(online, revocation="off").validate(issued.certificate)
    expect(verdict, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
    assert "engine missing (test)" in verdict.detail


def test_message_signed_by_a_gost_leaf_end_to_end(online):
    """The whole receiving side: XMLDSig verified with the leaf's key, then its path."""
    issued = online.issue(name("sender"))
    key = gost_openssl.PrivateKey.from_pem(issued.key_path.read_bytes())
    ns = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3"
    root = etree.fromstring(
        f'<e xmlns:ns="{ns}"><ns:Data Id="SIGNED_BY_CONSUMER"><ns:Text>привет</ns:Text>'
        f'</ns:Data><ns:Sig/></e>'.encode())
    sign_detached(root[0], root[1], key, issued.certificate,
                  extra_certificates=[online.issuing.certificate])
    again = etree.fromstring(etree.tostring(root))
    verified = verify_detached(again[1][0], again[0])
    verdict = ChainValidator([online.root.certificate]).validate(
        verified.certificate, verified.extra_certificates)
    expect(verdict, TOTAL_PASSED, None)
    assert identity_of(verified.certificate).snils == "11223344595"
