"""The SDK believes receipts only from the configured gateway (envelopes/trust.py).

Every forgery starts from a real receipt of the running test gateway, so the edit under test is
the only thing wrong: unsigned, changed, re-signed by a fresh self-signed key or by another
certificate the anchors do trust, and downgraded to SHA-1 by the gateway's own key.
"""
from __future__ import annotations

import copy
import dataclasses
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from zeep import Client

from envelopes import ns
from envelopes.build import send_request
from envelopes.client import GatewayClient, read_receipt
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from envelopes.trust import GatewayTrust, UntrustedReceipt
from envelopes.zeep_plugin import GatewayPlugin
from signing.algorithms import (DEFAULT_POLICY, DIGEST_SHA1, SIG_ECDSA_SHA1, SIG_RSA_SHA1,
                                AlgorithmPolicy)
from signing.xmldsig import sign_detached

T = ns.SMEV_TYPES
SOAP11 = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "urn:SendRequest"}


def _receipt(gateway_url, demo_client) -> etree._Element:
    key, cert, chain = demo_client
    body = send_request(build_organisation_registration(ROMASHKA), key, cert,
                        extra_certificates=chain, message_id=str(uuid.uuid1()))
    reply = requests.post(gateway_url, data=body, headers=SOAP11, timeout=30)
    assert reply.status_code == 200, reply.text
    return etree.fromstring(reply.content)


@pytest.fixture(scope="module")
def receipt(gateway_url, demo_client) -> etree._Element:
    return _receipt(gateway_url, demo_client)


@pytest.fixture(scope="module")
def gateway_key(demo_settings):
    return serialization.load_pem_private_key(demo_settings.signing_key_path.read_bytes(), None)


def _parts(root):
    meta = root.find(f".//{{{T}}}MessageMetadata")
    holder = root.find(f".//{{{T}}}SMEVSignature")
    return meta, holder


def _resigned(receipt, key, cert, chain=(), *, status="messageIsDelivered", **sign_kwargs):
    """The receipt with Status changed and SMEVSignature replaced by one made with ``key``."""
    forged = copy.deepcopy(receipt)
    meta, holder = _parts(forged)
    meta.find(f"{{{T}}}Status").text = status
    for old in list(holder):
        holder.remove(old)
    sign_detached(meta, holder, key, cert, extra_certificates=chain, **sign_kwargs)
    return forged


