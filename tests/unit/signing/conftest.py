"""Keys and self-signed certificates generated once per test session (never committed)."""
from __future__ import annotations

import dataclasses
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@dataclasses.dataclass(frozen=True)
class Signer:
    key: object
    certificate: x509.Certificate


def make_signer(key, name: str) -> Signer:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    return Signer(key, certificate)


@pytest.fixture(scope="session")
def rsa_signer() -> Signer:
    return make_signer(rsa.generate_private_key(65537, 2048), "rsa-2048 test signer")


@pytest.fixture(scope="session")
def other_rsa_signer() -> Signer:
    return make_signer(rsa.generate_private_key(65537, 2048), "another rsa-2048 signer")


@pytest.fixture(scope="session")
def rsa_1024_signer() -> Signer:
    return make_signer(rsa.generate_private_key(65537, 1024), "rsa-1024 test signer")


@pytest.fixture(scope="session")
def p256_signer() -> Signer:
    return make_signer(ec.generate_private_key(ec.SECP256R1()), "p-256 test signer")


@pytest.fixture(scope="session")
def p384_signer() -> Signer:
    return make_signer(ec.generate_private_key(ec.SECP384R1()), "p-384 test signer")


@pytest.fixture(scope="session")
def p521_signer() -> Signer:
    return make_signer(ec.generate_private_key(ec.SECP521R1()), "p-521 test signer")


# ------------------------------------------------------------------ GOST R 34.10-2012
# Keys come from OpenSSL's GOST engine through signing.gost_openssl; the self-signed
# certificates from the ``openssl`` command (an independent encoder of the same keys). Without
# the engine these fixtures ERROR: GOST tests never skip.

def make_gost_signer(tmp_path_factory, key_type: str, paramset: str, name: str) -> Signer:
    from gost_cli import openssl
    from signing.gost_openssl import PrivateKey

    key = PrivateKey.generate(key_type, paramset)
    folder = tmp_path_factory.mktemp("gost")
    (folder / "key.pem").write_bytes(key.pkcs8_pem())
    der = openssl("req", "-x509", "-new", "-key", folder / "key.pem", "-subj", f"/CN={name}",
                  "-days", "30", "-outform", "DER")
    return Signer(key, x509.load_der_x509_certificate(der))


@pytest.fixture(scope="session")
def gost256_signer(tmp_path_factory) -> Signer:
    return make_gost_signer(tmp_path_factory, "gost2012_256", "TCA", "gost 2012-256 signer")


@pytest.fixture(scope="session")
def gost256_cpa_signer(tmp_path_factory) -> Signer:
    return make_gost_signer(tmp_path_factory, "gost2012_256", "A",
                            "gost 2012-256 CryptoPro-A signer")


@pytest.fixture(scope="session")
def gost512_signer(tmp_path_factory) -> Signer:
    return make_gost_signer(tmp_path_factory, "gost2012_512", "A", "gost 2012-512 signer")


@pytest.fixture(scope="session")
def gost2001_signer(tmp_path_factory) -> Signer:
    return make_gost_signer(tmp_path_factory, "gost2001", "A", "legacy gost 2001 signer")


@pytest.fixture(scope="session")
def gost_test_curve_signer(tmp_path_factory) -> Signer:
    return make_gost_signer(tmp_path_factory, "gost2012_256", "0", "gost test-curve signer")
