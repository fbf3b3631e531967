"""The demo PKI in GOST R 34.10-2012 (registry_stubs/pki.py with ca_key_type gost2012-256/512):
its certificates, CRLs and OCSP answers are checked by the ``openssl`` command with the GOST
engine (the independent implementation, tests/gost_cli.py) and by ChainValidator with
revocation through the CA stub; and the algorithm profiles' refusals of certificate paths."""
from __future__ import annotations


import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from gost_cli import openssl, openssl_ok
from registry_stubs.ca import serve
from registry_stubs.pki import Pki, PkiError
from signing import gost
from signing.algorithms import PROFILES
from signing.chain import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED, ChainValidator
from signing.identity import identity_of

SIGNATURE_OIDS = {"gost2012-256": gost.SIGNATURE_2012_256,
                  "gost2012-512": gost.SIGNATURE_2012_512}


@pytest.fixture(scope="module", params=["gost2012-256", "gost2012-512"])
def served(request, tmp_path_factory):
    server = serve(tmp_path_factory.mktemp("gost-demo-pki") / "ca", "127.0.0.1", 0)
    pki = Pki.init(server.app.pki_dir, base_url=server.url, ca_key_type=request.param)
    yield pki, server
    server.stop()


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _files(tmp_path, pki: Pki, leaf: x509.Certificate):
    root, inter, leaf_path = tmp_path / "root.pem", tmp_path / "inter.pem", tmp_path / "leaf.pem"
    root.write_bytes(_pem(pki.certificate("root")))
    inter.write_bytes(_pem(pki.certificate("intermediate")))
    leaf_path.write_bytes(_pem(leaf))
    return root, inter, leaf_path


def test_certificates_are_gost_and_verify_with_the_openssl_command(served, tmp_path):
    pki, _server = served
    issued = pki.issue("head", common_name="Иванов Иван", organization="ООО Ромашка",
                       inn="500100732259", inn_le="7702123454", ogrn="1027700132195",
                       snils="11223344595", key_type=pki.ca_key_type)
    for name in ("root", "intermediate"):
        assert pki.certificate(name).signature_algorithm_oid.dotted_string == \
            SIGNATURE_OIDS[pki.ca_key_type]
    assert gost.certificate_key(issued.certificate).algorithm_oid == \
        (gost.KEY_2012_256 if pki.ca_key_type == "gost2012-256" else gost.KEY_2012_512)
    who = identity_of(issued.certificate)
    assert (who.inn, who.inn_le, who.ogrn, who.snils) == \
        ("500100732259", "7702123454", "1027700132195", "11223344595")
    root, inter, leaf = _files(tmp_path, pki, issued.certificate)
    out = openssl("verify", "-CAfile", root, "-untrusted", inter, leaf)
    assert b"OK" in out
    # the key written to disk is one the openssl command reads and signs with
    signature = openssl("dgst", "-md_gost12_256", "-sign", issued.key_path,
                        input=b"data") if pki.ca_key_type == "gost2012-256" else None
    if signature is not None:
        public = tmp_path / "pub.pem"
        public.write_bytes(openssl("x509", "-in", leaf, "-pubkey", "-noout"))
        sig = tmp_path / "sig"
        sig.write_bytes(signature)
        assert b"Verified OK" in openssl("dgst", "-md_gost12_256", "-verify", public,
                                         "-signature", sig, input=b"data")


def test_crl_is_gost_signed_and_lists_revocations(served, tmp_path):
    pki, _server = served
    victim = pki.issue("crl-victim", common_name="victim", key_type=pki.ca_key_type)
    pki.revoke("crl-victim", reason="key_compromise")
    crl_path = tmp_path / "inter.crl"
    crl_path.write_bytes(pki.crl_der("intermediate"))
    root, inter, _leaf = _files(tmp_path, pki, victim.certificate)
    assert openssl_ok("crl", "-inform", "DER", "-in", crl_path, "-CAfile", inter, "-noout")
    crl = x509.load_der_x509_crl(crl_path.read_bytes())
    assert crl.signature_algorithm_oid.dotted_string == SIGNATURE_OIDS[pki.ca_key_type]
    assert crl.get_revoked_certificate_by_serial_number(victim.certificate.serial_number)
    # revoked by the CRL: openssl's own path check with CRLs agrees
    both = tmp_path / "crls.pem"
    both.write_bytes(openssl("crl", "-inform", "DER", "-in", crl_path) +
                     openssl("crl", "-inform", "DER", "-in", _der_file(tmp_path, pki, "root")))
    assert not openssl_ok("verify", "-crl_check_all", "-CRLfile", both, "-CAfile", root,
                          "-untrusted", inter, tmp_path / "leaf.pem")


def _der_file(tmp_path, pki, issuer):
    path = tmp_path / f"{issuer}.crl"
    path.write_bytes(pki.crl_der(issuer))
    return path


