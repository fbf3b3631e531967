"""The file-based test PKI: idempotent init, issuing, revocation, CRLs, OCSP answers."""
from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from registry_stubs.pki import Pki, PkiError

URL = "http://127.0.0.1:8090"


@pytest.fixture()
def fresh(tmp_path) -> Pki:
    return Pki.init(tmp_path / "ca", base_url=URL)


def _ocsp_status(pki: Pki, cert: x509.Certificate, issuer: x509.Certificate, algo=hashes.SHA1()):
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algo).build()
    return ocsp.load_der_ocsp_response(pki.ocsp_response(request.public_bytes(serialization.Encoding.DER)))


def test_init_creates_root_and_issuing_ca(fresh):
    root, inter = fresh.certificate("root"), fresh.certificate("intermediate")
    assert fresh.trust_anchors() == (root,) and fresh.intermediates() == (inter,)
    assert root.issuer == root.subject and inter.issuer == root.subject
    bc = inter.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    inter.verify_directly_issued_by(root)
    for name in ("root", "intermediate"):
        crl = x509.load_der_x509_crl(fresh.crl_der(name))
        assert crl.is_signature_valid(fresh.certificate(name).public_key()) and len(crl) == 0


def test_init_is_idempotent_and_refuses_another_url(tmp_path):
    first = Pki.init(tmp_path / "ca", base_url=URL)
    second = Pki.init(tmp_path / "ca", base_url=URL + "/")
    assert second.certificate("root") == first.certificate("root")
    assert second.certificate("intermediate") == first.certificate("intermediate")
    with pytest.raises(PkiError, match="serves"):
        Pki.init(tmp_path / "ca", base_url="http://127.0.0.1:9999")
    with pytest.raises(FileNotFoundError):
        Pki.load(tmp_path / "nothing-here")


def test_issued_certificate_profile(fresh):
    issued = fresh.issue("head", common_name="Иванов И. И.", organization="ООО Ромашка",
                         inn="500100732259", key_type="rsa2048", extended_key_usage=("client_auth",))
    cert = issued.certificate
    cert.verify_directly_issued_by(fresh.certificate("intermediate"))
    assert isinstance(issued.private_key, rsa.RSAPrivateKey) and issued.private_key.key_size == 2048
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dp[0].full_name[0].value == f"{URL}/crl/intermediate.crl"
    aia = {d.access_method: d.access_location.value
           for d in cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value}
    assert aia == {AuthorityInformationAccessOID.OCSP: f"{URL}/ocsp",
                   AuthorityInformationAccessOID.CA_ISSUERS: f"{URL}/certs/intermediate.cer"}
    assert cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE)
    # stored on disk: certificate PEM and an unencrypted key only its owner can read
    assert x509.load_pem_x509_certificate(issued.cert_path.read_bytes()) == cert
    assert stat.S_IMODE(issued.key_path.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(issued.key_path.read_bytes(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    index = json.loads((fresh.directory / "index.json").read_text())
    assert index["names"]["head"] == format(cert.serial_number, "x")


@pytest.mark.parametrize("key_type,check", [
    ("ec-p256", lambda k: isinstance(k, ec.EllipticCurvePrivateKey) and k.curve.name == "secp256r1"),
    ("ec-p384", lambda k: isinstance(k, ec.EllipticCurvePrivateKey) and k.curve.name == "secp384r1"),
    ("rsa1024", lambda k: isinstance(k, rsa.RSAPrivateKey) and k.key_size == 1024),
])
def test_key_types(fresh, key_type, check):
    assert check(fresh.issue(f"k-{key_type}", common_name="k", key_type=key_type).private_key)


def test_bad_certificates_for_tests(fresh):
    now = datetime.now(timezone.utc)
    old = fresh.issue("old", common_name="old", key_type="ec-p256",
                      not_before=now - timedelta(days=9), not_after=now - timedelta(days=2))
    assert old.certificate.not_valid_after_utc < now
    sha1 = fresh.issue("sha1", common_name="sha1", key_type="ec-p256", hash="sha1")
    assert sha1.certificate.signature_hash_algorithm.name == "sha1"
    fresh.certificate("intermediate").public_key().verify(  # still correctly signed, with SHA-1
        sha1.certificate.signature, sha1.certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA1()))
    selfie = fresh.issue("selfie", common_name="selfie", key_type="ec-p256", issuer="self")
    assert selfie.certificate.issuer == selfie.certificate.subject
    selfie.certificate.verify_directly_issued_by(selfie.certificate)
    by_root = fresh.issue("direct", common_name="direct", key_type="ec-p256", issuer="root")
    assert by_root.certificate.issuer == fresh.certificate("root").subject


@pytest.mark.parametrize("kwargs,message", [
    ({"inn": "12345"}, "ИНН"), ({"inn_le": "770708389X"}, "ИНН ЮЛ"), ({"ogrn": "1"}, "ОГРН"),
    ({"snils": "123"}, "СНИЛС"), ({"key_type": "dsa"}, "key type"), ({"hash": "md5"}, "hash"),
    ({"key_usage": ("sign_everything",)}, "key usage"), ({"issuer": "nobody"}, "nobody"),
])
def test_issue_rejects_bad_input(fresh, kwargs, message):
    with pytest.raises(PkiError, match=message):
        fresh.issue("bad", common_name="bad", **{"key_type": "ec-p256", **kwargs})


@pytest.mark.parametrize("name", ["root", "intermediate", "../escape", "a/b", "", ".hidden"])
def test_reserved_and_unsafe_names(fresh, name):
    with pytest.raises(PkiError):
        fresh.issue(name, common_name="x", key_type="ec-p256")


def test_revoke_updates_crl_and_ocsp(fresh):
    issued = fresh.issue("victim", common_name="victim", key_type="ec-p256")
    inter = fresh.certificate("intermediate")
    assert _ocsp_status(fresh, issued.certificate, inter).certificate_status is ocsp.OCSPCertStatus.GOOD
    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    serial = fresh.revoke("victim", reason="affiliation_changed", at=at)
    assert serial == issued.certificate.serial_number
    crl = x509.load_der_x509_crl(fresh.crl_der("intermediate"))
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None and entry.revocation_date_utc == at
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is \
        x509.ReasonFlags.affiliation_changed
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number >= 2
    resp = _ocsp_status(fresh, issued.certificate, inter, hashes.SHA256())
    assert resp.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_time_utc == at and resp.revocation_reason is x509.ReasonFlags.affiliation_changed
    inter.public_key().verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(resp.signature_hash_algorithm))
    # by serial too, and a second process sees it
    other = fresh.issue("victim2", common_name="v2", key_type="ec-p256")
    fresh.revoke(other.certificate.serial_number)
    assert Pki.load(fresh.directory).revocation(other.certificate.serial_number)[1] == "key_compromise"


def test_revoke_rejects_nonsense(fresh):
    with pytest.raises(PkiError):
        fresh.revoke("root")
    with pytest.raises(PkiError):
        fresh.revoke("nobody")
    with pytest.raises(PkiError):
        fresh.revoke(12345)
    fresh.issue("x", common_name="x", key_type="ec-p256")
    with pytest.raises(PkiError, match="reason"):
        fresh.revoke("x", reason="because")


def test_ocsp_unknown_unauthorized_and_malformed(tmp_path, fresh):
    foreign = Pki.init(tmp_path / "foreign", base_url=URL)
    stranger = foreign.issue("s", common_name="s", key_type="ec-p256")
    # a serial our issuing CA never issued, asked under our issuing CA's hashes → unknown
    fake = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        *_issuer_hashes(fresh.certificate("intermediate")), stranger.certificate.serial_number,
        hashes.SHA1()).build()
    resp = ocsp.load_der_ocsp_response(fresh.ocsp_response(fake.public_bytes(serialization.Encoding.DER)))
    assert resp.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    # an issuer this PKI does not know → unauthorized
    resp = _ocsp_status(fresh, stranger.certificate, foreign.certificate("intermediate"))
    assert resp.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED
    resp = ocsp.load_der_ocsp_response(fresh.ocsp_response(b"\x30\x03garbage"))
    assert resp.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def _issuer_hashes(issuer: x509.Certificate) -> tuple[bytes, bytes]:
    from asn1crypto import x509 as asn1_x509

    spki = issuer.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    key_bits = asn1_x509.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    sha1 = hashes.Hash(hashes.SHA1())
    sha1.update(issuer.subject.public_bytes())
    key = hashes.Hash(hashes.SHA1())
    key.update(key_bits)
    return sha1.finalize(), key.finalize()


