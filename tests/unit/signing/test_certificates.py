"""Per-certificate facts worked out once per certificate object (signing/certificates.py), and
the caches keyed by them: the verdict cache and the signer identities."""
from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from registry_stubs.pki import Pki
from signing import certificates


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki.init(tmp_path_factory.mktemp("pki"), base_url="http://127.0.0.1:9")


def _fresh(cert: x509.Certificate) -> x509.Certificate:
    """Another object of the same certificate."""
    return x509.load_der_x509_certificate(cert.public_bytes(Encoding.DER))


def test_facts_are_remembered_per_certificate_object(pki, monkeypatch):
    """Computed once per object; a fresh object of another certificate, even at a reused id,
    gets its own."""
    a = pki.issue("a", common_name="A").certificate
    b = pki.issue("b", common_name="B").certificate
    monkeypatch.setattr(certificates, "_FACTS", {})
    expected = hashlib.sha256(a.public_bytes(Encoding.DER)).hexdigest()
    assert certificates.fingerprint(a) == expected
    key = certificates.public_key(a)
    assert key.public_numbers() == a.public_key().public_numbers()
    assert certificates.public_key(a) is key  # remembered, not decoded again
    assert certificates._FACTS[id(a)][:2] == [a, expected]
    certificates._FACTS[id(b)] = [a, expected, key]  # as if b reused a dead object's id
    assert certificates.fingerprint(b) == hashlib.sha256(b.public_bytes(Encoding.DER)).hexdigest()
    assert certificates.public_key(b).public_numbers() == b.public_key().public_numbers()


def test_facts_of_oversized_certificates_are_not_kept(pki, monkeypatch):
    cert = pki.issue("c", common_name="C").certificate
    monkeypatch.setattr(certificates, "_FACTS", {})
    monkeypatch.setattr(certificates, "MAX_KEPT_DER", 100)  # a real certificate is larger
    assert certificates.fingerprint(cert) == certificates.fingerprint(cert)
    assert certificates.public_key(cert).public_numbers() == cert.public_key().public_numbers()
    assert certificates._FACTS == {}


def test_the_facts_stay_bounded(pki, monkeypatch):
    cert = pki.issue("d", common_name="D").certificate
    monkeypatch.setattr(certificates, "_FACTS", {})
    monkeypatch.setattr(certificates, "MAX_KEPT", 8)
    kept = [_fresh(cert) for _ in range(20)]  # alive: their ids stay distinct
    assert {certificates.fingerprint(c) for c in kept} == {certificates.fingerprint(cert)}
    assert len(certificates._FACTS) <= 8


def test_a_verdict_and_an_identity_are_found_again_for_another_object_of_the_certificate(pki):
    """The verdict cache and the identities are keyed by fingerprint: the same certificate sent
    again (another object: the text cache was emptied, or another process's pickling) finds
    them; another certificate does not."""
    from gateway.pipeline.verify import Verifier
    from signing.chain import ChainValidator, RevocationMode

    leaf = pki.issue("e", common_name="E").certificate
    other = pki.issue("f", common_name="F").certificate
    chain = ChainValidator(pki.trust_anchors(), pki.intermediates(),
                           revocation=RevocationMode.OFF)
    first = chain.validate(leaf)
    assert first.passed, first
    assert len(chain._cache) == 1
    assert chain.validate(_fresh(leaf)) == first and len(chain._cache) == 1
    chain.validate(other)
    assert len(chain._cache) == 2
    verifier = Verifier(chain)
    identity = verifier.identity(leaf)
    assert verifier.identity(_fresh(leaf)) is identity
    assert verifier.identity(other) is not identity and verifier.identity(other).common_name == "F"
