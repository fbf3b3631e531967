"""Certificate-path validation against the test PKI, with CRL and OCSP fetched over real HTTP."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from registry_stubs.pki import Pki
from signing.chain import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    ChainValidator,
    RevocationMode,
    TrustVerdict,
)


def validator(pki: Pki, **kwargs) -> ChainValidator:
    return ChainValidator(pki.trust_anchors(), pki.intermediates(), **kwargs)


def leaf(pki: Pki, name: str, **kwargs):
    kwargs.setdefault("key_type", "ec-p256")
    return pki.issue(name, common_name=name, organization="ООО Ромашка", **kwargs)


def expect(verdict: TrustVerdict, indication: str, sub: str | None, certificate: str | None = None):
    assert (verdict.indication, verdict.sub_indication) == (indication, sub), verdict.detail
    assert verdict.passed is (indication == TOTAL_PASSED)
    if certificate is not None:
        assert f"CN={certificate}," in verdict.certificate + ","


# ------------------------------------------------------------------------------ good paths
@pytest.mark.parametrize("key_type", ["ec-p256", "rsa2048"])
def test_good_chain_passes_with_the_full_path(pki, ca, unique, key_type):
    issued = leaf(pki, unique(), key_type=key_type)
    verdict = validator(pki).validate(issued.certificate)
    expect(verdict, TOTAL_PASSED, None, issued.name)
    assert verdict.path == (issued.certificate, pki.certificate("intermediate"), pki.certificate("root"))
    assert "revocation status checked" in verdict.detail


def test_intermediate_can_come_from_the_message(pki, ca, unique):
    issued = leaf(pki, unique())
    bare = ChainValidator(pki.trust_anchors())  # no intermediates in the store
    expect(bare.validate(issued.certificate), INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")
    verdict = bare.validate(issued.certificate, (pki.certificate("intermediate"),))
    expect(verdict, TOTAL_PASSED, None)


def test_revocation_mode_accepts_configuration_strings(pki):
    assert validator(pki, revocation="soft-fail").revocation is RevocationMode.SOFT_FAIL
    with pytest.raises(ValueError):
        validator(pki, revocation="maybe")


def test_no_trust_anchors_is_refused():
    with pytest.raises(ValueError, match="trust anchor"):
        ChainValidator([])


# ------------------------------------------------------------------------------ validity
def test_expired_certificate_fails(pki, ca, unique):
    now = datetime.now(timezone.utc)
    issued = leaf(pki, unique(), not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    expect(validator(pki).validate(issued.certificate), TOTAL_FAILED, "EXPIRED", issued.name)


def test_not_yet_valid_certificate_fails(pki, ca, unique):
    now = datetime.now(timezone.utc)
    issued = leaf(pki, unique(), not_before=now + timedelta(days=1))
    expect(validator(pki).validate(issued.certificate), TOTAL_FAILED, "NOT_YET_VALID", issued.name)


def test_validity_is_also_checked_at_signing_time(pki, ca, unique):
    now = datetime.now(timezone.utc)
    issued = leaf(pki, unique(), not_before=now - timedelta(days=1))
    v = validator(pki)
    expect(v.validate(issued.certificate, at=now - timedelta(hours=1)), TOTAL_PASSED, None)
    expect(v.validate(issued.certificate, at=now - timedelta(days=2)), TOTAL_FAILED, "NOT_YET_VALID",
           issued.name)
    expect(v.validate(issued.certificate), TOTAL_PASSED, None)  # the cached verdict is unharmed


def test_expired_now_but_valid_when_signed_is_indeterminate(pki, ca, unique):
    now = datetime.now(timezone.utc)
    issued = leaf(pki, unique(), not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    v = validator(pki)
    expect(v.validate(issued.certificate, at=now - timedelta(days=2)), INDETERMINATE,
           "OUT_OF_BOUNDS_NO_POE", issued.name)
    expect(v.validate(issued.certificate, at=now - timedelta(hours=1)), TOTAL_FAILED, "EXPIRED")


# ------------------------------------------------------------------------------ revocation
def test_revoked_by_crl(pki, ca, unique):
    issued = leaf(pki, unique(), ocsp=False)  # CRL distribution point only
    v = validator(pki)
    expect(v.validate(issued.certificate), TOTAL_PASSED, None)
    pki.revoke(issued.name, reason="key_compromise")
    v.clear_cache()
    verdict = v.validate(issued.certificate)
    expect(verdict, TOTAL_FAILED, "REVOKED", issued.name)
    assert verdict.detail.startswith("CRL indicates")


@pytest.mark.parametrize("mode", [RevocationMode.HARD_FAIL, RevocationMode.SOFT_FAIL])
def test_revoked_by_ocsp(pki, ca, unique, mode):
    issued = leaf(pki, unique(), crl=False)  # OCSP only: the CRL is never consulted
    pki.revoke(issued.name, reason="cessation_of_operation")
    before = ca.app.requests["crl"]
    verdict = validator(pki, revocation=mode).validate(issued.certificate)
    expect(verdict, TOTAL_FAILED, "REVOKED", issued.name)
    assert verdict.detail.startswith("OCSP response indicates")
    # only the root's CRL may have been fetched (for the intermediate), never the issuing CA's
    assert ca.app.requests["crl"] - before <= 1


def test_ocsp_revocation_wins_over_a_cached_good_crl(pki, ca, unique, clock):
    """The CRL was fetched (and cached) while the certificate was good; OCSP knows better."""
    crl_only = leaf(pki, unique(), ocsp=False)
    both = leaf(pki, unique())
    v = validator(pki, clock=clock)
    expect(v.validate(crl_only.certificate), TOTAL_PASSED, None)  # caches the issuing CA's CRL
    pki.revoke(both.name)
    verdict = v.validate(both.certificate)
    expect(verdict, TOTAL_FAILED, "REVOKED", both.name)
    assert verdict.detail.startswith("OCSP response indicates")


def test_revoked_intermediate_is_reported_as_such(tmp_path, ca_server, unique):
    from registry_stubs.ca import serve

    server = serve(tmp_path / "ca")
    try:
        own = Pki.init(tmp_path / "ca", base_url=server.url)
        issued = own.issue("leaf", common_name="leaf", key_type="ec-p256")
        own.revoke("intermediate", reason="ca_compromise")
        verdict = validator(own).validate(issued.certificate)
        expect(verdict, INDETERMINATE, "REVOKED_CA_NO_POE", "Test Issuing CA")
    finally:
        server.stop()


def test_unreachable_responder_soft_fail_passes_with_a_warning(pki, ca, unique):
    issued = leaf(pki, unique())
    ca.app.offline = True
    verdict = validator(pki, revocation=RevocationMode.SOFT_FAIL).validate(issued.certificate)
    expect(verdict, TOTAL_PASSED, None)
    assert "warnings" in verdict.detail and "not checked" in verdict.detail


def test_unreachable_responder_hard_fail_is_indeterminate(pki, ca, unique):
    issued = leaf(pki, unique())
    ca.app.offline = True
    verdict = validator(pki, revocation=RevocationMode.HARD_FAIL).validate(issued.certificate)
    expect(verdict, INDETERMINATE, "TRY_LATER")
    assert "revocation" in verdict.detail


def test_hard_fail_requires_revocation_pointers(pki, ca, unique):
    issued = leaf(pki, unique(), crl=False, ocsp=False)
    expect(validator(pki).validate(issued.certificate), INDETERMINATE, "TRY_LATER", issued.name)
    soft = validator(pki, revocation="soft-fail").validate(issued.certificate)
    expect(soft, TOTAL_PASSED, None)
    assert "declares no CRL or OCSP" in soft.detail


def test_hard_fail_rejects_a_stale_crl(tmp_path, unique):
    from registry_stubs.ca import serve

    server = serve(tmp_path / "ca")
    try:
        own = Pki.init(tmp_path / "ca", base_url=server.url)
        issued = own.issue("leaf", common_name="leaf", key_type="ec-p256", ocsp=False)
        now = datetime.now(timezone.utc)
        own.publish_crl("intermediate", this_update=now - timedelta(days=2),
                        next_update=now - timedelta(days=1))
        verdict = validator(own).validate(issued.certificate)
        expect(verdict, INDETERMINATE, "TRY_LATER")
        assert "Test Issuing CA" not in verdict.certificate  # it is the leaf's CRL that is stale
        # soft-fail forgives an unreachable CA, not a CA publishing stale data
        soft = validator(own, revocation=RevocationMode.SOFT_FAIL).validate(issued.certificate)
        expect(soft, INDETERMINATE, "TRY_LATER")
    finally:
        server.stop()


def test_revocation_off_does_not_look(pki, ca, unique):
    issued = leaf(pki, unique())
    pki.revoke(issued.name)
    before = sum(ca.app.requests.values())
    verdict = validator(pki, revocation=RevocationMode.OFF).validate(issued.certificate)
    expect(verdict, TOTAL_PASSED, None)
    assert "OFF" in verdict.detail
    assert sum(ca.app.requests.values()) == before


# ------------------------------------------------------------------------------ trust, constraints
def test_unknown_issuer(tmp_path, pki, ca):
    foreign = Pki.init(tmp_path / "foreign", base_url=ca.url)
    issued = foreign.issue("stranger", common_name="stranger", key_type="ec-p256")
    v = validator(pki)
    expect(v.validate(issued.certificate), INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND", "stranger")
    # carrying the foreign intermediate along does not help: its root is not an anchor
    expect(v.validate(issued.certificate, foreign.intermediates()), INDETERMINATE,
           "NO_CERTIFICATE_CHAIN_FOUND")


def test_self_signed_leaf(pki, ca, unique):
    issued = leaf(pki, unique(), issuer="self")
    verdict = validator(pki).validate(issued.certificate)
    expect(verdict, INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND", issued.name)
    assert "self-signed" in verdict.detail


def test_wrong_key_usage(pki, ca, unique):
    issued = leaf(pki, unique(), key_usage=("key_encipherment",))
    verdict = validator(pki).validate(issued.certificate)
    expect(verdict, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE", issued.name)
    assert "digital_signature" in verdict.detail


def test_required_key_usage_is_configurable(pki, ca, unique):
    issued = leaf(pki, unique(), key_usage=("digital_signature",))
    strict = validator(pki, required_key_usage=frozenset({"digital_signature", "non_repudiation"}))
    expect(strict.validate(issued.certificate), INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")
    expect(validator(pki).validate(issued.certificate), TOTAL_PASSED, None)


def test_certificate_issued_by_a_non_ca_breaks_basic_constraints(pki, ca, unique):
    not_a_ca = leaf(pki, unique("notca"))
    child = leaf(pki, unique(), issuer=not_a_ca.name)
    verdict = validator(pki).validate(child.certificate, (not_a_ca.certificate,))
    expect(verdict, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")
    assert "not a CA" in verdict.detail


def test_path_length_of_the_issuing_ca_is_enforced(pki, ca, unique):
    sub_ca = pki.issue(unique("subca"), common_name="Sub CA", key_type="ec-p256", ca=True,
                       key_usage=("key_cert_sign", "crl_sign"))
    child = leaf(pki, unique(), issuer=sub_ca.name)
    verdict = validator(pki).validate(child.certificate, (sub_ca.certificate,))
    expect(verdict, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")
    assert "path length" in verdict.detail


def test_ca_certificate_is_not_a_signer(pki, ca):
    intermediate = pki.certificate("intermediate")  # it even has digitalSignature (for OCSP)
    verdict = validator(pki).validate(intermediate)
    expect(verdict, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE", "Test Issuing CA")
    assert "CA certificate" in verdict.detail


def test_weak_rsa_key(pki, ca, unique):
    issued = leaf(pki, unique(), key_type="rsa1024")
    verdict = validator(pki).validate(issued.certificate)
    expect(verdict, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", issued.name)
    assert "1024" in verdict.detail
    expect(validator(pki, min_rsa_bits=1024).validate(issued.certificate), TOTAL_PASSED, None)


def test_weak_digest_sha1(pki, ca, unique):
    issued = leaf(pki, unique(), hash="sha1")
    verdict = validator(pki).validate(issued.certificate)
    expect(verdict, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", issued.name)
    assert "sha1" in verdict.detail
    lenient = validator(pki, weak_hash_algos=frozenset({"md5"}))
    expect(lenient.validate(issued.certificate), TOTAL_PASSED, None)


# ------------------------------------------------------------------------------ caching
def test_cache_hit_returns_the_same_verdict_without_network(pki, ca, unique):
    issued = leaf(pki, unique())
    v = validator(pki)
    first = v.validate(issued.certificate)
    requests_before = sum(ca.app.requests.values())
    for _ in range(100):
        assert v.validate(issued.certificate) is first
    assert sum(ca.app.requests.values()) == requests_before
    # an equal certificate object (parsed again) hits the same entry
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    again = x509.load_der_x509_certificate(issued.certificate.public_bytes(Encoding.DER))
    assert v.validate(again) is first


def test_revocation_becomes_visible_when_the_cache_expires(pki, ca, unique, clock):
    issued = leaf(pki, unique())
    v = validator(pki, clock=clock, cache_ttl=timedelta(minutes=5))
    expect(v.validate(issued.certificate), TOTAL_PASSED, None)
    pki.revoke(issued.name)
    clock.advance(minutes=4)
    expect(v.validate(issued.certificate), TOTAL_PASSED, None)  # still cached: that is the bargain
    clock.advance(minutes=2)
    expect(v.validate(issued.certificate), TOTAL_FAILED, "REVOKED", issued.name)


def test_cache_does_not_outlive_the_revocation_data(tmp_path, clock):
    """A verdict built on a CRL expiring in 2 minutes is not reused after 3, even with a long TTL."""
    from registry_stubs.ca import serve

    server = serve(tmp_path / "ca")
    try:
        own = Pki.init(tmp_path / "ca", base_url=server.url)
        issued = own.issue("leaf", common_name="leaf", key_type="ec-p256", ocsp=False)
        now = datetime.now(timezone.utc)
        own.publish_crl("intermediate", this_update=now, next_update=now + timedelta(minutes=2))
        v = validator(own, clock=clock, cache_ttl=timedelta(hours=1))
        first = v.validate(issued.certificate)
        expect(first, TOTAL_PASSED, None)
        clock.advance(minutes=1)
        assert v.validate(issued.certificate) is first
        clock.advance(minutes=2)  # the pinned CRL is stale now: re-validation must notice
        expect(v.validate(issued.certificate), INDETERMINATE, "TRY_LATER")
    finally:
        server.stop()


def test_cache_does_not_outlive_the_certificate(pki, ca, unique, clock):
    issued = leaf(pki, unique(), not_after=datetime.now(timezone.utc) + timedelta(minutes=2))
    v = validator(pki, clock=clock)
    expect(v.validate(issued.certificate), TOTAL_PASSED, None)
    clock.advance(minutes=3)
    expect(v.validate(issued.certificate), TOTAL_FAILED, "EXPIRED", issued.name)


def test_failures_are_cached_briefly(pki, ca, unique, clock):
    issued = leaf(pki, unique())
    v = validator(pki, clock=clock, failure_ttl=timedelta(seconds=30))
    ca.app.offline = True
    down = v.validate(issued.certificate)
    expect(down, INDETERMINATE, "TRY_LATER")
    ca.app.offline = False
    assert v.validate(issued.certificate) is down
    clock.advance(seconds=31)
    expect(v.validate(issued.certificate), TOTAL_PASSED, None)


def test_concurrent_validations_share_one_computation(pki, ca, unique):
    issued = leaf(pki, unique())
    v = validator(pki)
    before = ca.app.requests["ocsp"]
    results: list[TrustVerdict] = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        results.append(v.validate(issued.certificate))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r is results[0] for r in results)
    expect(results[0], TOTAL_PASSED, None)
    assert ca.app.requests["ocsp"] - before == 2  # leaf and intermediate, once


def test_never_raises_for_garbage_extra_certificates(pki, ca, unique):
    issued = leaf(pki, unique())
    junk = leaf(pki, unique(), issuer="self").certificate
    verdict = validator(pki).validate(issued.certificate, (junk, junk))
    expect(verdict, TOTAL_PASSED, None)


def test_validate_works_from_inside_a_running_event_loop(pki, ca, unique):
    import asyncio

    issued = leaf(pki, unique())

    async def inside():
        return validator(pki).validate(issued.certificate)

    expect(asyncio.run(inside()), TOTAL_PASSED, None)
