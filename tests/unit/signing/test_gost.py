"""GOST R 34.11-2012 / 34.10-2012 primitives through OpenSSL's GOST engine (signing.gost), held
against three independent references: the standards' own examples, the ``openssl`` command
with the same engine (its own code paths for PEM/DER keys, dgst, CMS), and gostcrypto (pure
Python, other byte orders). Byte order is settled here, not assumed:

- digest: DigestValue == the bytes OpenSSL outputs == the standard's vector read backwards;
- signature: ``s || r``, each big-endian (the standard's example verifies only that way);
- public key: X and Y little-endian inside the certificate's OCTET STRING.

The engine is required: without it these tests error; nothing skips.
"""
from __future__ import annotations

import base64
import os
import secrets

import pytest
from asn1crypto import cms, core
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

import gost_oracle as oracle
from gost_cli import openssl, openssl_ok, pem
from signing import gost, gost_openssl
from signing.c14n import exc_c14n
from signing.errors import CryptoConstraintsError, HashError, SignatureCryptoError
from signing.identity import identity_of
from signing.smev_transform import smev_transform
from signing.xmldsig import verify_detached

DS = "http://www.w3.org/2000/09/xmldsig#"
SMEV_TYPES_13 = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.3"
DATA = os.path.join(os.path.dirname(__file__), "data")
REAL_MESSAGE = os.path.join(DATA, "smev3_gost2012_get_response.xml")

MD = {256: gost_openssl.DIGEST_256, 512: gost_openssl.DIGEST_512}
CLI_MD = {256: "-md_gost12_256", 512: "-md_gost12_512"}


@pytest.fixture(scope="module", autouse=True)
def engine():
    """Load the engine first: its absence is an error of every test here, with the reason."""
    return gost_openssl.load()


def test_backend_reports_the_openssl_engine():
    info = gost.backend()
    assert info.available and info.name == "openssl-engine"
    assert "OpenSSL 3." in info.detail and "gost" in info.detail.lower()
    assert str(info).startswith("GOST R 34.10/34.11-2012: openssl-engine: ")


# ------------------------------------------------------------------ GOST R 34.11-2012 (Streebog)
# The standard writes messages and hash values as numbers, most significant byte first; as byte
# strings (what is hashed, what OpenSSL outputs, what DigestValue holds) they read backwards.
M1 = bytes.fromhex("323130393837363534333231303938373635343332313039383736353433323130393837"
                   "363534333231303938373635343332313039383736353433323130")[::-1]
M2 = bytes.fromhex("fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0"
                   "eeec20f120faf2fee5e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1")[::-1]
STANDARD_HASHES = {
    ("M1", 512): "486f64c1917879417fef082b3381a4e211c324f074654c38823a7b76f830ad00"
                 "fa1fbae42b1285c0352f227524bc9ab16254288dd6863dccd5b9f54a1ad0541b",
    ("M1", 256): "00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d",
    ("M2", 512): "28fbc9bada033b1460642bdcddb90c3fb3e56c497ccd0f62b8a2ad4935e85f03"
                 "7613966de4ee00531ae60f3b5a47f8dae06915d5f2f194996fcabf2622e6881e",
    ("M2", 256): "508f7e553c06501d749a66fc28c6cac0b005746d97537fa85d9e40904efed29d",
}


def test_the_example_messages_are_what_the_standard_says():
    assert M1 == b"012345678901234567890123456789012345678901234567890123456789012"
    assert M2.decode("cp1251") == ("Се ветри, Стрибожи внуци, веютъ с моря стрелами на "
                                   "храбрыя плъкы Игоревы")


def _cli_digest(bits: int, data: bytes) -> bytes:
    out = openssl("dgst", CLI_MD[bits], "-binary", input=data)
    assert len(out) == bits // 8
    return out


@pytest.mark.parametrize("name, bits", sorted(STANDARD_HASHES))
def test_streebog_examples_of_the_standard(name, bits):
    message = {"M1": M1, "M2": M2}[name]
    expected = bytes.fromhex(STANDARD_HASHES[(name, bits)])[::-1]
    assert gost.digest(MD[bits], message) == expected
    assert oracle.streebog(message, bits) == expected
    assert _cli_digest(bits, message) == expected


@pytest.mark.parametrize("bits", [256, 512])
@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 4096, 10_001])
def test_streebog_agrees_with_the_cli_and_gostcrypto(bits, size):
    data = secrets.token_bytes(size)
    mine = gost.digest(MD[bits], data)
    assert mine == _cli_digest(bits, data) == oracle.streebog(data, bits)


