"""GOST R 34.10/34.11-2012 end to end over HTTP: a demo environment whose PKI is entirely GOST
(GATEWAY_DEMO_ALGORITHM=gost2012-256: root, issuing CA, the gateway's and the organisations'
certificates, CRLs and OCSP answers), a gateway under the ``smev`` algorithm profile with
hard-fail revocation, and the SDK verifying its GOST receipts; plus the profiles' refusals."""
from __future__ import annotations

import dataclasses
import re
import uuid
from pathlib import Path

import pytest
from lxml import etree

from conftest import demo_environment, new_database, serve_wsgi
from envelopes import build, ns
from envelopes.client import GatewayClient
from envelopes.trust import GatewayTrust
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from gateway.ops.demo import load_client, run_demo
from gateway.ops.setup import open_pki
from gateway.pipeline.participants import add_system
from gateway.storage.db import make_engine
from gateway.wiring import build_app
from registry_stubs.pki import PkiError
from signing import algorithms
from support import fault

GOST_256 = algorithms.SIG_GOST_2012_256


@pytest.fixture(scope="module")
def gost_settings(tmp_path_factory):
    with new_database(tmp_path_factory) as url, \
            demo_environment(tmp_path_factory, url, demo_algorithm="gost2012-256",
                             algorithms="smev") as settings:
        yield settings


@pytest.fixture(scope="module")
def gost_url(gost_settings):
    engine = make_engine(gost_settings.resolved_database_url)
    server, base = serve_wsgi(build_app(gost_settings, engine=engine))
    yield f"{base}/ws"
    server.shutdown()
    engine.dispose()


def _register(settings, mnemonic: str, certificate) -> None:
    engine = make_engine(settings.resolved_database_url)
    add_system(engine, mnemonic, "", [certificate])
    engine.dispose()


def test_the_demo_pki_is_gost_throughout(gost_settings):
    pki = open_pki(gost_settings)
    assert pki.ca_key_type == "gost2012-256"
    for cert in (*pki.trust_anchors(), *pki.intermediates(), load_client(gost_settings, "ROMASHKA")[1]):
        assert cert.signature_algorithm_oid.dotted_string == "1.2.643.7.1.1.3.2"
    key, cert, _chain = load_client(gost_settings, "ROMASHKA")
    assert key.key_type == "gost2012_256"
    attributes = {a.oid.dotted_string: a.value for a in cert.subject}
    assert attributes["1.2.643.100.4"] == ROMASHKA.inn and attributes["1.2.643.100.1"] == ROMASHKA.ogrn


def test_gost_send_request_and_get_response_end_to_end(gost_url, gost_settings):
    """The whole `make demo` story (SendRequest, GetResponse, Ack, providers' GetRequest and
    SendResponse) signed in GOST, every certificate checked with CRL/OCSP (hard-fail)."""
    lines: list[str] = []
    run_demo(gost_settings, gost_url, "ROMASHKA", echo=lines.append)
    text = "\n".join(lines)
    assert GOST_256 in text  # the receipts' signature method, as printed
    assert "Status           requestIsQueued" in text
    assert "organisation 7702123454: verified" in text
    assert "organisation 7702123454: active" in text
    assert "the consumer reads ReportProcessed: report" in text
    assert "it is in the licence register: True" in text


def test_receipt_is_gost_signed_and_verified_by_the_sdk_under_smev(gost_url, gost_settings):
    key, cert, chain = load_client(gost_settings, "ROMASHKA")
    trust = GatewayTrust.from_files(gost_settings.trust_dir / "anchors",
                                    gateway_certificate=gost_settings.signing_cert_path,
                                    policy=algorithms.PROFILES["smev"])  # GOST receipts only
    client = GatewayClient(gost_url, trust)
    envelope = build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                  extra_certificates=chain)
    request = etree.fromstring(envelope)
    sent = request.find(f".//{{{ns.DS}}}SignatureMethod").get("Algorithm")
    assert sent == GOST_256
    assert request.find(f".//{{{ns.DS}}}DigestMethod").get("Algorithm") == \
        algorithms.DIGEST_GOST_2012_256
    meta, verified = client.send_request(envelope)
    assert meta.status == "requestIsQueued"
    assert verified.signature_method == GOST_256
    assert verified.digest_method == algorithms.DIGEST_GOST_2012_256


def test_rsa_signed_request_is_refused_under_smev(gost_url, gost_settings):
    pki = open_pki(gost_settings)
    issued = pki.issue(f"rsa-{uuid.uuid4().hex[:8]}", common_name="RSA signer",
                       inn_le=ROMASHKA.inn, ogrn=ROMASHKA.ogrn, key_type="rsa2048")
    _register(gost_settings, "ROMASHKA", issued.certificate)
    f = fault(gost_url, build.send_request(build_organisation_registration(ROMASHKA),
                                           issued.private_key, issued.certificate,
                                           extra_certificates=pki.intermediates()))
    assert f.element == "SignatureVerificationFault"
    assert f.code == "CRYPTO_CONSTRAINTS_FAILURE"
    assert "rsa-sha256" in f.description and "profile 'smev'" in f.description


