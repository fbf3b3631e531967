"""sign_detached / verify_detached: round trips, strictness, the error codes, and the
independent oracles: signxml and the xmlsec1 command verify what we sign (W3C profile) and we
verify what they sign. xmlsec1 tests FAIL (never skip) under CI when the tool is missing."""
from __future__ import annotations

import base64
import copy
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption,
                                                          PrivateFormat)
from lxml import etree

from envelopes.ns import DS, SMEV_BASIC, SMEV_TYPES, SOAP11_ENV
from signing import algorithms as alg
from signing.c14n import ENVELOPED_SIGNATURE, EXC_C14N, exc_c14n
from signing.errors import (CryptoConstraintsError, DuplicateIdError, FormatError, HashError,
                            NoSigningCertificateError, ReferenceFailureError,
                            SignatureCryptoError)
from signing.xmldsig import (Profile, VerifiedSignature, check_unique_ids, sign_detached,
                             verify_detached)

ENVELOPE = f"""<soap:Envelope xmlns:soap="{SOAP11_ENV}">
  <soap:Header/>
  <soap:Body>
    <ns:SendRequestRequest xmlns:ns="{SMEV_TYPES}">
      <ns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER">
        <ns:MessageID>db0486d0-3c08-11ef-8a48-0242ac120002</ns:MessageID>
        <b:MessagePrimaryContent xmlns:b="{SMEV_BASIC}">
          <r:Request xmlns:r="urn://example/registration/1.0" kind="new">
            <r:Name>OOO "Romashka" &amp; partners &lt;LLC&gt;</r:Name>
            <r:INN>7701234567</r:INN>
            <r:Note><![CDATA[a < b]]> and ]]&gt; plain</r:Note>
          </r:Request>
        </b:MessagePrimaryContent>
      </ns:SenderProvidedRequestData>
      <ns:CallerInformationSystemSignature/>
    </ns:SendRequestRequest>
  </soap:Body>
</soap:Envelope>"""

SIG = f"{{{DS}}}Signature"
RELAXED = alg.AlgorithmPolicy(
    digests=alg.DEFAULT_POLICY.digests | {alg.DIGEST_SHA1},
    signatures=alg.DEFAULT_POLICY.signatures | {alg.SIG_RSA_SHA1, alg.SIG_ECDSA_SHA1},
    min_rsa_bits=1024, curves=alg.DEFAULT_POLICY.curves | {"secp521r1"})


def parse(text: str | bytes) -> etree._Element:
    if isinstance(text, str):
        text = text.encode("utf-8")
    return etree.fromstring(text)


def parts(root: etree._Element):
    target = root.find(f".//{{{SMEV_TYPES}}}SenderProvidedRequestData")
    holder = root.find(f".//{{{SMEV_TYPES}}}CallerInformationSystemSignature")
    return target, holder


def signed(signer, profile=Profile.SMEV, **kwargs):
    root = parse(ENVELOPE)
    target, holder = parts(root)
    signature = sign_detached(target, holder, signer.key, signer.certificate, profile=profile,
                              **kwargs)
    return root, target, signature


def resign(signature: etree._Element, signer) -> None:
    """Recompute SignatureValue after a deliberate SignedInfo change, so only policy/structure
    checks can reject what follows (the crypto itself would pass)."""
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    method = signed_info.find(f"{{{DS}}}SignatureMethod").get("Algorithm")
    value = alg.REGISTRY.signature(method).sign(signer.key, exc_c14n(signed_info))
    signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()


def reparse(root):
    """Serialize and parse again: the way a message arrives."""
    again = parse(etree.tostring(root))
    target, holder = parts(again)
    return again, target, holder.find(SIG)


# ------------------------------------------------------------------ round trips

