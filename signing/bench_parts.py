"""Where the time of one signature verification goes (prints figures; no assertions).

    PYTHONPATH=. python -m signing.bench_parts

For a ~4 KB signed SMEV envelope: the whole ``verify_detached`` against the sum of its parts
(parse, SMEV transform / exc-c14n, digest, SignedInfo c14n, raw public-key verify, Id scan,
certificate load), and ``sign_detached``, for RSA-2048, P-256 and GOST R 34.10-2012 (256 and
512, through OpenSSL's GOST engine; a line says so when it is unavailable), both profiles;
signxml for comparison when present.
"""
from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import time

from asn1crypto import x509 as asn1_x509

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree

from signing import gost
from signing.c14n import exc_c14n
from signing.ns import DS
from signing.smev_transform import smev_transform
from signing.xmldsig import Profile, check_unique_ids, sign_detached, verify_detached

# The sample envelope's namespaces: those of envelopes/ns.py, spelled here because signing imports
# nothing of the project (tests/unit/signing/test_ns.py keeps them equal).
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SMEV_TYPES = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1"
SMEV_BASIC = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.1"

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                         huge_tree=False, remove_pis=True)


def _envelope(items: int = 24) -> etree._Element:
    rows = "".join(
        f'<r:Item code="{i:04d}" kind="licence"><r:Name>Organisation &#8470;{i} '
        f'&amp; partners</r:Name><r:Address>Moscow, Tverskaya st., {i}</r:Address>'
        f"<r:Amount>{i * 1000}.00</r:Amount></r:Item>\n" for i in range(items))
    text = (f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body>'
            f'<ns:SendRequestRequest xmlns:ns="{SMEV_TYPES}">'
            f'<ns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER">'
            f"<ns:MessageID>db0486d0-3c08-11ef-8a48-0242ac120002</ns:MessageID>"
            f'<b:MessagePrimaryContent xmlns:b="{SMEV_BASIC}">'
            f'<r:Report xmlns:r="urn://example/reporting/1.0">{rows}</r:Report>'
            f"</b:MessagePrimaryContent></ns:SenderProvidedRequestData>"
            f"<ns:CallerInformationSystemSignature/></ns:SendRequestRequest>"
            f"</soap:Body></soap:Envelope>")
    return etree.fromstring(text.encode("utf-8"), PARSER)


def _gost_certificate(key) -> x509.Certificate:
    """A self-signed GOST certificate built with asn1crypto and signed by the engine."""
    from asn1crypto import algos, keys
    from asn1crypto import x509 as asn1_x509
    bits = 512 if key.key_type == "gost2012_512" else 256
    oid = gost.SIGNATURE_2012_512 if bits == 512 else gost.SIGNATURE_2012_256
    algorithm = algos.SignedDigestAlgorithm({"algorithm": oid})
    name = asn1_x509.Name.build({"common_name": "bench"})
    now = datetime.datetime.now(datetime.timezone.utc)
    tbs = asn1_x509.TbsCertificate({
        "version": "v3", "serial_number": 1, "signature": algorithm, "issuer": name,
        "validity": {"not_before": asn1_x509.Time({"utc_time": now - datetime.timedelta(days=1)}),
                     "not_after": asn1_x509.Time({"utc_time": now + datetime.timedelta(days=1)})},
        "subject": name,
        "subject_public_key_info": keys.PublicKeyInfo.load(key.public_key_der())})
    digest = gost.gost_openssl.DIGEST_512 if bits == 512 else gost.gost_openssl.DIGEST_256
    cert = asn1_x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": algorithm,
                                  "signature_value": key.sign(tbs.dump(), digest)})
    return x509.load_der_x509_certificate(cert.dump())


def _certificate(key) -> x509.Certificate:
    if gost.key_type_of(key):
        return _gost_certificate(key)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))


def _per_call_us(fn, seconds: float = 0.4) -> float:
    fn()
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / n * 1e6


def _signed(key, certificate, profile: Profile) -> bytes:
    root = _envelope()
    target = root.find(f".//{{{SMEV_TYPES}}}SenderProvidedRequestData")
    holder = root.find(f".//{{{SMEV_TYPES}}}CallerInformationSystemSignature")
    sign_detached(target, holder, key, certificate, profile=profile)
    return etree.tostring(root)


def _sign_cost(key, certificate, profile: Profile) -> float:
    """sign_detached on a parsed envelope; a fresh envelope per call (its parse excluded)."""
    template = etree.fromstring(etree.tostring(_envelope()), PARSER)
    n, spent = 0, 0.0
    while spent < 0.4 or n < 5:
        root = copy.deepcopy(template)
        target = root.find(f".//{{{SMEV_TYPES}}}SenderProvidedRequestData")
        holder = root.find(f".//{{{SMEV_TYPES}}}CallerInformationSystemSignature")
        start = time.perf_counter()
        sign_detached(target, holder, key, certificate, profile=profile)
        spent += time.perf_counter() - start
        n += 1
    return spent / n * 1e6


