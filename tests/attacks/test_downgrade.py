"""Signature algorithm downgrade and key confusion, made with the real demo key (or a certificate
from the demo PKI) so that the ONLY thing wrong is the attack: weak digests and signature methods,
HMAC with an attacker-chosen key, a 1024-bit RSA key, XPath/XSLT transforms, c14n with comments,
missing or swapped certificates, broken SignatureValues, certificates the trust policy refuses.
All algorithm and key checks happen before any cryptography (docs/signature-profile.md)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from attacks.kit import DS, ds, parts, refused, refused_even_when_registered, resign, signed_tree
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration
from envelopes.build import send_request
from gateway.ops.setup import open_pki
from signing import algorithms as alg
from signing.c14n import EXC_C14N_WITH_COMMENTS, C14N_10_WITH_COMMENTS, exc_c14n
from signing.smev_transform import smev_transform
from signing.xmldsig import sign_detached

SIG = "SignatureVerificationFault"
LOOSE = alg.AlgorithmPolicy(digests=alg.DEFAULT_POLICY.digests | {alg.DIGEST_SHA1},
                            signatures=alg.DEFAULT_POLICY.signatures | {alg.SIG_RSA_SHA1},
                            min_rsa_bits=1024)
HMAC_SHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
ROMASHKA_NS = build_organisation_registration(ROMASHKA).nsmap[None]


def _signed_with(key, cert, chain=(), **kwargs) -> bytes:
    """A SendRequest signed by ``sign_detached`` with the loosened policy and ``kwargs``."""
    root = etree.fromstring(send_request(build_organisation_registration(ROMASHKA), key, cert, sign=False))
    p = parts(root)
    sign_detached(p.data, p.holder, key, cert, extra_certificates=chain, policy=LOOSE, **kwargs)
    return etree.tostring(root)


# ---------------------------------------------------------------- weak algorithms

@pytest.mark.parametrize("method,digest", [
    (alg.SIG_RSA_SHA256, alg.DIGEST_SHA1),
    (alg.SIG_RSA_SHA1, alg.DIGEST_SHA256),
    (alg.SIG_RSA_SHA1, alg.DIGEST_SHA1),
], ids=["sha1-digest", "rsa-sha1", "rsa-sha1+sha1-digest"])
def test_sha1_is_refused(gateway_url, engine, demo_client, method, digest):
    key, cert, chain = demo_client
    body = _signed_with(key, cert, chain, signature_method=method, digest_method=digest)
    refused(gateway_url, engine, body, SIG, "CRYPTO_CONSTRAINTS_FAILURE")


def _hmac_forgery(demo_client, method: str, output_length: int | None, truncate: int | None):
    """The classic downgrade: SignatureMethod HMAC with a key the attacker chose and ships in
    KeyInfo (KeyName), over a SignedInfo whose DigestValue matches the forged content."""
    root = signed_tree(demo_client)
    p = parts(root)
    p.data.find(f".//{{{ROMASHKA_NS}}}FullName").text = "Evil Corp"
    signed_info = ds(p.signature, "ds:SignedInfo")
    method_el = ds(signed_info, "ds:SignatureMethod")
    method_el.set("Algorithm", method)
    if output_length is not None:
        etree.SubElement(method_el, f"{{{DS}}}HMACOutputLength").text = str(output_length)
    ds(signed_info, "ds:Reference/ds:DigestValue").text = base64.b64encode(
        hashlib.sha256(smev_transform(p.data)).digest()).decode()
    hash_name = "sha1" if method == HMAC_SHA1 else "sha256"
    value = hmac.new(b"attacker-secret", exc_c14n(signed_info), hash_name).digest()
    ds(p.signature, "ds:SignatureValue").text = base64.b64encode(value[:truncate]).decode() or "AA=="
    key_info = ds(p.signature, "ds:KeyInfo")
    key_info.insert(0, etree.Element(f"{{{DS}}}KeyName"))
    key_info[0].text = "attacker-secret"
    return etree.tostring(root)


@pytest.mark.parametrize("method,output_length,truncate", [
    (HMAC_SHA1, None, None), (HMAC_SHA256, None, None),
    (HMAC_SHA1, 0, 0),          # CVE-2009-0217: HMACOutputLength 0, empty MAC
    (HMAC_SHA1, 80, 10),
], ids=["hmac-sha1", "hmac-sha256", "hmac-output-length-0", "hmac-truncated"])
def test_hmac_signature_method_is_refused(gateway_url, engine, demo_client, method, output_length,
                                          truncate):
    body = _hmac_forgery(demo_client, method, output_length, truncate)
    fault = refused(gateway_url, engine, body, SIG, "CRYPTO_CONSTRAINTS_FAILURE")
    assert "hmac" in fault.description


def test_signature_method_parameters_are_refused_even_on_an_allowed_method(gateway_url, engine,
                                                                           demo_client):
    key, _, _ = demo_client
    root = signed_tree(demo_client)
    signature = parts(root).signature
    method = ds(signature, "ds:SignedInfo/ds:SignatureMethod")
    etree.SubElement(method, f"{{{DS}}}HMACOutputLength").text = "0"
    resign(signature, key)
    refused(gateway_url, engine, etree.tostring(root), SIG, "FORMAT_FAILURE")


def test_rsa_1024_key_is_refused(gateway_url, engine, demo_settings):
    """A genuine, trusted certificate with the sender's identity, but a 1024-bit RSA key."""
    pki = open_pki(demo_settings)
    weak = pki.issue(f"weak-{uuid.uuid4().hex[:8]}", common_name="Weak key", inn_le=ROMASHKA.inn,
                     ogrn=ROMASHKA.ogrn, key_type="rsa1024")
    body = _signed_with(weak.private_key, weak.certificate, tuple(pki.intermediates()))
    fault = refused_even_when_registered(gateway_url, engine, body, weak.certificate, SIG,
                                         "CRYPTO_CONSTRAINTS_FAILURE")
    assert "1024" in fault.description