# ------------------------------------------------------------------ GOST R 34.10-2012 example
# Appendix A.1 (256 bits, the test curve TEST_CURVE; the very same numbers as in GOST R
# 34.10-2001): private key d, random k, e = h mod q, the signature (r, s), the public point Q.
A1_D = 0x7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28
A1_E = 0x2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5
A1_K = 0x77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3
A1_R = 0x41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493
A1_S = 0x01456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40
A1_QX = 0x7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B
A1_QY = 0x26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA


def test_34_10_example_with_gostcrypto():
    """gostcrypto reproduces the appendix exactly (its own big-endian conventions)."""
    curve = oracle.signer(oracle.TEST_CURVE)
    public = bytes(curve.public_key_generate(bytearray(A1_D.to_bytes(32, "big"))))
    assert public == A1_QX.to_bytes(32, "big") + A1_QY.to_bytes(32, "big")
    value = bytes(curve.sign(bytearray(A1_D.to_bytes(32, "big")),
                             bytearray(A1_E.to_bytes(32, "big")),
                             bytearray(A1_K.to_bytes(32, "big"))))
    assert value == A1_R.to_bytes(32, "big") + A1_S.to_bytes(32, "big")
    assert curve.verify(bytearray(public), bytearray(A1_E.to_bytes(32, "big")),
                        bytearray(value))


class _Params(core.Sequence):
    _fields = [("public_key_param_set", core.ObjectIdentifier),
               ("digest_param_set", core.ObjectIdentifier, {"optional": True})]


class _Algorithm(core.Sequence):
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", _Params)]


class _PrivateKeyInfo(core.Sequence):
    _fields = [("version", core.Integer), ("algorithm", _Algorithm),
               ("private_key", core.OctetString)]


def _pkcs8(d: int, paramset: str, key_oid=gost.KEY_2012_256,
           digest_oid=gost.DIGEST_2012_256) -> bytes:
    """A GOST PKCS#8 key as RFC 9215 / the engine write it: d little-endian in an OCTET STRING."""
    size = 64 if key_oid == gost.KEY_2012_512 else 32
    return _PrivateKeyInfo({
        "version": 0,
        "algorithm": {"algorithm": key_oid,
                      "parameters": {"public_key_param_set": paramset,
                                     "digest_param_set": digest_oid}},
        "private_key": core.OctetString(d.to_bytes(size, "little")).dump(),
    }).dump()


def _private_scalar(key: gost_openssl.PrivateKey) -> int:
    return oracle.private_scalar(key.pkcs8_der())


def test_34_10_example_in_the_engine():
    """The engine, on the standard's test curve, derives Q from d and accepts (r, s) over e --
    which fixes every byte order at once: PKCS#8 d and SPKI X, Y little-endian, the digest read
    little-endian, the signature s||r big-endian."""
    key = gost_openssl.PrivateKey.from_der(_pkcs8(A1_D, gost.TEST_PARAMSET))
    info = gost.public_key_info(key.public_key_der())
    assert info.paramset_oid == gost.TEST_PARAMSET
    assert (info.x, info.y) == (A1_QX, A1_QY)
    bit_string = gost._SubjectPublicKeyInfo.load(info.der)["public_key"].native
    point = core.OctetString.load(bit_string).native
    assert point == A1_QX.to_bytes(32, "little") + A1_QY.to_bytes(32, "little")
    public = gost_openssl.PublicKey.from_der(key.public_key_der())
    digest = A1_E.to_bytes(32, "little")     # the hash vector whose number is e
    s_r = A1_S.to_bytes(32, "big") + A1_R.to_bytes(32, "big")
    public.verify_digest(s_r, digest)
    with pytest.raises(InvalidSignature):     # not r||s
        public.verify_digest(A1_R.to_bytes(32, "big") + A1_S.to_bytes(32, "big"), digest)
    with pytest.raises(InvalidSignature):     # not the digest read big-endian
        public.verify_digest(s_r, A1_E.to_bytes(32, "big"))
    with pytest.raises(InvalidSignature):     # not little-endian halves
        public.verify_digest(A1_S.to_bytes(32, "little") + A1_R.to_bytes(32, "little"), digest)
    # and what the engine signs on that curve, gostcrypto accepts after the same conversions
    mine = key.sign_digest(digest)
    curve = oracle.signer(oracle.TEST_CURVE)
    assert curve.verify(bytearray(A1_QX.to_bytes(32, "big") + A1_QY.to_bytes(32, "big")),
                        bytearray(digest[::-1]), bytearray(mine[32:] + mine[:32]))