ALGORITHMS = [
    ("rsa_signer", alg.SIG_RSA_SHA256, alg.DIGEST_SHA256),
    ("rsa_signer", alg.SIG_RSA_SHA384, alg.DIGEST_SHA384),
    ("rsa_signer", alg.SIG_RSA_SHA512, alg.DIGEST_SHA512),
    ("rsa_signer", alg.SIG_RSA_PSS_SHA256, alg.DIGEST_SHA256),
    ("rsa_signer", alg.SIG_RSA_PSS_SHA384, alg.DIGEST_SHA384),
    ("rsa_signer", alg.SIG_RSA_PSS_SHA512, alg.DIGEST_SHA512),
    ("p256_signer", alg.SIG_ECDSA_SHA256, alg.DIGEST_SHA256),
    ("p256_signer", alg.SIG_ECDSA_SHA512, alg.DIGEST_SHA512),
    ("p384_signer", alg.SIG_ECDSA_SHA384, alg.DIGEST_SHA384),
]


@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize("signer_name, method, digest", ALGORITHMS)
def test_round_trip(request, profile, signer_name, method, digest):
    signer = request.getfixturevalue(signer_name)
    root, target, signature = signed(signer, profile, signature_method=method,
                                     digest_method=digest)
    verified = verify_detached(signature, target)
    assert isinstance(verified, VerifiedSignature)
    assert verified.element is target
    assert verified.certificate == signer.certificate
    assert (verified.signature_method, verified.digest_method) == (method, digest)
    # and after the message travelled as bytes
    _, target2, signature2 = reparse(root)
    assert verify_detached(signature2, target2).element is target2


@pytest.mark.parametrize("signer_name, method", [
    ("rsa_signer", alg.SIG_RSA_SHA256), ("p256_signer", alg.SIG_ECDSA_SHA256),
    ("p384_signer", alg.SIG_ECDSA_SHA384)])
def test_default_signature_method_follows_the_key(request, signer_name, method):
    signer = request.getfixturevalue(signer_name)
    _, target, signature = signed(signer)
    assert signature.find(f".//{{{DS}}}SignatureMethod").get("Algorithm") == method
    assert verify_detached(signature, target).signature_method == method


def test_signature_layout(rsa_signer, p256_signer):
    _, target, signature = signed(rsa_signer, extra_certificates=(p256_signer.certificate,))
    assert signature.getparent().tag == f"{{{SMEV_TYPES}}}CallerInformationSystemSignature"
    assert signature.prefix == "ds"
    transforms = [t.get("Algorithm") for t in signature.iter(f"{{{DS}}}Transform")]
    assert transforms == [EXC_C14N, "urn://smev-gov-ru/xmldsig/transform"]
    assert signature.find(f".//{{{DS}}}Reference").get("URI") == "#SIGNED_BY_CONSUMER"
    verified = verify_detached(signature, target)
    assert verified.extra_certificates == (p256_signer.certificate,)


def test_ecdsa_signature_value_is_raw_r_s(p256_signer, p384_signer):
    for signer, size in ((p256_signer, 64), (p384_signer, 96)):
        _, _, signature = signed(signer)
        value = base64.b64decode(signature.find(f"{{{DS}}}SignatureValue").text)
        assert len(value) == size


def test_enveloped_w3c_signature(rsa_signer):
    root = parse(ENVELOPE)
    target, _ = parts(root)
    signature = sign_detached(target, target, rsa_signer.key, rsa_signer.certificate,
                              profile=Profile.W3C)
    transforms = [t.get("Algorithm") for t in signature.iter(f"{{{DS}}}Transform")]
    assert transforms == [ENVELOPED_SIGNATURE, EXC_C14N]
    before = etree.tostring(root)
    assert verify_detached(signature, target).element is target
    assert etree.tostring(root) == before  # the caller's tree is never modified
    _, target2, _ = reparse(root)
    assert verify_detached(target2.find(SIG), target2).element is target2
    with pytest.raises(FormatError):
        sign_detached(target, target, rsa_signer.key, rsa_signer.certificate)


@pytest.mark.parametrize("profile", list(Profile))
def test_verifying_hands_on_the_plain_exc_c14n_it_made(rsa_signer, profile):
    """``canonical`` spares the caller a second c14n of the element (the gateway's replay
    digest): it must be exactly the element's plain exc-c14n, from the element as it is."""
    root, target, signature = signed(rsa_signer, profile)
    _, target, signature = reparse(root)
    assert verify_detached(signature, target).canonical == exc_c14n(target)