def test_ocsp_echoes_the_nonce(fresh):
    issued = fresh.issue("n", common_name="n", key_type="ec-p256")
    nonce = b"0123456789abcdef"
    request = (ocsp.OCSPRequestBuilder()
               .add_certificate(issued.certificate, fresh.certificate("intermediate"), hashes.SHA1())
               .add_extension(x509.OCSPNonce(nonce), critical=False).build())
    resp = ocsp.load_der_ocsp_response(fresh.ocsp_response(request.public_bytes(serialization.Encoding.DER)))
    assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce


def test_crl_is_refreshed_after_half_its_validity(tmp_path):
    clock_offset = [timedelta(0)]
    clock = lambda: datetime.now(timezone.utc) + clock_offset[0]  # noqa: E731
    pki = Pki.init(tmp_path / "ca", base_url=URL, crl_validity=timedelta(hours=2), clock=clock)
    first = x509.load_der_x509_crl(pki.crl_der("intermediate"))
    assert first.next_update_utc - first.last_update_utc == timedelta(hours=2)
    clock_offset[0] = timedelta(minutes=30)
    assert pki.crl_der("intermediate") == first.public_bytes(serialization.Encoding.DER)
    clock_offset[0] = timedelta(hours=1, minutes=1)
    second = x509.load_der_x509_crl(pki.crl_der("intermediate"))
    assert second.last_update_utc > first.last_update_utc
    assert second.next_update_utc > clock()


def test_pinned_stale_crl_stays_until_the_next_revocation(fresh):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    fresh.publish_crl("intermediate", this_update=now - timedelta(days=2), next_update=now - timedelta(days=1))
    stale = x509.load_der_x509_crl(fresh.crl_der("intermediate"))
    assert stale.next_update_utc == now - timedelta(days=1)
    fresh.issue("p", common_name="p", key_type="ec-p256")
    fresh.revoke("p")
    assert x509.load_der_x509_crl(fresh.crl_der("intermediate")).next_update_utc > now


def test_reissue_keeps_the_old_serial_known(fresh):
    first = fresh.issue("again", common_name="again", key_type="ec-p256")
    second = fresh.issue("again", common_name="again", key_type="ec-p256")
    assert first.certificate.serial_number != second.certificate.serial_number
    assert fresh.certificate("again") == second.certificate
    inter = fresh.certificate("intermediate")
    assert _ocsp_status(fresh, first.certificate, inter).certificate_status is ocsp.OCSPCertStatus.GOOD