def _self_signed(subject: x509.Name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


@pytest.fixture(scope="module")
def subject_trust(demo_settings, gateway_trust):
    """Pinned by the gateway certificate's subject instead of the certificate itself."""
    return dataclasses.replace(gateway_trust, gateway_certificate=None,
                               gateway_subject=gateway_trust.gateway_certificate.subject)


def test_the_genuine_receipt_is_trusted_by_certificate_and_by_subject(receipt, gateway_trust,
                                                                       subject_trust):
    for trust in (gateway_trust, subject_trust):
        meta, verified = read_receipt(receipt, trust)
        assert meta.status == "requestIsQueued"
        assert verified.certificate == gateway_trust.gateway_certificate


def test_from_files_pins_a_subject_given_as_text(receipt, demo_settings, gateway_trust):
    trust = GatewayTrust.from_files(
        demo_settings.trust_dir / "anchors", intermediates=[demo_settings.trust_dir / "intermediates"],
        gateway_subject=gateway_trust.gateway_certificate.subject.rfc4514_string())
    assert read_receipt(receipt, trust)[0].status == "requestIsQueued"
    other = dataclasses.replace(trust, gateway_subject="CN=Someone else,O=Demo")
    with pytest.raises(UntrustedReceipt, match="not by the gateway"):
        read_receipt(receipt, other)


def test_unsigned_receipt_is_refused(receipt, gateway_trust):
    unsigned = copy.deepcopy(receipt)
    _, holder = _parts(unsigned)
    holder.getparent().remove(holder)
    with pytest.raises(UntrustedReceipt, match="no signed element"):
        read_receipt(unsigned, gateway_trust)


def test_changed_status_without_resigning_is_refused(receipt, gateway_trust):
    forged = copy.deepcopy(receipt)
    _parts(forged)[0].find(f"{{{T}}}Status").text = "messageIsDelivered"
    with pytest.raises(UntrustedReceipt, match="HASH_FAILURE"):
        read_receipt(forged, gateway_trust)


@pytest.mark.parametrize("same_subject", [False, True])
def test_resigned_with_a_fresh_self_signed_key_is_refused(receipt, gateway_trust, subject_trust,
                                                         same_subject):
    subject = (gateway_trust.gateway_certificate.subject if same_subject else
               x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Totally the gateway")]))
    key, cert = _self_signed(subject)
    forged = _resigned(receipt, key, cert)
    with pytest.raises(UntrustedReceipt, match="not by the pinned gateway certificate"):
        read_receipt(forged, gateway_trust)
    # pinned by subject: a stolen name is still refused, for the chain
    with pytest.raises(UntrustedReceipt,
                       match="does not chain" if same_subject else "not by the gateway"):
        read_receipt(forged, subject_trust)


def test_resigned_by_another_certificate_the_anchors_trust_is_refused(receipt, demo_client,
                                                                     gateway_trust, subject_trust):
    key, cert, chain = demo_client  # ROMASHKA's: issued by the same demo CA, valid, not revoked
    forged = _resigned(receipt, key, cert, chain)
    for trust, reason in ((gateway_trust, "pinned gateway certificate"),
                          (subject_trust, "not by the gateway")):
        with pytest.raises(UntrustedReceipt, match=reason):
            read_receipt(forged, trust)


def test_downgraded_to_sha1_by_the_gateway_own_key_is_refused(receipt, gateway_key,
                                                              gateway_trust):
    sha1 = SIG_ECDSA_SHA1 if isinstance(gateway_key, ec.EllipticCurvePrivateKey) else SIG_RSA_SHA1
    lax = AlgorithmPolicy(digests=DEFAULT_POLICY.digests | {DIGEST_SHA1},
                          signatures=DEFAULT_POLICY.signatures | {sha1})
    forged = _resigned(receipt, gateway_key, gateway_trust.gateway_certificate,
                       signature_method=sha1, digest_method=DIGEST_SHA1, policy=lax)
    assert read_receipt(forged, dataclasses.replace(gateway_trust, policy=lax))[0].status \
        == "messageIsDelivered"  # the forgery is sound but for its algorithms
    with pytest.raises(UntrustedReceipt, match="CRYPTO_CONSTRAINTS_FAILURE"):
        read_receipt(forged, gateway_trust)


def test_resigned_by_the_gateway_key_is_still_the_gateway(receipt, gateway_key, gateway_trust,
                                                         demo_settings):
    """The control: the same re-signing with the gateway's own key passes, so the refusals
    above are about the signer, not about re-signing."""
    chain = x509.load_pem_x509_certificates(demo_settings.signing_cert_path.read_bytes())[1:]
    forged = _resigned(receipt, gateway_key, gateway_trust.gateway_certificate, chain)
    assert read_receipt(forged, gateway_trust)[0].status == "messageIsDelivered"


def test_trust_needs_anchors_and_a_pin(gateway_trust):
    with pytest.raises(ValueError, match="certificate or its subject"):
        GatewayTrust(gateway_trust.anchors)
    with pytest.raises(ValueError, match="trust anchor"):
        GatewayTrust((), gateway_trust.gateway_certificate)
    with pytest.raises(TypeError):
        GatewayClient("http://127.0.0.1:9/ws")  # noqa: the trust is required
    with pytest.raises(dataclasses.FrozenInstanceError):
        gateway_trust.gateway_subject = "CN=Evil"


def test_client_and_zeep_plugin_refuse_a_gateway_they_were_not_configured_for(
        gateway_url, demo_client, gateway_trust):
    """A client pinned to another certificate (ROMASHKA's, which the anchors trust) refuses the
    test gateway's genuine receipts, through GatewayClient and through the zeep plugin."""
    key, cert, chain = demo_client
    other = dataclasses.replace(gateway_trust, gateway_certificate=cert)
    envelope = send_request(build_organisation_registration(ROMASHKA), key, cert,
                            extra_certificates=chain)
    with pytest.raises(UntrustedReceipt):
        GatewayClient(gateway_url, other).send_request(envelope)

    client = Client(gateway_url + "?wsdl", plugins=[GatewayPlugin(key, cert, chain, trust=other)])
    service = client.create_service(
        "{urn://x-artefacts-smev-gov-ru/services/message-exchange/1.1}"
        "SMEVMessageExchangeSoap11Binding", gateway_url)
    with pytest.raises(UntrustedReceipt):
        service.SendRequest(
            SenderProvidedRequestData={"Id": "SIGNED_BY_CONSUMER", "MessageID": str(uuid.uuid1()),
                                       "MessagePrimaryContent": {
                                           "_value_1": build_organisation_registration(ROMASHKA)}},
            CallerInformationSystemSignature={"_value_1": etree.Element(f"{{{ns.DS}}}Signature")})