def test_no_canonical_bytes_where_the_chain_made_other_ones(rsa_signer, monkeypatch):
    root = parse(ENVELOPE)
    target, _ = parts(root)
    enveloped = sign_detached(target, target, rsa_signer.key, rsa_signer.certificate,
                              profile=Profile.W3C)  # c14n of the element minus its signature
    assert verify_detached(enveloped, target).canonical is None
    # an SMEV transform that does not start from libxml2's exc-c14n (the pure-Python one)
    from signing import smev_transform
    monkeypatch.setattr(smev_transform, "_selected", smev_transform.reference_transform)
    _, target, signature = signed(rsa_signer, Profile.SMEV)
    assert verify_detached(signature, target).canonical is None


# ------------------------------------------------------------------ re-serialisation

def _reserialised(root) -> bytes:
    """Same infoset, different bytes: other prefixes, declarations moved, indentation."""
    text = etree.tostring(root).decode()
    text = text.replace("xmlns:r=", "xmlns:zz=").replace("<r:", "<zz:").replace("</r:", "</zz:")
    text = text.replace(f' xmlns:b="{SMEV_BASIC}"', "")
    text = text.replace("<b:MessagePrimaryContent>", f'<MessagePrimaryContent xmlns="{SMEV_BASIC}">')
    text = text.replace("</b:MessagePrimaryContent>", "</MessagePrimaryContent>")
    text = text.replace("<ns:MessageID>", "\n\t\t<ns:MessageID>")
    text = text.replace(' kind="new"', "  kind='new' ")
    assert "zz:Request" in text and "<MessagePrimaryContent" in text
    return text.encode()


def test_smev_profile_survives_reserialisation(rsa_signer):
    root, _, _ = signed(rsa_signer)
    again = parse(_reserialised(root))
    target, holder = parts(again)
    assert verify_detached(holder.find(SIG), target).element is target


def test_w3c_profile_does_not_survive_reserialisation(rsa_signer):
    root, _, _ = signed(rsa_signer, Profile.W3C)
    again = parse(_reserialised(root))
    target, holder = parts(again)
    with pytest.raises(HashError):
        verify_detached(holder.find(SIG), target)


# ------------------------------------------------------------------ tampering

def test_tampered_content(rsa_signer):
    root, target, signature = signed(rsa_signer)
    target.find(f".//{{urn://example/registration/1.0}}INN").text = "7700000000"
    with pytest.raises(HashError) as caught:
        verify_detached(signature, target)
    assert caught.value.code == "HASH_FAILURE" and "#SIGNED_BY_CONSUMER" in caught.value.message


def test_tampered_digest_value(rsa_signer):
    # DigestValue is part of SignedInfo: the SignatureValue no longer covers it
    _, target, signature = signed(rsa_signer)
    digest = signature.find(f".//{{{DS}}}DigestValue")
    digest.text = base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(SignatureCryptoError) as caught:
        verify_detached(signature, target)
    assert caught.value.code == "SIG_CRYPTO_FAILURE"


def test_tampered_digest_value_resigned_by_another_key(rsa_signer, other_rsa_signer):
    _, target, signature = signed(rsa_signer)
    signature.find(f".//{{{DS}}}DigestValue").text = base64.b64encode(b"\0" * 32).decode()
    resign(signature, rsa_signer)  # a consistent signature over a wrong digest
    with pytest.raises(HashError):
        verify_detached(signature, target)


def test_tampered_signed_info(rsa_signer):
    _, target, signature = signed(rsa_signer)
    signature.find(f".//{{{DS}}}Reference").set("Type", "urn:tampered")
    with pytest.raises(SignatureCryptoError):
        verify_detached(signature, target)


def test_tampered_signature_value(p256_signer):
    _, target, signature = signed(p256_signer)
    value = bytearray(base64.b64decode(signature.find(f"{{{DS}}}SignatureValue").text))
    value[5] ^= 1
    signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()
    with pytest.raises(SignatureCryptoError):
        verify_detached(signature, target)