def _measure(label: str, key, profile: Profile) -> None:
    certificate = _certificate(key)
    data = _signed(key, certificate, profile)
    root = etree.fromstring(data, PARSER)
    target = root.find(f".//{{{SMEV_TYPES}}}SenderProvidedRequestData")
    signature = root.find(f".//{{{DS}}}Signature")
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    value = base64.b64decode(signature.findtext(f"{{{DS}}}SignatureValue"))
    der = base64.b64decode(signature.findtext(f".//{{{DS}}}X509Certificate"))
    si = exc_c14n(signed_info)
    gost_md = {"gost2012_256": gost.gost_openssl.DIGEST_256,
               "gost2012_512": gost.gost_openssl.DIGEST_512}.get(gost.key_type_of(key))
    if gost_md:
        spki = gost.certificate_key(x509.load_der_x509_certificate(der)).der

        def raw_verify():
            gost.verify(spki, value, si, gost_md)

        def load_key():
            cert = x509.load_der_x509_certificate(der)
            gost.gost_openssl.PublicKey.from_der(gost.public_key_info(
                asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER)).public_key.dump()
            ).der)

        def digest():
            gost.digest(gost_md, transformed)
    else:
        public_key = x509.load_der_x509_certificate(der).public_key()

        def load_key():
            x509.load_der_x509_certificate(der).public_key()

        def digest():
            hashlib.sha256(transformed).digest()
        if isinstance(public_key, rsa.RSAPublicKey):
            def raw_verify():
                public_key.verify(value, si, padding.PKCS1v15(), hashes.SHA256())
        else:
            half = len(value) // 2
            sig = encode_dss_signature(int.from_bytes(value[:half], "big"),
                                       int.from_bytes(value[half:], "big"))

            def raw_verify():
                public_key.verify(sig, si, ec.ECDSA(hashes.SHA256()))
    transform = (lambda: smev_transform(target)) if profile is Profile.SMEV \
        else (lambda: exc_c14n(target))
    transformed = transform()
    parts = {
        "parse": lambda: etree.fromstring(data, PARSER),
        "reference transform": transform,
        f"digest ({'streebog' if gost_md else 'sha256'})": digest,
        "SignedInfo exc-c14n": lambda: exc_c14n(signed_info),
        "raw public-key verify": raw_verify,
        "Id uniqueness scan": lambda: check_unique_ids(root),
        "certificate load + key": load_key,
    }
    figures = {name: _per_call_us(fn) for name, fn in parts.items()}
    total = _per_call_us(lambda: verify_detached(signature, target))
    print(f"{label}, {profile.value} profile, envelope {len(data)} bytes, signed element "
          f"{len(transformed)} bytes after its transforms")
    for name, us in figures.items():
        print(f"  {name:26s} {us:9.1f} us")
    floor = sum(us for name, us in figures.items() if name != "parse")
    print(f"  {'sum of the verify parts':26s} {floor:9.1f} us")
    print(f"  {'verify_detached':26s} {total:9.1f} us  (overhead {total - floor:+.1f} us)")
    print(f"  {'parse + verify_detached':26s} {figures['parse'] + total:9.1f} us")
    print(f"  {'sign_detached':26s} {_sign_cost(key, certificate, profile):9.1f} us")
    if profile is Profile.W3C and not gost_md:   # signxml has no GOST
        try:
            from signxml import SignatureConfiguration, XMLVerifier
        except ImportError:
            return
        cert = x509.load_der_x509_certificate(der)
        config = SignatureConfiguration(expect_references=1)
        us = _per_call_us(lambda: XMLVerifier().verify(data, x509_cert=cert,
                                                       expect_config=config))
        print(f"  {'signxml verify (bytes in)':26s} {us:9.1f} us")


def main() -> None:
    print("signature verification cost (signing/bench_parts.py)")
    rsa_key = rsa.generate_private_key(65537, 2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = [("RSA-2048", rsa_key), ("ECDSA P-256", ec_key)]
    backend = gost.backend()
    print(backend)
    if backend.available:
        keys += [("GOST 2012-256 (TC26 A)", gost.PrivateKey.generate("gost2012_256", "TCA")),
                 ("GOST 2012-256 (CryptoPro A)", gost.PrivateKey.generate("gost2012_256", "A")),
                 ("GOST 2012-512 (TC26 A)", gost.PrivateKey.generate("gost2012_512", "A"))]
    for label, key in keys:
        for profile in (Profile.SMEV, Profile.W3C):
            _measure(label, key, profile)


if __name__ == "__main__":
    main()