def test_revoked_gost_signer_is_refused(gost_url, gost_settings):
    pki = open_pki(gost_settings)
    issued = pki.issue(f"g-{uuid.uuid4().hex[:8]}", common_name="GOST signer",
                       inn_le=ROMASHKA.inn, ogrn=ROMASHKA.ogrn, key_type="gost2012-256", crl=False)
    _register(gost_settings, "ROMASHKA", issued.certificate)
    envelope = build.send_request(build_organisation_registration(ROMASHKA), issued.private_key,
                                  issued.certificate, extra_certificates=pki.intermediates())
    pki.revoke(issued.name)
    f = fault(gost_url, envelope)   # OCSP only: the GOST-signed OCSP answer says revoked
    assert f.element == "SignatureVerificationFault" and f.code == "REVOKED"


def test_gost_signed_request_is_refused_under_international(demo_settings, engine):
    """The RSA/EC demo gateway, started with GATEWAY_ALGORITHMS=international."""
    settings = dataclasses.replace(demo_settings, algorithms="international")
    server, base = serve_wsgi(build_app(settings, engine=engine))
    try:
        pki = open_pki(settings)
        issued = pki.issue(f"g-{uuid.uuid4().hex[:8]}", common_name="GOST signer",
                           inn_le=ROMASHKA.inn, ogrn=ROMASHKA.ogrn, key_type="gost2012-256")
        _register(settings, "ROMASHKA", issued.certificate)
        f = fault(f"{base}/ws", build.send_request(
            build_organisation_registration(ROMASHKA), issued.private_key, issued.certificate,
            extra_certificates=pki.intermediates()))
        assert f.element == "SignatureVerificationFault"
        assert f.code == "CRYPTO_CONSTRAINTS_FAILURE"
        assert GOST_256 in f.description and "profile 'international'" in f.description
    finally:
        server.shutdown()


def test_gateway_with_a_key_outside_its_profile_does_not_start(demo_settings, engine):
    """The demo gateway's key is ECDSA: under smev it would sign what it refuses."""
    settings = dataclasses.replace(demo_settings, algorithms="smev")
    with pytest.raises(Exception, match="profile 'smev'"):
        build_app(settings, engine=engine)


def test_a_pki_of_another_kind_is_refused(demo_settings):
    with pytest.raises(PkiError, match="ec-p384 CAs, not gost2012-256"):
        open_pki(demo_settings, "gost2012-256")


def test_the_readme_gost_snippet_runs(gost_url, gost_settings):
    """README's GOST snippet, exactly as written, as its own process."""
    [code] = [b for b in _readme_blocks() if 'PROFILES["smev"]' in b and "GatewayClient" in b]
    assert "Settings.from_env()" in code and "settings.endpoint" in code
    assert done_ok(_run_snippet(code, gost_url, gost_settings)).split() == ["requestIsQueued", GOST_256]


def test_a_gost_receipt_gets_a_gost_token_and_is_proven(gost_url, gost_settings, tmp_path):
    """The demo TSA of a GOST PKI signs its tokens in GOST; the proof validates GOST paths."""
    from datetime import datetime, timezone

    import requests
    from click.testing import CliRunner

    from gateway.ops.cli import main
    from gateway.ops.setup import demo_tsa
    from gateway.ops.timestamps import stamp_round
    from registry_stubs.tsa import serve as serve_tsa

    key, cert, chain = load_client(gost_settings, "ROMASHKA")
    envelope = build.send_request(build_organisation_registration(ROMASHKA), key, cert,
                                  extra_certificates=chain)
    reply = requests.post(gost_url, data=envelope, timeout=30,
                          headers={"Content-Type": "text/xml; charset=utf-8",
                                   "SOAPAction": "urn:SendRequest"})
    assert reply.status_code == 200, reply.text
    tsa = serve_tsa(demo_tsa(gost_settings))
    engine = make_engine(gost_settings.resolved_database_url)
    try:
        assert stamp_round(engine, tsa.url, datetime.now(timezone.utc)) >= 1
    finally:
        tsa.stop()
        engine.dispose()
    path = tmp_path / "receipt.xml"
    path.write_bytes(reply.content)
    result = CliRunner().invoke(main, ["receipts", "verify", str(path)], env={
        "GATEWAY_DATA_DIR": str(gost_settings.data_dir), "GATEWAY_ALGORITHMS": "smev",
        "GATEWAY_DATABASE_URL": gost_settings.resolved_database_url})
    assert result.exit_code == 0, result.output
    assert GOST_256 in result.output and "PROVEN" in result.output


