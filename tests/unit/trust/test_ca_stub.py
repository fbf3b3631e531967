"""The CA stub over real HTTP: CRLs, CA certificates, OCSP, health, late PKI creation."""
from __future__ import annotations

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from registry_stubs.ca import serve
from registry_stubs.pki import Pki


def test_serves_crls_and_ca_certificates(pki, ca):
    crl = requests.get(f"{ca.url}/crl/intermediate.crl", timeout=5)
    assert crl.status_code == 200 and crl.headers["Content-Type"] == "application/pkix-crl"
    assert x509.load_der_x509_crl(crl.content).issuer == pki.certificate("intermediate").subject
    cer = requests.get(f"{ca.url}/certs/root.cer", timeout=5)
    assert cer.headers["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(cer.content) == pki.certificate("root")


def test_unknown_paths_and_leaf_certificates_are_404(pki, ca, unique):
    name = unique()
    pki.issue(name, common_name=name, key_type="ec-p256")
    for path in ("/crl/nobody.crl", "/crl/..%2Findex.json.crl", f"/certs/{name}.cer", "/index.json",
                 "/keys/intermediate.key", "/crl/" + name + ".crl"):
        assert requests.get(ca.url + path, timeout=5).status_code == 404, path


def test_ocsp_over_http_and_revocation_by_another_process(pki, ca, unique):
    name = unique()
    issued = pki.issue(name, common_name=name, key_type="ec-p256")
    request = ocsp.OCSPRequestBuilder().add_certificate(
        issued.certificate, pki.certificate("intermediate"), hashes.SHA1()).build()
    body = request.public_bytes(serialization.Encoding.DER)

    def status():
        r = requests.post(f"{ca.url}/ocsp", data=body, timeout=5,
                          headers={"Content-Type": "application/ocsp-request"})
        assert r.headers["Content-Type"] == "application/ocsp-response"
        return ocsp.load_der_ocsp_response(r.content).certificate_status

    assert status() is ocsp.OCSPCertStatus.GOOD
    Pki.load(pki.directory).revoke(name)  # a separate Pki object, as the CLI would be
    assert status() is ocsp.OCSPCertStatus.REVOKED
    crl = x509.load_der_x509_crl(requests.get(f"{ca.url}/crl/intermediate.crl", timeout=5).content)
    assert crl.get_revoked_certificate_by_serial_number(issued.certificate.serial_number) is not None


def test_oversized_or_empty_ocsp_request_is_refused(ca, pki):
    assert requests.post(f"{ca.url}/ocsp", data=b"", timeout=5).status_code == 413
    assert requests.post(f"{ca.url}/ocsp", data=b"x" * 70_000, timeout=5).status_code == 413


def test_offline_switch(ca, pki):
    ca.app.offline = True
    assert requests.get(f"{ca.url}/crl/root.crl", timeout=5).status_code == 503
    health = requests.get(f"{ca.url}/health", timeout=5).json()
    assert health == {"status": "unavailable", "pki": True, "offline": True}


def test_server_may_start_before_the_pki_exists(tmp_path):
    server = serve(tmp_path / "late", "127.0.0.1", 0)
    try:
        assert requests.get(f"{server.url}/crl/root.crl", timeout=5).status_code == 503
        assert requests.get(f"{server.url}/health", timeout=5).json()["pki"] is False
        late = Pki.init(tmp_path / "late", base_url=server.url)
        got = requests.get(f"{server.url}/crl/root.crl", timeout=5)
        assert got.status_code == 200
        assert x509.load_der_x509_crl(got.content).is_signature_valid(late.certificate("root").public_key())
        assert requests.get(f"{server.url}/health", timeout=5).json()["status"] == "ok"
    finally:
        server.stop()