def test_signature_method_of_another_key_family_is_refused(gateway_url, engine, demo_client):
    """ecdsa-sha256 named over an RSA certificate (algorithm confusion): refused before crypto."""
    root = signed_tree(demo_client)
    signature = parts(root).signature
    ds(signature, "ds:SignedInfo/ds:SignatureMethod").set("Algorithm", alg.SIG_ECDSA_SHA256)
    refused(gateway_url, engine, etree.tostring(root), SIG, "CRYPTO_CONSTRAINTS_FAILURE")


# ---------------------------------------------------------------- transforms and c14n

def _with_transform(demo_client, algorithm: str, content: etree._Element | None = None,
                    position: int = 0) -> bytes:
    key, _, _ = demo_client
    root = signed_tree(demo_client)
    signature = parts(root).signature
    transforms = ds(signature, "ds:SignedInfo/ds:Reference/ds:Transforms")
    transform = etree.Element(f"{{{DS}}}Transform", Algorithm=algorithm)
    if content is not None:
        transform.append(content)
    transforms.insert(position, transform)
    resign(signature, key)
    return etree.tostring(root)


def _xpath(expression: str) -> etree._Element:
    element = etree.Element(f"{{{DS}}}XPath")
    element.text = expression
    return element


def _xslt(canary_url: str) -> etree._Element:
    xsl = "http://www.w3.org/1999/XSL/Transform"
    sheet = etree.Element(f"{{{xsl}}}stylesheet", version="1.0", nsmap={"xsl": xsl})
    template = etree.SubElement(sheet, f"{{{xsl}}}template", match="/")
    etree.SubElement(template, f"{{{xsl}}}copy-of", select=f"document('{canary_url}')")
    etree.SubElement(template, f"{{{xsl}}}copy-of", select="document('file:///etc/passwd')")
    return sheet


@pytest.mark.parametrize("case", ["xpath", "xpath-filter2", "xslt", "c14n-with-comments",
                                  "exc-c14n-with-comments", "unknown"])