def test_ecdsa_der_signature_value_is_refused(p256_signer):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    _, target, signature = signed(p256_signer)
    der = p256_signer.key.sign(exc_c14n(signature.find(f"{{{DS}}}SignedInfo")),
                               ec.ECDSA(hashes.SHA256()))
    signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(der).decode()
    with pytest.raises(SignatureCryptoError):
        verify_detached(signature, target)


def test_wrong_key(rsa_signer, other_rsa_signer):
    _, target, signature = signed(rsa_signer)
    cert = signature.find(f".//{{{DS}}}X509Certificate")

    cert.text = base64.b64encode(other_rsa_signer.certificate.public_bytes(Encoding.DER)).decode()
    with pytest.raises(SignatureCryptoError) as caught:
        verify_detached(signature, target)
    assert "another rsa-2048 signer" in caught.value.message


def test_missing_certificate(rsa_signer):
    _, target, signature = signed(rsa_signer)
    signature.remove(signature.find(f"{{{DS}}}KeyInfo"))
    with pytest.raises(NoSigningCertificateError) as caught:
        verify_detached(signature, target)
    assert caught.value.code == "NO_SIGNING_CERTIFICATE_FOUND"


def test_garbage_certificate(rsa_signer):
    _, target, signature = signed(rsa_signer)
    signature.find(f".//{{{DS}}}X509Certificate").text = base64.b64encode(b"junk").decode()
    with pytest.raises(FormatError):
        verify_detached(signature, target)


def test_certificate_with_an_invalid_version_is_a_format_failure(rsa_signer):
    """Found by tests/fuzz: cryptography raises InvalidVersion, which is no ValueError, for a
    certificate whose version field is out of range; it was an internal failure."""
    _, target, signature = signed(rsa_signer)
    element = signature.find(f".//{{{DS}}}X509Certificate")
    der = base64.b64decode(element.text)
    version = b"\xa0\x03\x02\x01\x02"  # tbsCertificate's [0] EXPLICIT INTEGER 2 (v3)
    assert version in der
    element.text = base64.b64encode(der.replace(version, b"\xa0\x03\x02\x01\x42", 1)).decode()
    with pytest.raises(FormatError, match="does not parse"):
        verify_detached(signature, target)


# ------------------------------------------------------------------ policy

@pytest.mark.parametrize("method, digest", [
    (alg.SIG_RSA_SHA1, alg.DIGEST_SHA256), (alg.SIG_RSA_SHA256, alg.DIGEST_SHA1)])
def test_sha1_is_refused(rsa_signer, method, digest):
    _, target, signature = signed(rsa_signer, signature_method=method, digest_method=digest,
                                  policy=RELAXED)
    assert verify_detached(signature, target, policy=RELAXED).element is target
    with pytest.raises(CryptoConstraintsError) as caught:
        verify_detached(signature, target)
    assert caught.value.code == "CRYPTO_CONSTRAINTS_FAILURE" and "sha1" in caught.value.message


def test_signer_refuses_what_the_policy_refuses(rsa_signer, rsa_1024_signer):
    with pytest.raises(CryptoConstraintsError):
        signed(rsa_signer, signature_method=alg.SIG_RSA_SHA1)
    with pytest.raises(CryptoConstraintsError):
        signed(rsa_1024_signer)
    with pytest.raises(CryptoConstraintsError):
        signed(rsa_signer, signature_method=alg.SIG_ECDSA_SHA256)


def test_rsa_1024_is_refused(rsa_1024_signer):
    _, target, signature = signed(rsa_1024_signer, policy=RELAXED)
    with pytest.raises(CryptoConstraintsError) as caught:
        verify_detached(signature, target)
    assert "1024 bits" in caught.value.message


def test_curve_not_allowed(p521_signer):
    _, target, signature = signed(p521_signer, signature_method=alg.SIG_ECDSA_SHA512,
                                  policy=RELAXED)
    assert verify_detached(signature, target, policy=RELAXED).element is target
    with pytest.raises(CryptoConstraintsError):
        verify_detached(signature, target)


