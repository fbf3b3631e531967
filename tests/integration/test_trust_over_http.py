"""Certificate-path and signature failures as a client meets them: over HTTP, one fault each,
naming the failed check and the certificate; and the gateway's receipts checked by independent
XMLDSig implementations (signxml, the xmlsec1 command) in the W3C profile."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from lxml import etree

from conftest import serve_wsgi
from envelopes import build, ns
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from gateway.ops.setup import open_pki
from support import T, fault, ok

NOW = datetime.now(timezone.utc)


def _issue(demo_settings, **kwargs):
    """A certificate of ROMASHKA's registered IS (the chain checks decide, not registration)."""
    from gateway.pipeline.participants import add_system
    from gateway.storage.db import make_engine

    pki = open_pki(demo_settings)
    issued = pki.issue(f"t-{uuid.uuid4().hex[:8]}", common_name="Signer", inn_le=ROMASHKA.inn,
                       ogrn=ROMASHKA.ogrn, **kwargs)
    engine = make_engine(demo_settings.resolved_database_url)
    add_system(engine, "ROMASHKA", "", [issued.certificate])
    engine.dispose()
    return pki, issued


def _send(url, issued, pki, **kwargs):
    return build.send_request(build_organisation_registration(ROMASHKA), issued.private_key, issued.certificate,
                              extra_certificates=tuple(pki.intermediates()), **kwargs)


def test_revoked_signer_is_refused_with_revoked(gateway_url, demo_settings):
    pki, issued = _issue(demo_settings)
    pki.revoke(issued.name)
    f = fault(gateway_url, _send(gateway_url, issued, pki))
    assert f.element == "SignatureVerificationFault"
    assert f.code == "REVOKED" and "Signer" in f.description


def test_revoked_by_ocsp_only(gateway_url, demo_settings):
    pki, issued = _issue(demo_settings, crl=False)
    pki.revoke(issued.name)
    f = fault(gateway_url, _send(gateway_url, issued, pki))
    assert f.element == "SignatureVerificationFault" and f.code == "REVOKED"


@pytest.mark.parametrize("window,code", [
    ((NOW - timedelta(days=30), NOW - timedelta(days=1)), {"EXPIRED", "OUT_OF_BOUNDS_NO_POE"}),
    ((NOW + timedelta(days=1), NOW + timedelta(days=30)), {"NOT_YET_VALID"}),
])
def test_certificate_outside_its_validity(gateway_url, demo_settings, window, code):
    pki, issued = _issue(demo_settings, not_before=window[0], not_after=window[1])
    f = fault(gateway_url, _send(gateway_url, issued, pki))
    assert f.element == "SignatureVerificationFault" and f.code in code


def test_wrong_key_usage(gateway_url, demo_settings):
    pki, issued = _issue(demo_settings, key_usage=("key_encipherment",))
    f = fault(gateway_url, _send(gateway_url, issued, pki))
    assert f.element == "SignatureVerificationFault"


def test_self_signed_leaf(gateway_url, demo_settings):
    pki, issued = _issue(demo_settings, issuer="self")
    f = fault(gateway_url, _send(gateway_url, issued, pki))
    assert f.element == "SignatureVerificationFault" and f.code == "NO_CERTIFICATE_CHAIN_FOUND"


def test_tampered_signed_info(gateway_url, demo_client):
    key, cert, chain = demo_client
    root = etree.fromstring(build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                               extra_certificates=chain))
    digest = root.find(f".//{{{ns.DS}}}DigestValue")
    digest.text = "A" + digest.text[1:] if digest.text[0] != "A" else "B" + digest.text[1:]
    f = fault(gateway_url, etree.tostring(root))
    assert f.element == "SignatureVerificationFault"
    assert f.code in ("SIG_CRYPTO_FAILURE", "HASH_FAILURE")