def test_ocsp_answers_are_gost_signed_and_echo_the_nonce(served, tmp_path):
    pki, _server = served
    good = pki.issue("ocsp-good", common_name="good", key_type=pki.ca_key_type)
    inter = pki.certificate("intermediate")
    root, inter_path, leaf = _files(tmp_path, pki, good.certificate)
    request = tmp_path / "req.der"
    openssl("ocsp", "-issuer", inter_path, "-cert", leaf, "-reqout", request)  # with a nonce
    answer = tmp_path / "resp.der"
    answer.write_bytes(pki.ocsp_response(request.read_bytes()))
    # signature (by the issuing CA, GOST) and nonce checked by the openssl command
    assert openssl_ok("ocsp", "-respin", answer, "-reqin", request, "-CAfile", root,
                      "-VAfile", inter_path)
    assert b"Cert Status: good" in openssl("ocsp", "-respin", answer, "-resp_text", "-noverify")
    tampered = bytearray(answer.read_bytes())
    tampered[-5] ^= 1  # inside the signature
    answer.write_bytes(bytes(tampered))
    assert not openssl_ok("ocsp", "-respin", answer, "-reqin", request, "-CAfile", root,
                          "-VAfile", inter_path)
    answer.write_bytes(pki.ocsp_response(request.read_bytes()))
    basic = asn1_ocsp.OCSPResponse.load(answer.read_bytes()).basic_ocsp_response
    assert basic["signature_algorithm"]["algorithm"].dotted == SIGNATURE_OIDS[pki.ca_key_type]
    # revoked and unknown, through cryptography's request builder
    pki.revoke("ocsp-good", reason="affiliation_changed")
    req = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        *_hashes(pki, "intermediate"), good.certificate.serial_number, hashes.SHA1()).build()
    resp = ocsp.load_der_ocsp_response(pki.ocsp_response(req.public_bytes(serialization.Encoding.DER)))
    assert resp.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_reason is x509.ReasonFlags.affiliation_changed
    req = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        *_hashes(pki, "intermediate"), 12345, hashes.SHA1()).build()
    resp = ocsp.load_der_ocsp_response(pki.ocsp_response(req.public_bytes(serialization.Encoding.DER)))
    assert resp.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    assert inter.subject == resp.responder_name


def _hashes(pki: Pki, issuer: str) -> tuple[bytes, bytes]:
    from asn1crypto import x509 as asn1_x509
    import hashlib
    cert = pki.certificate(issuer)
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    bits = parsed["tbs_certificate"]["subject_public_key_info"]["public_key"].contents[1:]
    return hashlib.sha1(cert.subject.public_bytes()).digest(), hashlib.sha1(bits).digest()


def test_chain_validator_with_revocation(served):
    pki, server = served
    validator = ChainValidator(pki.trust_anchors(), pki.intermediates())
    ok = pki.issue("chain-ok", common_name="ok", key_type=pki.ca_key_type)
    verdict = validator.validate(ok.certificate)
    assert verdict.indication == TOTAL_PASSED, verdict.detail
    by_crl = pki.issue("chain-crl", common_name="crl", key_type=pki.ca_key_type, ocsp=False)
    by_ocsp = pki.issue("chain-ocsp", common_name="ocsp", key_type=pki.ca_key_type, crl=False)
    pki.revoke("chain-crl")
    pki.revoke("chain-ocsp")
    validator.clear_cache()
    for issued in (by_crl, by_ocsp):
        verdict = validator.validate(issued.certificate)
        assert (verdict.indication, verdict.sub_indication) == (TOTAL_FAILED, "REVOKED"), \
            verdict.detail
    assert server.app.requests["ocsp"] and server.app.requests["crl"]


def test_profiles_refuse_paths_of_the_other_family(served):
    pki, _server = served
    gost_leaf = pki.issue("profile-gost", common_name="g", key_type=pki.ca_key_type)
    rsa_leaf = pki.issue("profile-rsa", common_name="r", key_type="rsa2048")  # GOST-signed
    args = (pki.trust_anchors(), pki.intermediates())
    verdict = ChainValidator(*args, revocation="off", algorithms=PROFILES["international"]) \
        .validate(gost_leaf.certificate)
    assert (verdict.indication, verdict.sub_indication) == \
        (INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE")
    assert "profile 'international'" in verdict.detail
    # an RSA signer key, though its certificate is GOST-signed: refused under smev ...
    verdict = ChainValidator(*args, revocation="off", algorithms=PROFILES["smev"]) \
        .validate(rsa_leaf.certificate)
    assert verdict.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE"
    assert "rsa signer key" in verdict.detail and "profile 'smev'" in verdict.detail
    # ... and under international its GOST-signed certificate is (the issuer's signature)
    verdict = ChainValidator(*args, revocation="off", algorithms=PROFILES["international"]) \
        .validate(rsa_leaf.certificate)
    assert verdict.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE"
    assert "profile 'international'" in verdict.detail


def test_an_ecdsa_issued_gost_leaf_is_refused_under_smev(tmp_path):
    """GOST signer key, but an ECDSA signature on its certificate: smev wants GOST throughout."""
    pki = Pki.init(tmp_path / "ca", base_url="http://127.0.0.1:9")
    leaf = pki.issue("mixed", common_name="mixed", key_type="gost2012-256")
    assert ChainValidator(pki.trust_anchors(), pki.intermediates(), revocation="off") \
        .validate(leaf.certificate).passed
    verdict = ChainValidator(pki.trust_anchors(), pki.intermediates(), revocation="off",
                             algorithms=PROFILES["smev"]).validate(leaf.certificate)
    assert verdict.sub_indication == "CRYPTO_CONSTRAINTS_FAILURE"
    assert "ec signatures are not allowed by the algorithm profile 'smev'" in verdict.detail


def test_a_pki_keeps_its_key_type(tmp_path):
    Pki.init(tmp_path / "ca", base_url="http://127.0.0.1:9", ca_key_type="gost2012-256")
    with pytest.raises(PkiError, match="gost2012-256 CAs, not ec-p384"):
        Pki.init(tmp_path / "ca", base_url="http://127.0.0.1:9")
    assert Pki.init(tmp_path / "ca", base_url="http://127.0.0.1:9",
                    reuse_any_key_type=True).ca_key_type == "gost2012-256"
    with pytest.raises(PkiError, match="Streebog"):
        Pki.load(tmp_path / "ca").issue("sha1", common_name="x", key_type="gost2012-256",
                                        hash="sha1")
