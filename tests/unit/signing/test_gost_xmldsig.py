"""XMLDSig with GOST R 34.10-2012 / 34.11-2012: sign_detached / verify_detached end to end under
the SMEV profile (exc-c14n + SMEV transform) and the W3C one, the policy's refusals before any
cryptography, and what the installed xmlsec1 can (not) check. The SignatureValue and
DigestValue written are checked independently: by gostcrypto and by the openssl command."""
from __future__ import annotations

import base64
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

import gost_oracle as oracle
from gost_cli import openssl_ok, pem
from signing import algorithms as alg
from signing import gost
from signing.c14n import exc_c14n
from signing.errors import CryptoConstraintsError, HashError, SignatureCryptoError
from signing.smev_transform import smev_transform
from signing.xmldsig import Profile, sign_detached, verify_detached

DS = "http://www.w3.org/2000/09/xmldsig#"
SMEV_TYPES = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3"
SMEV_BASIC = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.3"
SIG = f"{{{DS}}}Signature"

ENVELOPE = f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <ns:SendRequestRequest xmlns:ns="{SMEV_TYPES}">
      <ns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER">
        <ns:MessageID>db0486d0-3c08-11ef-8a48-0242ac120002</ns:MessageID>
        <b:MessagePrimaryContent xmlns:b="{SMEV_BASIC}">
          <r:Request xmlns:r="urn://example/registration/1.0" kind="new">
            <r:Name>ООО "Ромашка" &amp; партнёры</r:Name>
            <r:INN>7701234567</r:INN>
          </r:Request>
        </b:MessagePrimaryContent>
      </ns:SenderProvidedRequestData>
      <ns:CallerInformationSystemSignature/>
    </ns:SendRequestRequest>
  </soap:Body>