def test_revocation_responder_down_hard_and_soft_fail(demo_settings, engine):
    """A CA whose CRL/OCSP server is unreachable: hard-fail refuses, soft-fail accepts."""
    from gateway.pipeline.participants import add_system
    from gateway.wiring import build_app
    from registry_stubs.pki import Pki

    silent = Pki.init(demo_settings.data_dir / f"silent-{uuid.uuid4().hex[:6]}",
                      base_url="http://127.0.0.1:9")  # nothing listens on port 9
    issued = silent.issue("client", common_name="Client of a silent CA", key_type="ec-p256")
    anchors = demo_settings.data_dir / f"trust-{uuid.uuid4().hex[:6]}"
    shutil.copytree(demo_settings.trust_dir, anchors)
    from cryptography.hazmat.primitives.serialization import Encoding
    (anchors / "anchors" / "silent.pem").write_bytes(silent.trust_anchors()[0].public_bytes(Encoding.PEM))
    add_system(engine, f"SILENT{uuid.uuid4().hex[:4]}".upper(), "Silent CA client", [issued.certificate])

    def gateway(mode):
        app = build_app(demo_settings, engine=engine)
        app.pipeline.services.verifier.chain = _chain_with(anchors, mode)  # trusts the silent CA
        return serve_wsgi(app)

    body = build.send_request(build_organisation_registration(ROMASHKA), issued.private_key, issued.certificate,
                              extra_certificates=tuple(silent.intermediates()))
    server, base = gateway("hard-fail")
    try:
        f = fault(f"{base}/ws", body)
        assert f.element == "SignatureVerificationFault"
        assert "INDETERMINATE" in f.description
    finally:
        server.shutdown()
    server, base = gateway("soft-fail")
    try:  # the chain passes; the signer is then simply not allowed to send this type
        f = fault(f"{base}/ws", body)
        assert f.element == "AccessDenied"
    finally:
        server.shutdown()


def _chain_with(trust_dir, mode):
    from gateway.wiring import load_certificates
    from signing.chain import ChainValidator, RevocationMode

    return ChainValidator(load_certificates(trust_dir / "anchors"),
                          load_certificates(trust_dir / "intermediates"),
                          revocation=RevocationMode(mode), fetch_timeout=0.5)


@pytest.fixture(scope="module")
def w3c_gateway(demo_settings, engine):
    from gateway.wiring import build_app

    settings = dataclasses.replace(demo_settings, receipt_profile="w3c")
    server, base = serve_wsgi(build_app(settings, engine=engine))
    yield f"{base}/ws"
    server.shutdown()


def _receipt(url, demo_client) -> tuple[bytes, etree._Element]:
    key, cert, chain = demo_client
    root = ok(url, build.send_request(build_organisation_registration(ROMASHKA), key, cert, extra_certificates=chain))
    return etree.tostring(root), root


def test_w3c_receipt_verifies_with_signxml(w3c_gateway, demo_client, demo_settings):
    from signxml import XMLVerifier

    _, root = _receipt(w3c_gateway, demo_client)
    signature = root.find(f".//{{{T}}}SMEVSignature/{{{ns.DS}}}Signature")
    gateway_cert = open(demo_settings.signing_cert_path).read()
    result = XMLVerifier().verify(root, x509_cert=gateway_cert, id_attribute="Id",
                                  expect_references=1)
    assert etree.QName(result.signed_xml).localname == "MessageMetadata"
    assert signature is not None


def test_w3c_receipt_verifies_with_xmlsec1(w3c_gateway, demo_client, demo_settings, tmp_path):
    if shutil.which("xmlsec1") is None:
        if os.environ.get("CI"):
            pytest.fail("xmlsec1 is missing (make system-test-deps installs it)")
        pytest.skip("xmlsec1 is not installed")
    raw, _ = _receipt(w3c_gateway, demo_client)
    path = tmp_path / "receipt.xml"
    path.write_bytes(raw)
    result = subprocess.run(
        ["xmlsec1", "--verify", "--pubkey-cert-pem", str(demo_settings.signing_cert_path),
         "--id-attr:Id", f"{ns.SMEV_TYPES}:MessageMetadata", str(path)],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stderr
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(raw.replace(b"requestIsQueued", b"requestIsRejectedBySmev"))
    result = subprocess.run(
        ["xmlsec1", "--verify", "--pubkey-cert-pem", str(demo_settings.signing_cert_path),
         "--id-attr:Id", f"{ns.SMEV_TYPES}:MessageMetadata", str(tampered)],
        capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