def test_key_type_must_match_the_method(rsa_signer, p256_signer):
    _, target, signature = signed(rsa_signer)
    signature.find(f".//{{{DS}}}SignatureMethod").set("Algorithm", alg.SIG_ECDSA_SHA256)
    with pytest.raises(CryptoConstraintsError):
        verify_detached(signature, target)


@pytest.mark.parametrize("transform", [alg.TRANSFORM_XPATH, alg.TRANSFORM_XSLT,
                                       alg.TRANSFORM_XPATH_FILTER2, "urn:unknown"])
def test_dangerous_or_unknown_transforms(rsa_signer, transform):
    _, target, signature = signed(rsa_signer)
    signature.find(f".//{{{DS}}}Transform").set("Algorithm", transform)
    resign(signature, rsa_signer)
    with pytest.raises(CryptoConstraintsError):
        verify_detached(signature, target)


@pytest.mark.parametrize("chain", [
    [], [EXC_C14N, EXC_C14N], ["urn://smev-gov-ru/xmldsig/transform", EXC_C14N],
    [ENVELOPED_SIGNATURE, EXC_C14N]])
def test_transform_chain_must_be_a_profile_chain(rsa_signer, chain):
    _, target, signature = signed(rsa_signer)
    transforms = signature.find(f".//{{{DS}}}Transforms")
    for child in list(transforms):
        transforms.remove(child)
    for uri in chain:
        etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=uri)
    resign(signature, rsa_signer)
    with pytest.raises(FormatError):
        verify_detached(signature, target)


