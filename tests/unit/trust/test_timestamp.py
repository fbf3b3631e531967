"""RFC 3161: the TSA stub (registry_stubs/tsa.py) issues tokens with RSA, ECDSA and GOST keys of
the demo PKI; the ``openssl ts`` command verifies them (the independent implementation), and so
does signing.timestamp.verify_token, which refuses tampering; the Merkle tree that lets one
token cover a batch of receipts."""
from __future__ import annotations

import hashlib

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from gost_cli import openssl, openssl_ok
from registry_stubs.pki import Pki
from registry_stubs.tsa import POLICY, TimestampAuthority, serve
from signing import timestamp
from signing.timestamp import TimestampError


@pytest.fixture(scope="module", params=["rsa2048", "ec-p256", "gost2012-256", "gost2012-512"])
def tsa(request, tmp_path_factory):
    kind = request.param
    pki = Pki.init(tmp_path_factory.mktemp("tsa-pki"), base_url="http://127.0.0.1:9",
                   ca_key_type=kind if kind.startswith("gost") else "ec-p384")
    issued = pki.issue("tsa", common_name="Test TSA", key_type=kind,
                       key_usage=("digital_signature", "non_repudiation"),
                       extended_key_usage=("time_stamping",))
    return pki, TimestampAuthority(issued.private_key, issued.certificate, pki.intermediates())


def _pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def test_openssl_ts_verifies_the_token(tsa, tmp_path):
    pki, authority = tsa
    data = tmp_path / "data"
    data.write_bytes(b"receipt signature values")
    query = tmp_path / "q.tsq"
    openssl("ts", "-query", "-data", data, "-sha256", "-cert", "-out", query)
    reply = tmp_path / "a.tsr"
    reply.write_bytes(authority.respond(query.read_bytes()))
    root, chain = tmp_path / "root.pem", tmp_path / "chain.pem"
    root.write_bytes(_pem(pki.certificate("root")))
    chain.write_bytes(_pem(pki.certificate("intermediate")))
    out = openssl("ts", "-verify", "-in", reply, "-queryfile", query, "-CAfile", root,
                  "-untrusted", chain)
    assert b"Verification: OK" in out
    other = tmp_path / "other"
    other.write_bytes(b"something else")
    assert not openssl_ok("ts", "-verify", "-in", reply, "-data", other, "-CAfile", root,
                          "-untrusted", chain)


def test_verify_token_over_http(tsa):
    pki, authority = tsa
    server = serve(authority)
    try:
        digest = hashlib.sha256(b"root of a batch").digest()
        req, nonce = timestamp.request(digest)
        reply = requests.post(server.url, data=req, timeout=10,
                              headers={"Content-Type": "application/timestamp-query"})
        token = timestamp.reply_token(reply.content, nonce)
    finally:
        server.stop()
    verified = timestamp.verify_token(token, digest)
    assert verified.policy == POLICY and verified.certificate == authority.certificate
    assert pki.certificate("intermediate") in verified.certificates
    with pytest.raises(TimestampError, match="imprint"):
        timestamp.verify_token(token, hashlib.sha256(b"another").digest())
    tampered = bytearray(token)
    tampered[-3] ^= 1   # inside the signature, the last field of the token
    with pytest.raises(TimestampError):
        timestamp.verify_token(bytes(tampered), digest)
    with pytest.raises(TimestampError, match="nonce"):
        timestamp.reply_token(authority.respond(timestamp.request(digest, nonce=1)[0]), 2)


def test_garbage_is_rejected(tsa):
    _pki, authority = tsa
    with pytest.raises(TimestampError, match="refused"):
        timestamp.reply_token(authority.respond(b"\x30\x03abc"))


def test_a_certificate_not_for_time_stamping_is_refused(tmp_path):
    pki = Pki.init(tmp_path / "ca", base_url="http://127.0.0.1:9")
    issued = pki.issue("not-tsa", common_name="x", key_type="ec-p256")
    authority = TimestampAuthority(issued.private_key, issued.certificate)
    digest = hashlib.sha256(b"x").digest()
    token = timestamp.reply_token(authority.respond(timestamp.request(digest)[0]))
    with pytest.raises(TimestampError, match="extended key usage"):
        timestamp.verify_token(token, digest)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_merkle_paths_lead_to_the_root(count):
    leaves = [timestamp.leaf_hash(bytes([i])) for i in range(count)]
    root = timestamp.merkle_root(leaves)
    for index, leaf in enumerate(leaves):
        path = timestamp.merkle_path(leaves, index)
        assert timestamp.root_from_path(leaf, path) == root
        if count > 1:  # another leaf on the same path does not reach the root
            assert timestamp.root_from_path(timestamp.leaf_hash(b"forged"), path) != root