def test_dangerous_or_unknown_transforms_are_refused(gateway_url, engine, demo_client, canary, case):
    body = {
        "xpath": lambda: _with_transform(demo_client, alg.TRANSFORM_XPATH, _xpath("not(self::*)")),
        "xpath-filter2": lambda: _with_transform(
            demo_client, alg.TRANSFORM_XPATH_FILTER2,
            etree.Element("{http://www.w3.org/2002/06/xmldsig-filter2}XPath", Filter="subtract")),
        "xslt": lambda: _with_transform(demo_client, alg.TRANSFORM_XSLT, _xslt(canary.url)),
        "c14n-with-comments": lambda: _with_transform(demo_client, C14N_10_WITH_COMMENTS),
        "exc-c14n-with-comments": lambda: _with_transform(demo_client, EXC_C14N_WITH_COMMENTS),
        "unknown": lambda: _with_transform(demo_client, "urn:attacker:identity"),
    }[case]()
    refused(gateway_url, engine, body, SIG, "CRYPTO_CONSTRAINTS_FAILURE")
    assert canary.hits == 0


@pytest.mark.parametrize("where,uri", [
    ("ds:SignedInfo/ds:CanonicalizationMethod", EXC_C14N_WITH_COMMENTS),
    ("ds:SignedInfo/ds:CanonicalizationMethod", "urn:attacker:none"),
    ("ds:SignedInfo/ds:Reference/ds:DigestMethod", "http://www.w3.org/2001/04/xmldsig-more#md5"),
    ("ds:SignedInfo/ds:Reference/ds:DigestMethod", "urn:attacker:none"),
    ("ds:SignedInfo/ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"),
    ("ds:SignedInfo/ds:SignatureMethod", "urn:attacker:none"),
], ids=["c14n-with-comments", "c14n-unknown", "md5-digest", "digest-unknown", "rsa-md5",
        "signature-unknown"])
def test_unlisted_algorithms_are_refused(gateway_url, engine, demo_client, where, uri):
    root = signed_tree(demo_client)
    ds(parts(root).signature, where).set("Algorithm", uri)
    refused(gateway_url, engine, etree.tostring(root), SIG, "CRYPTO_CONSTRAINTS_FAILURE")


# ---------------------------------------------------------------- KeyInfo and SignatureValue

def _edited(demo_client, edit) -> bytes:
    root = signed_tree(demo_client)
    edit(parts(root).signature)
    return etree.tostring(root)


def _remove_key_info(signature):
    signature.remove(ds(signature, "ds:KeyInfo"))


def _key_value_only(signature):
    """The attacker's own public key as a bare KeyValue, no certificate."""
    key_info = ds(signature, "ds:KeyInfo")
    key_info.remove(ds(key_info, "ds:X509Data"))
    numbers = rsa.generate_private_key(65537, 2048).public_key().public_numbers()
    value = etree.SubElement(etree.SubElement(key_info, f"{{{DS}}}KeyValue"), f"{{{DS}}}RSAKeyValue")
    etree.SubElement(value, f"{{{DS}}}Modulus").text = base64.b64encode(
        numbers.n.to_bytes(256, "big")).decode()
    etree.SubElement(value, f"{{{DS}}}Exponent").text = "AQAB"


def _issuer_serial_only(signature):
    data = ds(signature, "ds:KeyInfo/ds:X509Data")
    for cert in list(data):
        data.remove(cert)
    serial = etree.SubElement(data, f"{{{DS}}}X509IssuerSerial")
    etree.SubElement(serial, f"{{{DS}}}X509IssuerName").text = "CN=Demo"
    etree.SubElement(serial, f"{{{DS}}}X509SerialNumber").text = "1"


def _chain_first(signature):
    """Intermediate first, signer second: the first certificate is the signer's."""
    data = ds(signature, "ds:KeyInfo/ds:X509Data")
    first = data[0]
    data.remove(first)
    data.append(first)


def _set_value(text):
    def edit(signature):
        ds(signature, "ds:SignatureValue").text = text
    return edit