</soap:Envelope>"""


def parts(root):
    return (root.find(f".//{{{SMEV_TYPES}}}SenderProvidedRequestData"),
            root.find(f".//{{{SMEV_TYPES}}}CallerInformationSystemSignature"))


def signed(signer, profile=Profile.SMEV, **kwargs):
    root = etree.fromstring(ENVELOPE.encode())
    target, holder = parts(root)
    signature = sign_detached(target, holder, signer.key, signer.certificate, profile=profile,
                              **kwargs)
    return root, target, signature


def arrived(root):
    """Serialised and parsed again, the way a message arrives."""
    again = etree.fromstring(etree.tostring(root))
    target, holder = parts(again)
    return target, holder.find(SIG)


CASES = [("gost256_signer", alg.SIG_GOST_2012_256, alg.DIGEST_GOST_2012_256, 256),
         ("gost256_cpa_signer", alg.SIG_GOST_2012_256, alg.DIGEST_GOST_2012_256, 256),
         ("gost512_signer", alg.SIG_GOST_2012_512, alg.DIGEST_GOST_2012_512, 512)]


@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize("signer_name, method, digest, bits", CASES)
def test_round_trip(request, profile, signer_name, method, digest, bits):
    signer = request.getfixturevalue(signer_name)
    root, _, signature = signed(signer, profile)
    assert signature.find(f".//{{{DS}}}SignatureMethod").get("Algorithm") == method
    assert signature.find(f".//{{{DS}}}DigestMethod").get("Algorithm") == digest  # by default
    target, signature = arrived(root)
    verified = verify_detached(signature, target)
    assert verified.element is target
    assert (verified.signature_method, verified.digest_method) == (method, digest)
    assert verified.certificate == signer.certificate


@pytest.mark.parametrize("signer_name, method, digest, bits", CASES)
def test_values_written_are_checked_independently(request, tmp_path, signer_name, method,
                                                  digest, bits):
    """DigestValue is Streebog (gostcrypto's) of the SMEV transform; SignatureValue is s||r
    over exc-c14n(SignedInfo), accepted by gostcrypto and by ``openssl dgst -verify``."""
    signer = request.getfixturevalue(signer_name)
    root, target, signature = signed(signer)
    digest_value = base64.b64decode(signature.findtext(f".//{{{DS}}}DigestValue"))
    assert digest_value == oracle.streebog(smev_transform(target), bits)
    value = base64.b64decode(signature.findtext(f"{{{DS}}}SignatureValue"))
    signed_info = exc_c14n(signature.find(f"{{{DS}}}SignedInfo"))
    key = gost.certificate_key(signer.certificate)
    assert oracle.verify(key.paramset_oid, bits, key.x, key.y, value,
                         oracle.streebog(signed_info, bits))
    (tmp_path / "pub.pem").write_bytes(pem("PUBLIC KEY", key.der))
    (tmp_path / "sig").write_bytes(value)
    (tmp_path / "si").write_bytes(signed_info)
    assert openssl_ok("dgst", f"-md_gost12_{bits}", "-verify", tmp_path / "pub.pem",
                      "-signature", tmp_path / "sig", tmp_path / "si")


def test_a_signature_made_by_gostcrypto_verifies(gost256_signer):
    """Replace our SignatureValue by one gostcrypto computes with the same key."""
    root, target, signature = signed(gost256_signer)
    key = gost.certificate_key(gost256_signer.certificate)
    signed_info = exc_c14n(signature.find(f"{{{DS}}}SignedInfo"))
    theirs = oracle.sign(key.paramset_oid, 256, oracle.private_scalar(gost256_signer.key.pkcs8_der()),
                         oracle.streebog(signed_info))
    signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(theirs).decode()
    verify_detached(*reversed(arrived(root)))


def test_smev_profile_survives_reserialisation(gost512_signer):
    root, _, _ = signed(gost512_signer)
    target, holder = parts(root)
    etree.indent(target)
    text = etree.tostring(root).replace(b"<ns:", b"<smev:").replace(b"</ns:", b"</smev:")
    text = text.replace(b"xmlns:ns=", b"xmlns:smev=")
    assert b"smev:SenderProvidedRequestData" in text
    again = etree.fromstring(text)
    target, holder = parts(again)
    verify_detached(holder.find(SIG), target)


def test_tampering(gost256_signer):
    root, _, _ = signed(gost256_signer)
    target, signature = arrived(root)
    target.find(f"{{{SMEV_TYPES}}}MessageID").text = "changed"
    with pytest.raises(HashError):
        verify_detached(signature, target)
    target, signature = arrived(root)
    value = signature.find(f"{{{DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[-1] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureCryptoError):
        verify_detached(signature, target)
    target, signature = arrived(root)
    value = signature.find(f"{{{DS}}}SignatureValue")
    raw = base64.b64decode(value.text)
    value.text = base64.b64encode(raw[32:] + raw[:32]).decode()     # r||s instead of s||r
    with pytest.raises(SignatureCryptoError):
        verify_detached(signature, target)


def test_another_certificate_in_key_info(gost256_signer, gost256_cpa_signer):
    root, _, _ = signed(gost256_signer)
    target, signature = arrived(root)
    cert = signature.find(f".//{{{DS}}}X509Certificate")
    cert.text = base64.b64encode(gost256_cpa_signer.certificate.public_bytes(Encoding.DER))
    with pytest.raises(SignatureCryptoError):
        verify_detached(signature, target)


# ------------------------------------------------------------------ policy
def _with_method(signer, method, digest=None, policy=None):
    """A signature whose SignedInfo names ``method``, validly signed with it."""
    loose = policy or alg.AlgorithmPolicy(
        digests=alg.DEFAULT_POLICY.digests | {alg.DIGEST_GOST_94},
        signatures=alg.DEFAULT_POLICY.signatures | {alg.SIG_GOST_2001},
        gost_paramsets=gost.DEFAULT_PARAMSETS | {gost.TEST_PARAMSET})
    root, _, _ = signed(signer, signature_method=method, digest_method=digest, policy=loose)
    return arrived(root), loose


def test_legacy_2001_is_recognised_and_refused_with_the_reason(gost2001_signer):
    (target, signature), loose = _with_method(gost2001_signer, alg.SIG_GOST_2001)
    assert signature.find(f".//{{{DS}}}DigestMethod").get("Algorithm") == alg.DIGEST_GOST_94
    with pytest.raises(CryptoConstraintsError, match="GOST R 34.10-2001 was withdrawn") as info:
        verify_detached(signature, target)
    assert info.value.code == "CRYPTO_CONSTRAINTS_FAILURE"
    verify_detached(signature, target, policy=loose)   # implemented: a loosened policy verifies


def test_legacy_94_digest_is_refused_with_the_reason(gost256_signer):
    (target, signature), loose = _with_method(gost256_signer, alg.SIG_GOST_2012_256,
                                              digest=alg.DIGEST_GOST_94)
    with pytest.raises(CryptoConstraintsError, match="GOST R 34.11-94 was withdrawn"):
        verify_detached(signature, target)
    verify_detached(signature, target, policy=loose)


def test_the_signer_refuses_legacy_too(gost2001_signer):
    root = etree.fromstring(ENVELOPE.encode())
    target, holder = parts(root)
    with pytest.raises(CryptoConstraintsError, match="withdrawn"):
        sign_detached(target, holder, gost2001_signer.key, gost2001_signer.certificate)


def test_the_test_curve_is_refused(gost_test_curve_signer):
    (target, signature), loose = _with_method(gost_test_curve_signer, alg.SIG_GOST_2012_256)
    with pytest.raises(CryptoConstraintsError, match="TestParamSet"):
        verify_detached(signature, target)
    verify_detached(signature, target, policy=loose)


def test_key_size_must_match_the_method(gost256_signer, gost512_signer):
    root, _, _ = signed(gost512_signer)
    target, signature = arrived(root)
    signature.find(f".//{{{DS}}}SignatureMethod").set("Algorithm", alg.SIG_GOST_2012_256)
    with pytest.raises(CryptoConstraintsError, match="gost2012_256 key"):
        verify_detached(signature, target)
    root = etree.fromstring(ENVELOPE.encode())
    target, holder = parts(root)
    with pytest.raises(CryptoConstraintsError, match="does not fit"):
        sign_detached(target, holder, gost256_signer.key, gost256_signer.certificate,
                      signature_method=alg.SIG_GOST_2012_512)


def test_key_family_must_match_the_method(gost256_signer, rsa_signer):
    root, _, _ = signed(rsa_signer)
    target, signature = arrived(root)
    signature.find(f".//{{{DS}}}SignatureMethod").set("Algorithm", alg.SIG_GOST_2012_256)
    with pytest.raises(CryptoConstraintsError, match="non-GOST key"):
        verify_detached(signature, target)
    root, _, _ = signed(gost256_signer)
    target, signature = arrived(root)
    signature.find(f".//{{{DS}}}SignatureMethod").set("Algorithm", alg.SIG_RSA_SHA256)
    with pytest.raises(CryptoConstraintsError, match="unsupported public key"):
        verify_detached(signature, target)


def test_a_policy_without_gost_refuses_it(gost256_signer):
    root, _, _ = signed(gost256_signer)
    target, signature = arrived(root)
    international = alg.AlgorithmPolicy(
        digests=alg.DEFAULT_POLICY.digests - {alg.DIGEST_GOST_2012_256, alg.DIGEST_GOST_2012_512},
        signatures=alg.DEFAULT_POLICY.signatures - {alg.SIG_GOST_2012_256,
                                                    alg.SIG_GOST_2012_512})
    with pytest.raises(CryptoConstraintsError, match="not allowed"):
        verify_detached(signature, target, policy=international)


# ------------------------------------------------------------------ xmlsec1
def test_installed_xmlsec1_has_no_gost(tmp_path, gost256_signer):
    """Debian's xmlsec1 (1.2.x, OpenSSL back end) is built without GOST, so it cannot be an
    oracle here: it lists no GOST transform and refuses our GOST signature as an unknown
    algorithm (not as a wrong signature). Should a future build list GOST, this test fails and
    must become the two-way interop test that the RSA/ECDSA ones are."""
    tool = shutil.which("xmlsec1")
    if tool is None:
        pytest.fail("xmlsec1 is required (apt-get install xmlsec1; make system-test-deps)")
    listed = subprocess.run([tool, "--list-transforms"], capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0 and "rsa-sha256" in listed.stdout
    assert "gost" not in listed.stdout.lower(), "xmlsec1 now knows GOST: test interop both ways"
    root, _, _ = signed(gost256_signer, Profile.W3C)
    (tmp_path / "signed.xml").write_bytes(etree.tostring(root))
    (tmp_path / "cert.pem").write_bytes(gost256_signer.certificate.public_bytes(Encoding.PEM))
    done = subprocess.run([tool, "--verify", "--id-attr:Id", "SenderProvidedRequestData",
                           "--trusted-pem", str(tmp_path / "cert.pem"),
                           str(tmp_path / "signed.xml")],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, LC_ALL="C"))
    assert done.returncode != 0
    assert "gostr3411" in done.stderr or "gostr3410" in done.stderr, done.stderr