# ------------------------------------------------------------------ every parameter set
PARAMSETS = [(oid, bits, engine_name) for oid, (_, bits, engine_name) in gost.PARAMSETS.items()
             if oid != gost.TEST_PARAMSET]


@pytest.mark.parametrize("oid, bits, engine_name", PARAMSETS,
                         ids=[gost.PARAMSETS[oid][0] for oid, _, _ in PARAMSETS])
def test_engine_and_gostcrypto_agree_on_every_parameter_set(oid, bits, engine_name):
    key_type = gost_openssl.KEY_2012_512 if bits == 512 else gost_openssl.KEY_2012_256
    key = gost_openssl.PrivateKey.generate(key_type, engine_name)
    info = gost.public_key_info(key.public_key_der())
    assert info.paramset_oid == oid and info.size == bits
    d = _private_scalar(key)
    assert oracle.public_point(oid, bits, d) == (info.x, info.y)

    data = secrets.token_bytes(300)
    digest = gost.digest(MD[bits], data)
    value = key.sign(data, MD[bits])
    assert len(value) == bits // 4
    assert oracle.verify(oid, bits, info.x, info.y, value, digest)
    gost.verify(info.der, value, data, MD[bits])

    theirs = oracle.sign(oid, bits, d, digest)
    gost.verify(info.der, theirs, data, MD[bits])
    broken = bytes([theirs[0] ^ 1]) + theirs[1:]
    assert not oracle.verify(oid, bits, info.x, info.y, broken, digest)
    with pytest.raises(InvalidSignature):
        gost.verify(info.der, broken, data, MD[bits])
    with pytest.raises(InvalidSignature):
        gost.verify(info.der, value, data + b"!", MD[bits])


def test_pkcs8_round_trip_keeps_the_key():
    key = gost_openssl.PrivateKey.generate(gost_openssl.KEY_2012_512, "C")
    again = gost_openssl.PrivateKey.from_pem(key.pkcs8_pem())
    assert again.public_key_der() == key.public_key_der()
    assert gost_openssl.PrivateKey.from_der(key.pkcs8_der()).public_key_der() == \
        key.public_key_der()
    rebuilt = gost_openssl.PrivateKey.from_der(
        _pkcs8(_private_scalar(key), "1.2.643.7.1.2.1.2.3", gost.KEY_2012_512,
               gost.DIGEST_2012_512))
    assert rebuilt.public_key_der() == key.public_key_der()


def test_wrong_lengths_and_garbage_keys_are_invalid_signatures(gost256_signer):
    spki = gost.certificate_key(gost256_signer.certificate).der
    value = gost256_signer.key.sign(b"data", MD[256])
    with pytest.raises(InvalidSignature):
        gost.verify(spki, value + b"\0", b"data", MD[256])
    with pytest.raises(InvalidSignature):
        gost.verify(spki, value[:-1], b"data", MD[256])
    with pytest.raises(InvalidSignature):
        gost.verify(spki, bytes(64), b"data", MD[256])        # r = s = 0
    with pytest.raises(InvalidSignature):
        gost.verify(b"\x30\x03\x02\x01\x00", value, b"data", MD[256])
    with pytest.raises(ValueError):
        gost.public_key_info(b"\x30\x03\x02\x01\x00")


def test_a_key_signs_only_with_its_own_digest(gost256_signer):
    """The binding signs the digest on a cached context; it keeps refusing the pairs the engine
    refuses in EVP_DigestSign (a 256-bit key with Streebog-512), not signing a wrong digest."""
    spki = gost.certificate_key(gost256_signer.certificate).der
    with pytest.raises(ValueError, match="md_gost12_256"):
        gost256_signer.key.sign(b"data", MD[512])
    value = gost256_signer.key.sign(b"data", MD[256])
    with pytest.raises(InvalidSignature):
        gost.verify(spki, value, b"data", MD[512])
    gost.verify(spki, value, b"data", MD[256])
    # the same value through EVP_DigestSign's own path (no cached context) verifies as well
    lib = gost_openssl.load()
    pub = gost_openssl.public_key(spki)
    assert lib.verify(pub._pkey, MD[256], lib.sign(gost256_signer.key._pkey, MD[256], b"x"), b"x")
    assert lib.verify(pub._pkey, MD[256], value, b"data")