@pytest.mark.parametrize("method", [
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments", "urn:unknown"])
def test_unknown_c14n_for_signed_info(rsa_signer, method):
    _, target, signature = signed(rsa_signer)
    signature.find(f".//{{{DS}}}CanonicalizationMethod").set("Algorithm", method)
    with pytest.raises(CryptoConstraintsError):
        verify_detached(signature, target)


def test_hmac_output_length_is_refused(rsa_signer):
    _, target, signature = signed(rsa_signer)
    etree.SubElement(signature.find(f".//{{{DS}}}SignatureMethod"),
                     f"{{{DS}}}HMACOutputLength").text = "8"
    with pytest.raises(FormatError):
        verify_detached(signature, target)


# ------------------------------------------------------------------ references and wrapping

@pytest.mark.parametrize("uri", ["", "#", "#other", "http://evil.example/doc.xml#SIGNED_BY_CONSUMER",
                                 "#xpointer(id('SIGNED_BY_CONSUMER'))", "#xpointer(/)", None])
def test_reference_uri_must_be_the_targets_id(rsa_signer, uri):
    _, target, signature = signed(rsa_signer)
    reference = signature.find(f".//{{{DS}}}Reference")
    if uri is None:
        del reference.attrib["URI"]
    else:
        reference.set("URI", uri)
    resign(signature, rsa_signer)
    with pytest.raises(ReferenceFailureError) as caught:
        verify_detached(signature, target)
    assert caught.value.code == "REFERENCE_FAILURE"


def test_two_references(rsa_signer):
    _, target, signature = signed(rsa_signer)
    reference = signature.find(f".//{{{DS}}}Reference")
    reference.addnext(copy.deepcopy(reference))
    resign(signature, rsa_signer)
    with pytest.raises(ReferenceFailureError):
        verify_detached(signature, target)


@pytest.mark.parametrize("where", ["Signature", "KeyInfo", "Object"])
def test_two_signed_info(rsa_signer, where):
    _, target, signature = signed(rsa_signer)
    extra = copy.deepcopy(signature.find(f"{{{DS}}}SignedInfo"))
    if where == "Signature":
        signature.find(f"{{{DS}}}SignedInfo").addnext(extra)
    elif where == "KeyInfo":
        signature.find(f"{{{DS}}}KeyInfo").append(extra)
    else:
        etree.SubElement(signature, f"{{{DS}}}Object").append(extra)
    with pytest.raises(FormatError):
        verify_detached(signature, target)


def test_object_is_refused(rsa_signer):
    _, target, signature = signed(rsa_signer)
    etree.SubElement(signature, f"{{{DS}}}Object").text = "x"
    with pytest.raises(FormatError):
        verify_detached(signature, target)


def test_signature_wrapping_is_caught(rsa_signer):
    """The signed element moved into the header, an attacker's copy at the fixed place."""
    root, target, signature = signed(rsa_signer)
    header = root.find(f"{{{SOAP11_ENV}}}Header")
    evil = copy.deepcopy(target)
    evil.find(f".//{{urn://example/registration/1.0}}INN").text = "6600000000"
    target.addprevious(evil)
    header.append(target)  # the original, still verifying, hidden in the header
    with pytest.raises(DuplicateIdError) as caught:
        verify_detached(signature, evil)  # the caller looks at the fixed place only
    assert caught.value.code == "REFERENCE_FAILURE"
    evil.set("Id", "EVIL")
    with pytest.raises(ReferenceFailureError):
        verify_detached(signature, evil)


def test_duplicate_id_anywhere(rsa_signer):
    root, target, signature = signed(rsa_signer)
    etree.SubElement(root.find(f"{{{SOAP11_ENV}}}Header"), "{urn:x}Foo",
                     {"{urn:other}ID": "SIGNED_BY_CONSUMER"})
    with pytest.raises(DuplicateIdError):
        verify_detached(signature, target)


def test_check_unique_ids():
    check_unique_ids(parse('<a Id="1"><b id="2"/><c ID="3"/></a>'))
    for doc in ('<a Id="1"><b id="1"/></a>', '<a ID="x"><b><c Id="x"/></b></a>',
                '<a xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-'
                'wssecurity-utility-1.0.xsd" wsu:Id="x"><b Id="x"/></a>'):
        with pytest.raises(DuplicateIdError):
            check_unique_ids(parse(doc))


def test_target_without_id(rsa_signer):
    _, target, signature = signed(rsa_signer)
    del target.attrib["Id"]
    with pytest.raises(ReferenceFailureError):
        verify_detached(signature, target)


def test_signature_from_another_document(rsa_signer):
    _, _, signature = signed(rsa_signer)
    _, other_target, _ = signed(rsa_signer)
    with pytest.raises(ReferenceFailureError):
        verify_detached(signature, other_target)


def test_not_a_signature(rsa_signer):
    _, target, signature = signed(rsa_signer)
    with pytest.raises(FormatError):
        verify_detached(signature.find(f"{{{DS}}}SignedInfo"), target)


def test_bad_base64(rsa_signer):
    _, target, signature = signed(rsa_signer)
    signature.find(f".//{{{DS}}}DigestValue").text = "not*base64"
    with pytest.raises(FormatError):
        verify_detached(signature, target)


def test_signing_needs_an_id(rsa_signer):
    root = parse(ENVELOPE)
    target, holder = parts(root)
    del target.attrib["Id"]
    with pytest.raises(FormatError):
        sign_detached(target, holder, rsa_signer.key, rsa_signer.certificate)


# ================================================================== oracles

TARGET_XPATH_NAME = f"{SMEV_TYPES}:SenderProvidedRequestData"


# ------------------------------------------------------------------ signxml

def _signxml_config(method):
    from signxml import SignatureConfiguration
    from signxml.algorithms import SignatureMethod
    return SignatureConfiguration(signature_methods=frozenset({SignatureMethod(method)}),
                                  expect_references=1)


@pytest.mark.parametrize("signer_name, method", [
    ("rsa_signer", alg.SIG_RSA_SHA256), ("rsa_signer", alg.SIG_RSA_SHA512),
    ("rsa_signer", alg.SIG_RSA_PSS_SHA256), ("p256_signer", alg.SIG_ECDSA_SHA256),
    ("p384_signer", alg.SIG_ECDSA_SHA384)])
def test_signxml_verifies_our_w3c_signatures(request, signer_name, method):
    from signxml import XMLVerifier
    signer = request.getfixturevalue(signer_name)
    root, _, _ = signed(signer, Profile.W3C, signature_method=method)
    result = XMLVerifier().verify(etree.tostring(root), x509_cert=signer.certificate,
                                  expect_config=_signxml_config(method))
    assert etree.QName(result.signed_xml).localname == "SenderProvidedRequestData"
    assert result.signed_xml.findtext(f"{{{SMEV_TYPES}}}MessageID") == \
        "db0486d0-3c08-11ef-8a48-0242ac120002"


def test_signxml_rejects_our_signature_over_changed_content(rsa_signer):
    from signxml import XMLVerifier
    from signxml.exceptions import InvalidDigest
    root, target, _ = signed(rsa_signer, Profile.W3C)
    target.find(f"{{{SMEV_TYPES}}}MessageID").text = "changed"
    with pytest.raises(InvalidDigest):
        XMLVerifier().verify(etree.tostring(root), x509_cert=rsa_signer.certificate,
                             expect_config=_signxml_config(alg.SIG_RSA_SHA256))


@pytest.mark.parametrize("signer_name, method, digest", [
    ("rsa_signer", alg.SIG_RSA_SHA256, alg.DIGEST_SHA256),
    ("rsa_signer", alg.SIG_RSA_PSS_SHA384, alg.DIGEST_SHA384),
    ("p256_signer", alg.SIG_ECDSA_SHA256, alg.DIGEST_SHA256),
    ("p384_signer", alg.SIG_ECDSA_SHA384, alg.DIGEST_SHA512)])
def test_we_verify_signxml_signatures(request, signer_name, method, digest):
    from signxml import XMLSigner, methods
    from signxml.algorithms import DigestAlgorithm, SignatureMethod
    signer = request.getfixturevalue(signer_name)
    root = parse(ENVELOPE)
    target, holder = parts(root)
    xml_signer = XMLSigner(method=methods.detached, signature_algorithm=SignatureMethod(method),
                           digest_algorithm=DigestAlgorithm(digest), c14n_algorithm=EXC_C14N)
    signature = xml_signer.sign(target, key=signer.key, cert=[signer.certificate],
                                reference_uri="#SIGNED_BY_CONSUMER")
    holder.append(signature)
    again = parse(etree.tostring(root))
    target, holder = parts(again)
    verified = verify_detached(holder.find(SIG), target)
    assert verified.element is target and verified.signature_method == method
    target.find(f"{{{SMEV_TYPES}}}MessageID").text = "changed"
    with pytest.raises(HashError):
        verify_detached(holder.find(SIG), target)


# ------------------------------------------------------------------ xmlsec1

def _xmlsec1() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("xmlsec1 is required under CI (apt-get install xmlsec1)")
        pytest.skip("xmlsec1 is not installed")
    return path


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("signer_name, method", [
    ("rsa_signer", alg.SIG_RSA_SHA256), ("rsa_signer", alg.SIG_RSA_SHA384),
    ("p256_signer", alg.SIG_ECDSA_SHA256), ("p384_signer", alg.SIG_ECDSA_SHA384)])
def test_xmlsec1_verifies_our_w3c_signatures(request, tmp_path, signer_name, method):
    tool = _xmlsec1()
    signer = request.getfixturevalue(signer_name)
    root, target, _ = signed(signer, Profile.W3C, signature_method=method)
    cert = tmp_path / "cert.pem"
    cert.write_bytes(signer.certificate.public_bytes(Encoding.PEM))
    document = tmp_path / "signed.xml"
    document.write_bytes(etree.tostring(root))
    args = [tool, "--verify", "--id-attr:Id", TARGET_XPATH_NAME, "--trusted-pem", str(cert),
            str(document)]
    ok = _run(args)
    assert ok.returncode == 0, ok.stderr
    target.find(f"{{{SMEV_TYPES}}}MessageID").text = "changed"
    document.write_bytes(etree.tostring(root))
    bad = _run(args)
    assert bad.returncode != 0


@pytest.mark.parametrize("signer_name, method", [
    ("rsa_signer", alg.SIG_RSA_SHA256), ("p256_signer", alg.SIG_ECDSA_SHA256)])
def test_we_verify_xmlsec1_signatures(request, tmp_path, signer_name, method):
    tool = _xmlsec1()
    signer = request.getfixturevalue(signer_name)
    root = parse(ENVELOPE)
    target, holder = parts(root)
    signature = etree.SubElement(holder, SIG, nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(signed_info, f"{{{DS}}}CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(signed_info, f"{{{DS}}}SignatureMethod", Algorithm=method)
    reference = etree.SubElement(signed_info, f"{{{DS}}}Reference", URI="#SIGNED_BY_CONSUMER")
    transforms = etree.SubElement(reference, f"{{{DS}}}Transforms")
    etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=EXC_C14N)
    etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm=alg.DIGEST_SHA256)
    etree.SubElement(reference, f"{{{DS}}}DigestValue")
    etree.SubElement(signature, f"{{{DS}}}SignatureValue")
    etree.SubElement(etree.SubElement(signature, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
    template = tmp_path / "template.xml"
    template.write_bytes(etree.tostring(root))
    key = tmp_path / "key.pem"
    key.write_bytes(signer.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    cert = tmp_path / "cert.pem"
    cert.write_bytes(signer.certificate.public_bytes(Encoding.PEM))
    out = tmp_path / "signed.xml"
    done = _run([tool, "--sign", "--id-attr:Id", TARGET_XPATH_NAME, "--privkey-pem",
                 f"{key},{cert}", "--output", str(out), str(template)])
    assert done.returncode == 0, done.stderr
    again = parse(out.read_bytes())
    target, holder = parts(again)
    verified = verify_detached(holder.find(SIG), target)
    assert verified.element is target and verified.certificate == signer.certificate


# ------------------------------------------------------------------ the certificate cache

def test_a_certificate_sent_again_is_parsed_once_and_still_checked(rsa_signer):
    """The parsed certificate is kept by its base64 text: the next message with the same
    certificate gets the same object, and a wrong one is never kept nor mistaken for it."""
    from signing import xmldsig

    _, target, signature = signed(rsa_signer)
    first = verify_detached(signature, target).certificate
    _, target, signature = signed(rsa_signer)
    assert verify_detached(signature, target).certificate is first
    # the same text with a child element under it: still refused as not plain base64
    element = signature.find(f".//{{{DS}}}X509Certificate")
    etree.SubElement(element, "junk")
    with pytest.raises(FormatError, match="not plain base64"):
        verify_detached(signature, target)
    # garbage is not kept, so it fails every time
    _, target, signature = signed(rsa_signer)
    garbage = base64.b64encode(b"junk").decode()
    signature.find(f".//{{{DS}}}X509Certificate").text = garbage
    for _ in range(2):
        with pytest.raises(FormatError):
            verify_detached(signature, target)
    assert garbage not in xmldsig._CERTIFICATES


def test_the_certificate_cache_is_bounded(rsa_signer, monkeypatch):
    from signing import xmldsig

    monkeypatch.setattr(xmldsig, "MAX_CACHED_CERTIFICATES", 3)
    monkeypatch.setattr(xmldsig, "_CERTIFICATES", {})
    text = base64.b64encode(rsa_signer.certificate.public_bytes(Encoding.DER)).decode()
    for spaces in range(10):  # ten different texts of one certificate
        _, target, signature = signed(rsa_signer)
        signature.find(f".//{{{DS}}}X509Certificate").text = text + "\n" * spaces
        verify_detached(signature, target)
        assert len(xmldsig._CERTIFICATES) <= 3


def test_a_certificate_text_longer_than_any_real_one_is_not_kept(rsa_signer, monkeypatch):
    """The cache is bounded in size too: a text over MAX_CACHED_TEXT is parsed every time."""
    from signing import xmldsig

    monkeypatch.setattr(xmldsig, "_CERTIFICATES", {})
    monkeypatch.setattr(xmldsig, "MAX_CACHED_TEXT", 100)  # a real certificate's text is longer
    _, target, signature = signed(rsa_signer)
    first = verify_detached(signature, target).certificate
    assert xmldsig._CERTIFICATES == {}
    _, target, signature = signed(rsa_signer)
    assert verify_detached(signature, target).certificate is not first
