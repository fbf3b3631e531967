"""Receipt signing is configurable (key, algorithm, profile) and refuses a bad choice at start."""
import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from envelopes import ns
from gateway.pipeline.receipt import ReceiptSigner
from registry_stubs.pki import Pki, key_pem
from signing.algorithms import (DIGEST_GOST_2012_256, DIGEST_GOST_2012_512, PROFILES,
                                SIG_ECDSA_SHA384, SIG_GOST_2012_256, SIG_GOST_2012_512,
                                SIG_RSA_PSS_SHA256, SIG_RSA_SHA1)
from signing.errors import SignatureError
from signing.xmldsig import verify_detached


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki.init(tmp_path_factory.mktemp("pki"), base_url="http://127.0.0.1:9")


def _signer(pki, tmp_path, key_type, **kwargs):
    issued = pki.issue(f"gw-{key_type}", common_name="Gateway", key_type=key_type)
    key = tmp_path / f"{key_type}.key"
    key.write_bytes(key_pem(issued.private_key))
    cert = tmp_path / f"{key_type}.pem"
    cert.write_bytes(issued.certificate.public_bytes(serialization.Encoding.PEM))
    return ReceiptSigner(key, cert, **kwargs)


@pytest.mark.parametrize("key_type,profile,method", [
    ("ec-p256", "smev", None), ("ec-p384", "w3c", SIG_ECDSA_SHA384),
    ("rsa2048", "smev", SIG_RSA_PSS_SHA256), ("rsa2048", "w3c", None)])
def test_configured_algorithm_and_profile_are_used(pki, tmp_path, key_type, profile, method):
    signer = _signer(pki, tmp_path, key_type, profile=profile, signature_method=method)
    t = ns.SMEV_TYPES
    response = etree.Element(ns.q(t, "SendRequestResponse"), nsmap={"ns": t})
    meta = etree.SubElement(response, ns.q(t, "MessageMetadata"), Id="X")
    signature = signer.sign(meta, etree.SubElement(response, ns.q(t, "SMEVSignature")))
    verified = verify_detached(signature, meta)
    if method:
        assert verified.signature_method == method
    transforms = [t.get("Algorithm") for t in signature.iter(f"{{{ns.DS}}}Transform")]
    assert ("urn://smev-gov-ru/xmldsig/transform" in transforms) == (profile == "smev")


def test_a_refused_algorithm_fails_at_start(pki, tmp_path):
    with pytest.raises(SignatureError):
        _signer(pki, tmp_path, "rsa2048", signature_method=SIG_RSA_SHA1)


def _receipt(signer):
    t = ns.SMEV_TYPES
    response = etree.Element(ns.q(t, "SendRequestResponse"), nsmap={"ns": t})
    meta = etree.SubElement(response, ns.q(t, "MessageMetadata"), Id="X")
    return meta, signer.sign(meta, etree.SubElement(response, ns.q(t, "SMEVSignature")))


@pytest.mark.parametrize("key_type,method,digest", [
    ("gost2012-256", SIG_GOST_2012_256, DIGEST_GOST_2012_256),
    ("gost2012-512", SIG_GOST_2012_512, DIGEST_GOST_2012_512)])
def test_a_gost_key_signs_gost_receipts_in_the_smev_profile(pki, tmp_path, key_type, method,
                                                            digest):
    signer = _signer(pki, tmp_path, key_type, policy=PROFILES["smev"])
    meta, signature = _receipt(signer)
    verified = verify_detached(signature, meta, policy=PROFILES["smev"])
    assert (verified.signature_method, verified.digest_method) == (method, digest)
    transforms = [t.get("Algorithm") for t in signature.iter(f"{{{ns.DS}}}Transform")]
    assert "urn://smev-gov-ru/xmldsig/transform" in transforms


def test_a_key_outside_the_profile_fails_at_start(pki, tmp_path):
    with pytest.raises(SignatureError, match="profile 'smev'"):
        _signer(pki, tmp_path, "ec-p256", policy=PROFILES["smev"])
    with pytest.raises(SignatureError, match="profile 'international'"):
        _signer(pki, tmp_path, "gost2012-256", policy=PROFILES["international"])