# ------------------------------------------------------------------ the openssl command
@pytest.mark.parametrize("key_type, paramset, bits", [
    ("gost2012_256", "TCA", 256), ("gost2012_256", "XA", 256), ("gost2012_512", "B", 512)])
def test_signatures_cross_the_openssl_command_both_ways(tmp_path, key_type, paramset, bits):
    key = gost_openssl.PrivateKey.generate(key_type, paramset)
    spki = key.public_key_der()
    (tmp_path / "key.pem").write_bytes(key.pkcs8_pem())
    (tmp_path / "pub.pem").write_bytes(pem("PUBLIC KEY", spki))
    data = secrets.token_bytes(4096)
    (tmp_path / "data").write_bytes(data)
    # the command reads our PKCS#8 and derives the same public key
    assert openssl("pkey", "-in", tmp_path / "key.pem", "-pubout", "-outform", "DER") == spki
    # it signs, we verify
    (tmp_path / "cli.sig").write_bytes(
        openssl("dgst", CLI_MD[bits], "-sign", tmp_path / "key.pem", tmp_path / "data"))
    gost.verify(spki, (tmp_path / "cli.sig").read_bytes(), data, MD[bits])
    # we sign, it verifies; and refuses a changed byte
    value = key.sign(data, MD[bits])
    (tmp_path / "our.sig").write_bytes(value)
    assert openssl_ok("dgst", CLI_MD[bits], "-verify", tmp_path / "pub.pem", "-signature",
                      tmp_path / "our.sig", tmp_path / "data")
    (tmp_path / "bad.sig").write_bytes(bytes([value[0] ^ 0x80]) + value[1:])
    assert not openssl_ok("dgst", CLI_MD[bits], "-verify", tmp_path / "pub.pem", "-signature",
                          tmp_path / "bad.sig", tmp_path / "data")


def test_keys_made_by_the_openssl_command_load(tmp_path):
    (tmp_path / "k.pem").write_bytes(openssl("genpkey", "-algorithm", "gost2012_512",
                                             "-pkeyopt", "paramset:A"))
    key = gost_openssl.PrivateKey.from_pem((tmp_path / "k.pem").read_bytes())
    assert key.key_type == "gost2012_512"
    assert key.public_key_der() == openssl("pkey", "-in", tmp_path / "k.pem", "-pubout",
                                           "-outform", "DER")


@pytest.mark.parametrize("signer_name, bits", [("gost256_signer", 256),
                                               ("gost512_signer", 512)])
