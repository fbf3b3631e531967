"""signing/jws.py against an independent JOSE implementation (jwcrypto) both ways, on the
algorithm allow-list, with the header rules of docs/integration.md «REST and JSON» and GOST."""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding
from jwcrypto import jwk, jws as jw

from signing import jws
from signing.algorithms import policy_for
from signing.errors import (CryptoConstraintsError, FormatError, NoSigningCertificateError,
                            SignatureCryptoError)

PAYLOAD = json.dumps({"messageId": "x", "type": "T", "payload": {"a": "ä"}}, ensure_ascii=False).encode()
CASES = [("rsa_signer", "RS256"), ("rsa_signer", "RS512"), ("rsa_signer", "PS256"),
         ("rsa_signer", "PS384"), ("p256_signer", "ES256"), ("p384_signer", "ES384")]


def _private(signer) -> jwk.JWK:
    return jwk.JWK.from_pem(signer.key.private_bytes(Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))


def _public(signer) -> jwk.JWK:
    return jwk.JWK.from_pem(signer.certificate.public_key().public_bytes(
        Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def _x5c(signer) -> list[str]:
    return [base64.b64encode(signer.certificate.public_bytes(Encoding.DER)).decode()]


@pytest.mark.parametrize("signer_name,alg", CASES)
def test_ours_verified_by_jwcrypto(request, signer_name, alg):
    signer = request.getfixturevalue(signer_name)
    token = jws.sign(PAYLOAD, signer.key, signer.certificate, alg=alg)
    checked = jw.JWS()
    checked.deserialize(token)
    checked.verify(_public(signer), alg=alg)
    assert checked.payload == PAYLOAD


@pytest.mark.parametrize("signer_name,alg", CASES)
def test_jwcrypto_verified_by_ours_compact_and_flattened(request, signer_name, alg):
    signer = request.getfixturevalue(signer_name)
    made = jw.JWS(PAYLOAD)
    made.add_signature(_private(signer), alg=alg, protected=json.dumps({"alg": alg, "x5c": _x5c(signer)}))
    for body, flat in ((made.serialize(compact=True).encode(), False), (made.serialize().encode(), True)):
        verified = jws.verify(jws.parse(body, json_serialization=flat))
        assert verified.payload == PAYLOAD and verified.certificate == signer.certificate


def test_tampered_payload_fails(rsa_signer):
    header, _, signature = jws.sign(PAYLOAD, rsa_signer.key, rsa_signer.certificate).split(".")
    forged = f"{header}.{jws.b64url(PAYLOAD.replace(b'x', b'y'))}.{signature}".encode()
    with pytest.raises(SignatureCryptoError):
        jws.verify(jws.parse(forged, json_serialization=False))


def test_another_key_than_x5c_fails(rsa_signer, other_rsa_signer):
    token = jws.sign(PAYLOAD, other_rsa_signer.key, rsa_signer.certificate)
    with pytest.raises(SignatureCryptoError):
        jws.verify(jws.parse(token.encode(), json_serialization=False))


def _with_header(signer, header: dict) -> bytes:
    token = jws.sign(PAYLOAD, signer.key, signer.certificate)
    _, payload, signature = token.split(".")
    return f"{jws.b64url(json.dumps(header).encode())}.{payload}.{signature}".encode()


@pytest.mark.parametrize("header,error", [
    ({"alg": "none"}, CryptoConstraintsError),
    ({"alg": "NONE"}, CryptoConstraintsError),
    ({"alg": "HS256"}, CryptoConstraintsError),
    ({"alg": "RS256", "crit": ["b64"], "b64": False}, CryptoConstraintsError),
    ({"alg": "RS256", "jwk": {"kty": "RSA"}}, CryptoConstraintsError),
    ({"alg": "RS256", "x5u": "http://127.0.0.1/c.pem"}, CryptoConstraintsError),
    ({"alg": "RS256"}, NoSigningCertificateError),
    ({}, FormatError),
])
def test_header_rules(rsa_signer, header, error):
    if header.get("alg") == "RS256" and "x5c" not in header and len(header) > 1:
        header["x5c"] = _x5c(rsa_signer)
    with pytest.raises(error):
        jws.verify(jws.parse(_with_header(rsa_signer, header), json_serialization=False))


def test_policy_profiles_apply(rsa_signer, rsa_1024_signer):
    token = jws.sign(PAYLOAD, rsa_signer.key, rsa_signer.certificate).encode()
    with pytest.raises(CryptoConstraintsError, match="smev"):
        jws.verify(jws.parse(token, json_serialization=False), policy_for("smev"))
    weak = jws.sign(PAYLOAD, rsa_1024_signer.key, rsa_1024_signer.certificate).encode()
    with pytest.raises(CryptoConstraintsError, match="2048"):
        jws.verify(jws.parse(weak, json_serialization=False))


@pytest.mark.parametrize("body,flat", [
    (b"a.b", False), (b"a.b.c.d.e", False), (b"\xff", False),
    (b'{"signatures": []}', True), (b'{"protected": "e30", "header": {}, "payload": "", "signature": ""}', True),
    (b"[]", True),
])
def test_other_serializations_are_refused(body, flat):
    with pytest.raises(FormatError):
        jws.parse(body, json_serialization=flat)


@pytest.mark.parametrize("signer_name,alg", [("gost256_signer", "GOST3410-2012-256"),
                                             ("gost512_signer", "GOST3410-2012-512")])
def test_gost(request, signer_name, alg):
    signer = request.getfixturevalue(signer_name)
    token = jws.sign(PAYLOAD, signer.key, signer.certificate)
    parsed = jws.parse(token.encode(), json_serialization=False)
    assert parsed.header["alg"] == alg
    assert jws.verify(parsed, policy_for("smev")).payload == PAYLOAD
    with pytest.raises(CryptoConstraintsError):
        jws.verify(parsed, policy_for("international"))