def _truncate(signature):
    value = ds(signature, "ds:SignatureValue")
    raw = base64.b64decode(value.text)
    value.text = base64.b64encode(raw[: len(raw) // 2]).decode()


def _child_in_value(signature):
    value = ds(signature, "ds:SignatureValue")
    etree.SubElement(value, f"{{{DS}}}X").text = "AA=="


def _garbage_certificate(signature):
    """A certificate that does not parse, beside the (registered) signer's."""
    garbage = etree.SubElement(ds(signature, "ds:KeyInfo/ds:X509Data"), f"{{{DS}}}X509Certificate")
    garbage.text = base64.b64encode(b"\x30\x03\x02\x01\x01").decode()


KEYINFO_CASES = [
    (_remove_key_info, "NO_SIGNING_CERTIFICATE_FOUND"),
    (_key_value_only, "NO_SIGNING_CERTIFICATE_FOUND"),
    (_issuer_serial_only, "NO_SIGNING_CERTIFICATE_FOUND"),
    (_chain_first, "CRYPTO_CONSTRAINTS_FAILURE"),  # the demo intermediate has an EC key
    (_garbage_certificate, "FORMAT_FAILURE"),
    (_set_value(""), "FORMAT_FAILURE"),
    (_set_value("!!! not base64 @@@"), "FORMAT_FAILURE"),
    (_set_value("QUJ"), "FORMAT_FAILURE"),  # incomplete base64 quantum
    (_set_value(base64.b64encode(os.urandom(256)).decode()), "SIG_CRYPTO_FAILURE"),
    (_set_value(base64.b64encode(b"\x00" * 256).decode()), "SIG_CRYPTO_FAILURE"),
    (_truncate, "SIG_CRYPTO_FAILURE"),
    (_child_in_value, "FORMAT_FAILURE"),
]


@pytest.mark.parametrize("edit,code", KEYINFO_CASES,
                         ids=["no-keyinfo", "keyvalue-only", "issuer-serial-only", "chain-first",
                              "garbage-certificate", "empty-value", "garbage-base64", "bad-padding",
                              "random-value", "zero-value", "truncated-value", "element-in-value"])
def test_keyinfo_and_signature_value_tampering_is_refused(gateway_url, engine, demo_client, edit,
                                                          code):
    refused(gateway_url, engine, _edited(demo_client, edit), SIG, code)


def test_another_registered_systems_certificate_in_keyinfo_is_refused(gateway_url, engine,
                                                                       demo_client, demo_settings):
    """Impersonation: signed with ROMASHKA's key, VASILEK's (trusted, registered) certificate in
    KeyInfo. The SignatureValue does not verify with the certificate's key."""
    from gateway.ops.demo import load_client

    _, other_cert, _ = load_client(demo_settings, "VASILEK")
    der = base64.b64encode(other_cert.public_bytes(Encoding.DER)).decode()
    body = _edited(demo_client, lambda s: setattr(
        ds(s, "ds:KeyInfo/ds:X509Data/ds:X509Certificate"), "text", der))
    refused(gateway_url, engine, body, SIG, "SIG_CRYPTO_FAILURE")


# ---------------------------------------------------------------- certificates the trust policy refuses

def _issue(demo_settings, **kwargs):
    pki = open_pki(demo_settings)
    issued = pki.issue(f"atk-{uuid.uuid4().hex[:8]}", common_name="Иванов Иван Иванович",
                       organization=ROMASHKA.short_name, inn_le=ROMASHKA.inn, ogrn=ROMASHKA.ogrn,
                       **kwargs)
    return pki, issued


def test_self_signed_certificate_with_the_victims_identity_is_refused(gateway_url, engine,
                                                                     demo_settings):
    pki, issued = _issue(demo_settings, issuer="self")
    body = _signed_with(issued.private_key, issued.certificate)
    refused_even_when_registered(gateway_url, engine, body, issued.certificate, SIG,
                                 "NO_CERTIFICATE_CHAIN_FOUND")


def test_certificate_from_a_rogue_ca_with_the_same_names_is_refused(gateway_url, engine, tmp_path):
    """A rogue PKI whose root and intermediate carry the demo CA's names: chains by name, fails
    by signature."""
    from registry_stubs.pki import Pki

    rogue = Pki.init(tmp_path / "rogue", base_url="http://127.0.0.1:9")
    issued = rogue.issue("victim", common_name="Иванов Иван Иванович", inn_le=ROMASHKA.inn,
                         ogrn=ROMASHKA.ogrn)
    body = _signed_with(issued.private_key, issued.certificate, tuple(rogue.intermediates()))
    refused_even_when_registered(gateway_url, engine, body, issued.certificate, SIG,
                                 "NO_CERTIFICATE_CHAIN_FOUND")


def test_expired_certificate_is_refused(gateway_url, engine, demo_settings):
    now = datetime.now(timezone.utc)
    pki, issued = _issue(demo_settings, not_before=now - timedelta(days=30),
                         not_after=now - timedelta(days=1))
    fault = refused_even_when_registered(
        gateway_url, engine, _signed_with(issued.private_key, issued.certificate,
                                          tuple(pki.intermediates())), issued.certificate, SIG)
    assert fault.code in ("EXPIRED", "OUT_OF_BOUNDS_NO_POE"), fault


def test_revoked_certificate_is_refused(gateway_url, engine, demo_settings):
    pki, issued = _issue(demo_settings)
    pki.revoke(issued.name)
    refused_even_when_registered(gateway_url, engine, _signed_with(
        issued.private_key, issued.certificate, tuple(pki.intermediates())), issued.certificate,
        SIG, "REVOKED")


def test_certificate_without_digital_signature_key_usage_is_refused(gateway_url, engine,
                                                                    demo_settings):
    pki, issued = _issue(demo_settings, key_usage=("key_encipherment",))
    refused_even_when_registered(gateway_url, engine, _signed_with(
        issued.private_key, issued.certificate, tuple(pki.intermediates())), issued.certificate,
        SIG, "CHAIN_CONSTRAINTS_FAILURE")


def test_sha1_signed_certificate_is_refused(gateway_url, engine, demo_settings):
    pki, issued = _issue(demo_settings, hash="sha1")
    refused_even_when_registered(gateway_url, engine, _signed_with(
        issued.private_key, issued.certificate, tuple(pki.intermediates())), issued.certificate,
        SIG, "CRYPTO_CONSTRAINTS_FAILURE")


def test_the_issuing_ca_key_cannot_sign_requests(gateway_url, engine, demo_settings):
    """The demo intermediate CA's own key and certificate (trusted, but a CA without
    digitalSignature key usage) used as a request signer."""
    pki = open_pki(demo_settings)
    body = _signed_with(pki.private_key("intermediate"), pki.certificate("intermediate"))
    fault = refused_even_when_registered(gateway_url, engine, body, pki.certificate("intermediate"),
                                         SIG, "CHAIN_CONSTRAINTS_FAILURE")
    assert "CA certificate" in fault.description


def _undecodable_subject_certificate(key_type: str = "rsa"):
    """A certificate whose subject does not decode (invalid UTF-8 in a UTF8String)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ZZZZQQQQ")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7).not_valid_before(now)
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    der = cert.public_bytes(Encoding.DER).replace(b"ZZZZQQQQ", b"\xff\xfe\xfd\xfc" * 2)
    return base64.b64encode(der).decode()


@pytest.mark.parametrize("where", ["first", "last"])
def test_a_certificate_whose_subject_does_not_decode_is_a_client_fault(gateway_url, engine,
                                                                      demo_client, where):
    """Outside test: building an error message from such a subject gave INTERNAL_ERROR. Beside
    the registered signer's certificate (so it gets past the cheap check), first (taken as the
    signer) or last (a would-be intermediate)."""
    def edit(signature):
        data = ds(signature, "ds:KeyInfo/ds:X509Data")
        bad = etree.Element(f"{{{DS}}}X509Certificate")
        bad.text = _undecodable_subject_certificate()
        data.insert(0 if where == "first" else len(data), bad)
    fault = refused(gateway_url, engine, _edited(demo_client, edit), SIG)
    assert fault.code != "INTERNAL_ERROR"