def test_cms_signatures_cross_the_openssl_command_both_ways(request, tmp_path, signer_name,
                                                            bits):
    """CMS SignedData without signed attributes: the signature is over the content itself."""
    signer = request.getfixturevalue(signer_name)
    (tmp_path / "cert.pem").write_bytes(signer.certificate.public_bytes(Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(signer.key.pkcs8_pem())
    content = "Квитанция СМЭВ № 1".encode() * 50
    (tmp_path / "content").write_bytes(content)
    der = openssl("cms", "-sign", "-binary", "-noattr", "-nodetach", "-in", tmp_path / "content",
                  "-signer", tmp_path / "cert.pem", "-inkey", tmp_path / "key.pem",
                  "-outform", "DER")
    info = cms.ContentInfo.load(der)
    signer_info = info["content"]["signer_infos"][0]
    assert signer_info["signature_algorithm"]["algorithm"].dotted == \
        (gost.KEY_2012_512 if bits == 512 else gost.KEY_2012_256)
    value = signer_info["signature"].native
    spki = gost.certificate_key(signer.certificate).der
    gost.verify(spki, value, content, MD[bits])          # their CMS signature, our verifier

    ours = signer.key.sign(content, MD[bits])              # our signature in their CMS
    signer_info["signature"] = ours
    (tmp_path / "ours.der").write_bytes(info.dump())
    assert openssl_ok("cms", "-verify", "-inform", "DER", "-in", tmp_path / "ours.der",
                      "-noverify", "-out", os.devnull)
    signer_info["signature"] = bytes([ours[5] ^ 1]).join([ours[:5], ours[6:]])
    (tmp_path / "bad.der").write_bytes(info.dump())
    assert not openssl_ok("cms", "-verify", "-inform", "DER", "-in", tmp_path / "bad.der",
                          "-noverify", "-out", os.devnull)


# ------------------------------------------------------------------ a real SMEV 3 message
def _real():
    root = etree.parse(REAL_MESSAGE).getroot()
    target = root.find(f".//{{{SMEV_TYPES_13}}}Response")
    signature = root.find(f".//{{{DS}}}Signature")
    return root, target, signature


def test_real_smev_message_digest_value():
    """SMEV's own DigestValue is Streebog-256 of the SMEV transform, bytes as OpenSSL outputs
    them (and as the command and gostcrypto output them)."""
    _, target, signature = _real()
    stated = base64.b64decode(signature.findtext(f".//{{{DS}}}DigestValue"))
    data = smev_transform(target)
    assert gost.digest(MD[256], data) == stated
    assert _cli_digest(256, data) == stated
    assert oracle.streebog(data) == stated
    assert gost.digest(MD[256], data)[::-1] != stated


def test_real_smev_message_signature_value(tmp_path):
    """SMEV's SignatureValue (s||r) verifies over exc-c14n(SignedInfo) with the certificate it
    carries: in the engine, in the openssl command and in gostcrypto (after conversion)."""
    _, _, signature = _real()
    value = base64.b64decode(signature.findtext(f"{{{DS}}}SignatureValue"))
    signed_info = exc_c14n(signature.find(f"{{{DS}}}SignedInfo"))
    der = base64.b64decode(signature.findtext(f".//{{{DS}}}X509Certificate"))
    info = gost.certificate_key(x509.load_der_x509_certificate(der))
    gost.verify(info.der, value, signed_info, MD[256])
    assert oracle.verify(info.paramset_oid, 256, info.x, info.y, value,
                         gost.digest(MD[256], signed_info))
    (tmp_path / "pub.pem").write_bytes(pem("PUBLIC KEY", info.der))
    (tmp_path / "sig").write_bytes(value)
    (tmp_path / "si").write_bytes(signed_info)
    assert openssl_ok("dgst", "-md_gost12_256", "-verify", tmp_path / "pub.pem", "-signature",
                      tmp_path / "sig", tmp_path / "si")
    with pytest.raises(InvalidSignature):
        gost.verify(info.der, value[32:] + value[:32], signed_info, MD[256])


def test_real_smev_message_verifies_through_the_engine():
    _, target, signature = _real()
    verified = verify_detached(signature, target)
    assert verified.element is target
    assert verified.signature_method.endswith("gostr34102012-gostr34112012-256")
    assert identity_of(verified.certificate).ogrn == "1035009567450"


def _indent(element: etree._Element) -> None:
    etree.indent(element, space="    ")


def test_real_smev_message_survives_reindenting_the_signed_element():
    """The stored copy is byte-exact (it verifies). Indenting the signed element and renaming
    its prefixes changes nothing the SMEV transform keeps: the signature still verifies."""
    root, target, _ = _real()
    _indent(target)
    text = etree.tostring(root).replace(b"ns2:", b"x:").replace(b"xmlns:ns2=", b"xmlns:x=")
    again = etree.fromstring(text)
    assert b"\n    " in text and b"ns2:" not in text
    verify_detached(again.find(f".//{{{DS}}}Signature"),
                    again.find(f".//{{{SMEV_TYPES_13}}}Response"))


def test_a_reindented_signed_info_no_longer_verifies():
    """SignedInfo is canonicalised with exc-c14n alone, which keeps whitespace: a copy of a
    message re-indented as a whole keeps a matching DigestValue but its SignatureValue fails.
    (The stored copy was not re-indented: the test above passes on it.)"""
    _, target, signature = _real()
    _indent(signature)
    stated = base64.b64decode(signature.findtext(f".//{{{DS}}}DigestValue"))
    assert gost.digest(MD[256], smev_transform(target)) == stated
    with pytest.raises(SignatureCryptoError):
        verify_detached(signature, target)


def test_real_smev_message_tampering():
    _, target, signature = _real()
    status = target.find(".//{urn://mincomsvyaz/esia/uprid/1.4.3}status")
    status.text = "INVALID"
    with pytest.raises(HashError):
        verify_detached(signature, target)
    _, target, signature = _real()
    value_el = signature.find(f"{{{DS}}}SignatureValue")
    value = bytearray(base64.b64decode(value_el.text))
    value[10] ^= 1
    value_el.text = base64.b64encode(bytes(value)).decode()
    with pytest.raises(SignatureCryptoError):
        verify_detached(signature, target)


def test_real_certificate_parses():
    """What the gateway reads from a real qualified GOST certificate: the subject's
    identifiers, key usage, policies (КС1/КС2) -- via cryptography -- and the key itself via
    the raw SubjectPublicKeyInfo (cryptography cannot load it)."""
    _, _, signature = _real()
    cert = x509.load_der_x509_certificate(
        base64.b64decode(signature.findtext(f".//{{{DS}}}X509Certificate")))
    who = identity_of(cert)
    assert (who.inn_le, who.ogrn, who.inn) == ("5047053920", "1035009567450", None)
    assert who.common_name == 'АО "РТ Лабс"'
    assert who.serial_number == "4828BD0089AD50A844880FBC0A0561BB"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == \
        ["1.2.643.100.113.1", "1.2.643.100.113.2"]
    assert cert.signature_algorithm_oid.dotted_string == gost.SIGNATURE_2012_256
    key = gost.certificate_key(cert)
    assert key.algorithm_oid == gost.KEY_2012_256 and key.size == 256
    assert key.paramset_name == "id-GostR3410-2001-CryptoPro-XchA-ParamSet"
    # `openssl x509 -text` prints X as B9A9BCA4...D6A9; the certificate holds it reversed
    assert key.x == 0xB9A9BCA4761C4B8707C40E13686CB9E217C9CB52E343A86F49D83B160E11D6A9
    assert key.y == 0x9688B6625919480689FD240DD60BFA0A511DEEF45CCB96F5592CFDB0C687CD9F
    text = openssl("x509", "-inform", "DER", "-noout", "-text",
                   input=cert.public_bytes(Encoding.DER)).decode()
    assert f"X:{key.x:064X}" in text and f"Y:{key.y:064X}" in text


# ------------------------------------------------------------------ without the engine
def test_without_the_engine_gost_is_refused_with_the_reason(monkeypatch, gost256_signer):
    monkeypatch.setattr(gost_openssl, "_library", None)
    monkeypatch.setattr(gost_openssl, "_failure", "the OpenSSL engine 'gost' cannot be loaded "
                                                  "(test)")
    info = gost.backend()
    assert not info.available and info.name == "unavailable"
    assert "cannot be loaded (test)" in str(info)
    _, target, signature = _real()
    with pytest.raises(CryptoConstraintsError, match="GOST R 34.10/34.11 is not available"):
        verify_detached(signature, target)
    with pytest.raises(CryptoConstraintsError, match="not available"):
        gost.digest(MD[256], b"x")


def test_a_process_without_the_engine_says_so(tmp_path):
    """The real failure path: libcrypto finds no engine (OPENSSL_ENGINES points nowhere)."""
    import subprocess
    import sys
    code = ("from signing import gost; b = gost.backend(); print(b.available); print(b)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, OPENSSL_ENGINES=str(tmp_path)),
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                              os.path.dirname(DATA)))),
                          timeout=60)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == "False"
    assert "GOST R 34.10/34.11-2012 unavailable: the OpenSSL engine 'gost' cannot be loaded" \
        in second and "libengine-gost-openssl" in second