def test_zeep_with_a_gost_key_against_the_gost_gateway(gost_url, gost_settings):
    """zeep loads the served WSDL; the SDK's zeep plugin signs SenderProvidedRequestData with
    ROMASHKA's GOST key, and the gateway's GOST-signed receipt must satisfy a trust that
    accepts GOST only (the ``smev`` policy) with revocation hard-fail."""
    from zeep import Client, Plugin

    from envelopes.client import read_receipt
    from envelopes.zeep_plugin import GatewayPlugin

    class Wire(Plugin):
        def egress(self, envelope, http_headers, operation, binding_options):
            self.sent = etree.fromstring(etree.tostring(envelope))
            return envelope, http_headers

        def ingress(self, envelope, http_headers, operation):
            self.received = envelope
            return envelope, http_headers

    key, cert, chain = load_client(gost_settings, "ROMASHKA")
    trust = GatewayTrust.from_files(gost_settings.trust_dir / "anchors",
                                    gateway_certificate=gost_settings.signing_cert_path,
                                    policy=algorithms.PROFILES["smev"])
    wire = Wire()
    # the GatewayPlugin signs in egress; Wire comes after it and sees the signed envelope
    client = Client(gost_url + "?wsdl", plugins=[GatewayPlugin(key, cert, chain, trust=trust), wire])
    service = client.create_service("{urn://x-artefacts-smev-gov-ru/services/message-exchange/1.1}"
                                    "SMEVMessageExchangeSoap11Binding", gost_url)
    message_id = str(uuid.uuid1())
    result = service.SendRequest(
        SenderProvidedRequestData={"Id": "SIGNED_BY_CONSUMER", "MessageID": message_id,
                                   "MessagePrimaryContent": {
                                       "_value_1": build_organisation_registration(ROMASHKA)}},
        CallerInformationSystemSignature={"_value_1": etree.Element(f"{{{ns.DS}}}Signature")})
    assert result.MessageMetadata.MessageId == message_id
    assert result.MessageMetadata.Status == "requestIsQueued"
    assert wire.sent.find(f".//{{{ns.DS}}}SignatureMethod").get("Algorithm") == GOST_256
    meta, verified = read_receipt(wire.received, trust)     # what the plugin already required
    assert meta.message_id == message_id
    assert verified.signature_method == GOST_256
    assert verified.digest_method == algorithms.DIGEST_GOST_2012_256


def test_zeep_plugin_refuses_a_receipt_its_trust_does_not_allow(gost_url, gost_settings):
    """The same call with a trust that allows RSA/ECDSA only: the GOST receipt is refused."""
    from zeep import Client

    from envelopes.trust import UntrustedReceipt
    from envelopes.zeep_plugin import GatewayPlugin

    key, cert, chain = load_client(gost_settings, "ROMASHKA")
    trust = GatewayTrust.from_files(gost_settings.trust_dir / "anchors",
                                    gateway_certificate=gost_settings.signing_cert_path,
                                    policy=algorithms.PROFILES["international"])
    client = Client(gost_url + "?wsdl", plugins=[GatewayPlugin(key, cert, chain, trust=trust)])
    service = client.create_service("{urn://x-artefacts-smev-gov-ru/services/message-exchange/1.1}"
                                    "SMEVMessageExchangeSoap11Binding", gost_url)
    with pytest.raises(UntrustedReceipt):
        service.SendRequest(
            SenderProvidedRequestData={"Id": "SIGNED_BY_CONSUMER", "MessageID": str(uuid.uuid1()),
                                       "MessagePrimaryContent": {
                                           "_value_1": build_organisation_registration(ROMASHKA)}},
            CallerInformationSystemSignature={"_value_1": etree.Element(f"{{{ns.DS}}}Signature")})


def _readme_blocks() -> list[str]:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    return re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)


def _run_snippet(code: str, gost_url: str, gost_settings):
    """Run a README snippet as written, as its own process: only the environment
    (GATEWAY_DATA_DIR, GATEWAY_PORT, ...) points it at this GOST gateway."""
    import os
    import subprocess
    import sys
    from urllib.parse import urlsplit

    address = urlsplit(gost_url)
    env = dict(os.environ, GATEWAY_DATA_DIR=str(gost_settings.data_dir),
               GATEWAY_DATABASE_URL=gost_settings.resolved_database_url,
               GATEWAY_HOST=address.hostname, GATEWAY_PORT=str(address.port))
    env.pop("GATEWAY_PUBLIC_URL", None)
    return subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                          env=env, capture_output=True, text=True, timeout=180)


def done_ok(done) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_gost_zeep_snippet_runs_against_the_gost_gateway(gost_url, gost_settings):
    """README's zeep snippet with a GOST key, exactly as written, as its own process."""
    [code] = [b for b in _readme_blocks() if "GatewayPlugin" in b and "zeep" in b]
    message_id, status = done_ok(_run_snippet(code, gost_url, gost_settings)).split()
    assert re.fullmatch(r"[0-9a-f-]{36}", message_id) and status == "requestIsQueued"