def test_one_key_signs_and_verifies_from_many_threads_at_once(gost256_signer):
    """Gateway workers may be threaded (GATEWAY_THREADS): one cached EVP_PKEY per key serves
    every thread, and OpenSSL's per-thread error queues keep a failure in one thread from
    leaking into another's result."""
    import threading
    spki = gost.certificate_key(gost256_signer.certificate).der
    inputs = {seed: [f"{seed}-{i}".encode() * 40 for i in range(150)] for seed in range(6)}
    expected = {data: gost.digest(MD[256], data) for chunk in inputs.values() for data in chunk}
    problems: list[str] = []

    def work(seed: int) -> None:
        try:
            for data in inputs[seed]:
                value = gost256_signer.key.sign(data, MD[256])
                gost.verify(spki, value, data, MD[256])
                try:
                    gost.verify(spki, value, data + b"x", MD[256])
                    problems.append(f"thread {seed}: a wrong signature verified")
                except InvalidSignature:
                    pass
                if gost.digest(MD[256], data) != expected[data]:
                    problems.append(f"thread {seed}: digest differs")
        except Exception as exc:  # noqa: BLE001 - reported below
            problems.append(f"thread {seed}: {exc!r}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert oracle.streebog(inputs[0][0]) == expected[inputs[0][0]]
