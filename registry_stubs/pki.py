"""A small file-based test/demo PKI: root CA → issuing (intermediate) CA → signer certificates.

A stand-in for a real certification authority, like the CA stub that serves it (ca.py beside
this file); the trust core (``signing/``) validates what it issues and knows nothing of it.

Why it exists: tests and the demo need real certificates with Russian qualified-certificate
subject attributes, real CRLs and real OCSP answers, including deliberately bad certificates
(expired, weak key, SHA-1, wrong key usage, self-signed, foreign CA). Nothing here is meant to
protect real keys: private keys are stored unencrypted (mode 0600) in the PKI directory.

Layout of the directory::

    index.json          serials, names, revocations, CRL numbers (the only mutable state)
    certs/<name>.pem    one certificate per name (the latest issued under that name)
    keys/<name>.key     its private key, PKCS#8 PEM, unencrypted, 0600
    crl/<issuer>.crl    the issuer's current CRL, DER

Every mutation takes an exclusive ``flock`` on ``.lock`` and re-reads the index first, so a CLI
``revoke`` in one process and the CA stub in another never lose each other's writes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import algos as asn1_algos
from asn1crypto import core as asn1_core
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from signing import gost
from signing.algorithms import load_private_key
from signing.identity import INN, INN_LE, OGRN, SNILS

__all__ = [
    "INN", "INN_LE", "OGRN", "SNILS", "KEY_TYPES", "REVOCATION_REASONS",
    "IssuedCertificate", "Pki", "PkiError", "key_pem",
]

# Subject attributes of Russian qualified certificates (Приказ ФСБ России № 795), all written as
# NumericString: ИНН 12 digits, ИНН ЮЛ 10, ОГРН 13, СНИЛС 11.

ROOT = "root"
INTERMEDIATE = "intermediate"
KEY_TYPES = ("rsa2048", "rsa3072", "rsa1024", "ec-p256", "ec-p384", "gost2012-256", "gost2012-512")
#: key type -> (engine key type, certificate/CRL/OCSP signature OID, engine digest); TC26 curve A
_GOST = {"gost2012-256": (gost.gost_openssl.KEY_2012_256, gost.SIGNATURE_2012_256,
                          gost.gost_openssl.DIGEST_256),
         "gost2012-512": (gost.gost_openssl.KEY_2012_512, gost.SIGNATURE_2012_512,
                          gost.gost_openssl.DIGEST_512)}
REVOCATION_REASONS = tuple(r.name for r in x509.ReasonFlags if r is not x509.ReasonFlags.remove_from_crl)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FORMAT = 1
_OCSP_VALIDITY = timedelta(hours=1)

Clock = Callable[[], datetime]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | gost.PrivateKey

_KEY_USAGE_FIELDS = ("digital_signature", "content_commitment", "key_encipherment",
                     "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                     "encipher_only", "decipher_only")
_KEY_USAGE_ALIASES = {"non_repudiation": "content_commitment"}
_EKU = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "time_stamping": ExtendedKeyUsageOID.TIME_STAMPING, "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
}


class PkiError(ValueError):
    """A PKI operation was asked for something that does not exist or is not allowed."""


@dataclasses.dataclass(frozen=True)
class IssuedCertificate:
    name: str
    certificate: x509.Certificate
    private_key: PrivateKey
    cert_path: Path
    key_path: Path


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise PkiError(f"bad certificate name {name!r}: use letters, digits, '_', '.', '-'")
    return name


def _generate_key(key_type: str) -> PrivateKey:
    if key_type.startswith("rsa") and key_type[3:] in ("1024", "2048", "3072"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type in _GOST:
        return gost.PrivateKey.generate(_GOST[key_type][0], "A")
    raise PkiError(f"unknown key type {key_type!r}; one of {', '.join(KEY_TYPES)}")


def _digits(value: str, length: int, what: str) -> str:
    if not (isinstance(value, str) and value.isdigit() and len(value) == length):
        raise PkiError(f"{what} must be {length} digits, not {value!r}")
    return value


def _subject(common_name: str, organization: str | None, title: str | None, inn: str | None,
             inn_le: str | None, ogrn: str | None, snils: str | None) -> x509.Name:
    """The subject as qualified certificates carry it: identifiers as NumericString, names UTF8."""
    numeric = _ASN1Type.NumericString
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "RU")]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    if ogrn is not None:
        attrs.append(x509.NameAttribute(OGRN, _digits(ogrn, 13, "ОГРН"), _type=numeric))
    if inn_le is not None:
        attrs.append(x509.NameAttribute(INN_LE, _digits(inn_le, 10, "ИНН ЮЛ"), _type=numeric))
    if inn is not None:
        attrs.append(x509.NameAttribute(INN, _digits(inn, 12, "ИНН"), _type=numeric))
    if snils is not None:
        attrs.append(x509.NameAttribute(SNILS, _digits(snils, 11, "СНИЛС"), _type=numeric))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _key_usage(names: Iterable[str]) -> x509.KeyUsage:
    wanted = {_KEY_USAGE_ALIASES.get(n, n) for n in names}
    unknown = wanted - set(_KEY_USAGE_FIELDS)
    if unknown:
        raise PkiError(f"unknown key usage {sorted(unknown)}; one of {_KEY_USAGE_FIELDS}")
    return x509.KeyUsage(**{f: f in wanted for f in _KEY_USAGE_FIELDS})


def _eku(names: Iterable[str]) -> list[x509.ObjectIdentifier]:
    out = []
    for n in names:
        if n in _EKU:
            out.append(_EKU[n])
        elif re.fullmatch(r"\d+(\.\d+)+", n):
            out.append(x509.ObjectIdentifier(n))
        else:
            raise PkiError(f"unknown extended key usage {n!r}")
    return out


def _sign_hash(key: PrivateKey) -> hashes.HashAlgorithm:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


# -- GOST R 34.10-2012: ``cryptography`` can neither hold a GOST public key nor sign with a GOST
# key, so a certificate, CRL or OCSP answer involving one is built by ``cryptography`` around a
# placeholder key and then finished with asn1crypto: the GOST SubjectPublicKeyInfo put in, the
# signature algorithm set, the to-be-signed part signed again by the real issuer key (the same
# route as _resign_sha1 below; signing/bench_parts.py builds a GOST certificate likewise).
_PLACEHOLDER: list[ec.EllipticCurvePrivateKey] = []


def _placeholder() -> ec.EllipticCurvePrivateKey:
    if not _PLACEHOLDER:
        _PLACEHOLDER.append(ec.generate_private_key(ec.SECP256R1()))
    return _PLACEHOLDER[0]


def _is_gost(key) -> bool:
    return gost.key_type_of(key) is not None


def _spki_der(key) -> bytes:
    if _is_gost(key):
        return key.public_key_der()
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's bytes, read as plain DER: neither ``cryptography`` nor
    asn1crypto's key classes load a GOST key (asn1crypto knows no GOST key OIDs)."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    spki = parsed["tbs_certificate"]["subject_public_key_info"].dump()
    return asn1_core.Sequence.load(spki)[1].contents[1:]


def _key_identifier(key) -> x509.SubjectKeyIdentifier:
    """RFC 5280 method 1 (SHA-1 of the subjectPublicKey bits), for any key type."""
    bits = asn1_core.Sequence.load(_spki_der(key))[1].contents[1:]
    return x509.SubjectKeyIdentifier(hashlib.sha1(bits).digest())


def _sign_tbs(key, tbs_der: bytes) -> tuple[asn1_algos.SignedDigestAlgorithm, bytes]:
    """(signature algorithm, signature) of DER by any issuer key; GOST as s||r (docs/gost.md)."""
    key_type = gost.key_type_of(key)
    if key_type is not None:
        _kind, oid, digest = next(v for v in _GOST.values() if v[0] == key_type)
        return asn1_algos.SignedDigestAlgorithm({"algorithm": oid}), key.sign(tbs_der, digest)
    algorithm = _sign_hash(key)
    if isinstance(key, rsa.RSAPrivateKey):
        return (asn1_algos.SignedDigestAlgorithm({"algorithm": f"{algorithm.name}_rsa"}),
                key.sign(tbs_der, padding.PKCS1v15(), algorithm))
    return (asn1_algos.SignedDigestAlgorithm({"algorithm": f"{algorithm.name}_ecdsa"}),
            key.sign(tbs_der, ec.ECDSA(algorithm)))


def _finish_certificate(cert: x509.Certificate, subject_key, issuer_key) -> x509.Certificate:
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"]
    if _is_gost(subject_key):
        tbs["subject_public_key_info"] = asn1_keys.PublicKeyInfo.load(subject_key.public_key_der())
    algo, _ = _sign_tbs(issuer_key, b"")
    tbs["signature"] = algo
    tbs_der = tbs.dump()
    algo, signature = _sign_tbs(issuer_key, tbs_der)
    rebuilt = asn1_x509.Certificate({"tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
                                     "signature_algorithm": algo, "signature_value": signature})
    return x509.load_der_x509_certificate(rebuilt.dump())


def _finish_crl(der: bytes, issuer_key) -> bytes:
    parsed = asn1_crl.CertificateList.load(der)
    tbs = parsed["tbs_cert_list"]
    algo, _ = _sign_tbs(issuer_key, b"")
    tbs["signature"] = algo
    tbs_der = tbs.dump()
    algo, signature = _sign_tbs(issuer_key, tbs_der)
    return asn1_crl.CertificateList({"tbs_cert_list": asn1_crl.TbsCertList.load(tbs_der),
                                     "signature_algorithm": algo, "signature": signature}).dump()


def _gost_ocsp_response(request_der: bytes, issuer_cert: x509.Certificate, issuer_key,
                        status: str, now: datetime, revoked: tuple[datetime, str] | None) -> bytes:
    """The OCSP answer of a GOST CA, built with asn1crypto (``cryptography``'s builder needs the
    responder's public key, which it cannot load for GOST): the request's CertID echoed, the
    responder named by its subject, the nonce echoed, signed by the CA itself."""
    tbs_request = asn1_ocsp.OCSPRequest.load(request_der)["tbs_request"]
    if status == "good":
        cert_status = asn1_ocsp.CertStatus(name="good", value=asn1_core.Null())
    elif status == "revoked":
        cert_status = asn1_ocsp.CertStatus(name="revoked", value=asn1_ocsp.RevokedInfo(
            {"revocation_time": revoked[0].replace(microsecond=0),  # DER: no fractions
             "revocation_reason": revoked[1]}))
    else:
        cert_status = asn1_ocsp.CertStatus(name="unknown", value=asn1_core.Null())
    extensions = [ext for ext in (tbs_request["request_extensions"] or [])
                  if ext["extn_id"].native == "nonce"]
    subject = asn1_x509.Certificate.load(issuer_cert.public_bytes(serialization.Encoding.DER)).subject
    data = {"version": "v1", "responder_id": asn1_ocsp.ResponderId(name="by_name", value=subject),
            "produced_at": now.replace(microsecond=0),
            "responses": [{"cert_id": tbs_request["request_list"][0]["req_cert"],
                           "cert_status": cert_status, "this_update": now.replace(microsecond=0),
                           "next_update": (now + _OCSP_VALIDITY).replace(microsecond=0)}]}
    if extensions:
        data["response_extensions"] = [{"extn_id": "nonce", "critical": False,
                                        "extn_value": extensions[0]["extn_value"].native}]
    tbs_der = asn1_ocsp.ResponseData(data).dump()
    algo, signature = _sign_tbs(issuer_key, tbs_der)
    basic = asn1_ocsp.BasicOCSPResponse({
        "tbs_response_data": asn1_ocsp.ResponseData.load(tbs_der),
        "signature_algorithm": algo, "signature": signature})
    return asn1_ocsp.OCSPResponse({"response_status": "successful", "response_bytes": {
        "response_type": "basic_ocsp_response", "response": basic}}).dump()


def key_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted, of any key this PKI issues."""
    if _is_gost(key):
        return key.pkcs8_pem()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ski_of(cert: x509.Certificate) -> x509.SubjectKeyIdentifier:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value


def _resign_sha1(cert: x509.Certificate, key: PrivateKey) -> x509.Certificate:
    """Re-sign a certificate with SHA-1: ``cryptography`` refuses to, tests need such certificates."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    algo_name = "sha1_rsa" if isinstance(key, rsa.RSAPrivateKey) else "sha1_ecdsa"
    algo = asn1_algos.SignedDigestAlgorithm({"algorithm": algo_name})
    tbs = parsed["tbs_certificate"]
    tbs["signature"] = algo
    tbs_der = tbs.dump(force=True)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA1())
    else:
        signature = key.sign(tbs_der, ec.ECDSA(hashes.SHA1()))
    rebuilt = asn1_x509.Certificate({"tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
                                     "signature_algorithm": algo, "signature_value": signature})
    return x509.load_der_x509_certificate(rebuilt.dump())


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


_key_pem = key_pem


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


class Pki:
    """A file-based CA. Create or open one with :meth:`init`; open an existing one with :meth:`load`."""

    def __init__(self, directory: Path, *, clock: Clock | None = None):
        self.directory = Path(directory)
        self._clock = clock or _utcnow
        self._index: dict = {}
        self._index_stat: tuple | None = None
        self._certs: dict[str, tuple[str, x509.Certificate]] = {}   # name -> (serial hex, cert)
        self._keys: dict[str, tuple[str, PrivateKey]] = {}

    # ----------------------------------------------------------------- creation / loading
    @classmethod
    def init(cls, directory: Path, *, base_url: str, crl_validity: timedelta = timedelta(days=1),
             ca_key_type: str = "ec-p384", clock: Clock | None = None,
             reuse_any_key_type: bool = False) -> Pki:
        """Create the root and issuing CAs and their CRLs, or load them if they exist (idempotent).

        ``base_url`` is baked into the certificates (CRL distribution points, AIA), so opening an
        existing PKI with a different one is refused rather than silently producing certificates
        whose revocation data lives somewhere else; likewise another ``ca_key_type`` (unless
        ``reuse_any_key_type``: open whatever is there).
        """
        base_url = base_url.rstrip("/")
        if not re.match(r"^https?://[^/]+", base_url):
            raise PkiError(f"base_url must be an http(s) URL, not {base_url!r}")
        pki = cls(directory, clock=clock)
        pki.directory.mkdir(parents=True, exist_ok=True)
        with pki._locked():
            if pki._index_path.exists():
                pki._read_index()
                if pki.base_url != base_url:
                    raise PkiError(f"the PKI in {pki.directory} serves {pki.base_url}, not {base_url}; "
                                   f"use that URL or a new directory")
                if pki.ca_key_type not in (None, ca_key_type) and not reuse_any_key_type:
                    raise PkiError(f"the PKI in {pki.directory} has {pki.ca_key_type} CAs, not "
                                   f"{ca_key_type}; use a new directory")
                return pki
            pki._index = {"format": _FORMAT, "base_url": base_url, "ca_key_type": ca_key_type,
                          "crl_validity_seconds": int(crl_validity.total_seconds()),
                          "names": {}, "serials": {}, "revoked": {}, "crl_number": {},
                          "crl_pinned": {}}
            now = pki._clock()
            pki._issue_unlocked(ROOT, common_name="Test Root CA", organization="SMEV Gateway Test PKI",
                                key_type=ca_key_type, issuer="self", ca=True, path_length=None,
                                key_usage=("key_cert_sign", "crl_sign"), revocation_info=False,
                                not_before=now - timedelta(hours=1), not_after=now + timedelta(days=3650))
            pki._issue_unlocked(INTERMEDIATE, common_name="Test Issuing CA",
                                organization="SMEV Gateway Test PKI", key_type=ca_key_type,
                                issuer=ROOT, ca=True, path_length=0,
                                key_usage=("key_cert_sign", "crl_sign", "digital_signature"),
                                not_before=now - timedelta(hours=1), not_after=now + timedelta(days=1825))
            for issuer in (ROOT, INTERMEDIATE):
                pki._publish_crl_unlocked(issuer)
            pki._write_index()
        return pki

    @classmethod
    def load(cls, directory: Path, *, clock: Clock | None = None) -> Pki:
        """Open an existing PKI; :class:`FileNotFoundError` if none was created there yet."""
        pki = cls(directory, clock=clock)
        if not pki._index_path.exists():
            raise FileNotFoundError(f"no PKI in {pki.directory} (run init first)")
        pki._read_index()
        return pki

    # ----------------------------------------------------------------- properties
    @property
    def base_url(self) -> str:
        return self._index["base_url"]

    @property
    def ca_key_type(self) -> str | None:
        """The CAs' key type (None for a PKI made before it was recorded)."""
        return self._index.get("ca_key_type")

    @property
    def crl_validity(self) -> timedelta:
        return timedelta(seconds=self._index["crl_validity_seconds"])

    @property
    def _index_path(self) -> Path:
        return self.directory / "index.json"

    def cert_path(self, name: str) -> Path:
        return self.directory / "certs" / f"{_check_name(name)}.pem"

    def key_path(self, name: str) -> Path:
        return self.directory / "keys" / f"{_check_name(name)}.key"

    def crl_path(self, issuer_name: str) -> Path:
        return self.directory / "crl" / f"{_check_name(issuer_name)}.crl"

    def crl_url(self, issuer_name: str) -> str:
        return f"{self.base_url}/crl/{issuer_name}.crl"

    def ca_cert_url(self, issuer_name: str) -> str:
        return f"{self.base_url}/certs/{issuer_name}.cer"

    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/ocsp"

    # ----------------------------------------------------------------- index handling
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive across processes and threads; the index is re-read (unconditionally: a
        stat can repeat after an atomic replace) so no other writer's change is lost."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if self._index_path.exists():
                    self._read_index(force=True)
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _stat(self) -> tuple:
        st = self._index_path.stat()
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _read_index(self, *, force: bool = False) -> None:
        stat = self._stat()
        if stat == self._index_stat and not force:
            return
        index = json.loads(self._index_path.read_text(encoding="utf-8"))
        if index.get("format") != _FORMAT:
            raise PkiError(f"unsupported PKI index format {index.get('format')!r}")
        self._index, self._index_stat = index, stat

    def _write_index(self) -> None:
        data = json.dumps(self._index, indent=1, sort_keys=True, ensure_ascii=False).encode()
        _atomic_write(self._index_path, data)
        self._index_stat = self._stat()

    def refresh(self) -> bool:
        """Re-read the index if another process changed it; True if it did."""
        before = self._index_stat
        self._read_index()
        return before != self._index_stat

    # ----------------------------------------------------------------- lookups
    def names(self) -> tuple[str, ...]:
        return tuple(self._index["names"])

    def _serial_of(self, name: str) -> str:
        try:
            return self._index["names"][name]
        except KeyError:
            raise PkiError(f"no certificate named {name!r}") from None

    def certificate(self, name: str) -> x509.Certificate:
        serial = self._serial_of(_check_name(name))
        cached = self._certs.get(name)
        if cached and cached[0] == serial:
            return cached[1]
        cert = x509.load_pem_x509_certificate(self.cert_path(name).read_bytes())
        self._certs[name] = (format(cert.serial_number, "x"), cert)
        return cert

    def private_key(self, name: str) -> PrivateKey:
        serial = self._serial_of(_check_name(name))
        cached = self._keys.get(name)
        if cached and cached[0] == serial:
            return cached[1]
        key = load_private_key(self.key_path(name).read_bytes())
        self._keys[name] = (serial, key)  # type: ignore[assignment]
        return key  # type: ignore[return-value]

    def issued(self, name: str) -> IssuedCertificate:
        return IssuedCertificate(name, self.certificate(name), self.private_key(name),
                                 self.cert_path(name), self.key_path(name))

    def is_ca(self, name: str) -> bool:
        return bool(self._index["serials"][self._serial_of(name)]["ca"])

    def trust_anchors(self) -> tuple[x509.Certificate, ...]:
        return (self.certificate(ROOT),)

    def intermediates(self) -> tuple[x509.Certificate, ...]:
        """Every CA certificate but the root, issued-first (by default just the issuing CA)."""
        return tuple(self.certificate(n) for n in self._index["names"] if n != ROOT and self.is_ca(n))

    # ----------------------------------------------------------------- issuing
    def issue(self, name: str, *, common_name: str, organization: str | None = None,
              inn: str | None = None, inn_le: str | None = None, ogrn: str | None = None,
              snils: str | None = None, title: str | None = None, key_type: str = "rsa2048",
              not_before: datetime | None = None, not_after: datetime | None = None,
              key_usage: Sequence[str] = ("digital_signature", "non_repudiation"),
              extended_key_usage: Sequence[str] = (), issuer: str = INTERMEDIATE,
              hash: str = "sha256", ca: bool = False, path_length: int | None = None,
              crl: bool = True, ocsp: bool = True) -> IssuedCertificate:
        """Issue (or re-issue under the same name) a certificate and store it with its key.

        ``issuer`` is ``"intermediate"``, ``"root"``, ``"self"`` (a self-signed certificate) or the
        name of any other certificate in this PKI (a CA made with ``ca=True`` — or, to make a
        basic-constraints violation, a leaf). ``crl``/``ocsp`` choose which revocation pointers
        the certificate carries, so tests can force one mechanism.
        """
        _check_name(name)
        if name in (ROOT, INTERMEDIATE):
            raise PkiError(f"{name!r} is reserved for the PKI's own CA")
        with self._locked():
            issued = self._issue_unlocked(
                name, common_name=common_name, organization=organization, inn=inn, inn_le=inn_le,
                ogrn=ogrn, snils=snils, title=title, key_type=key_type, not_before=not_before,
                not_after=not_after, key_usage=key_usage, extended_key_usage=extended_key_usage,
                issuer=issuer, hash=hash, ca=ca, path_length=path_length,
                revocation_info=(crl, ocsp))
            if ca:
                self._publish_crl_unlocked(name)
            self._write_index()
        return issued

    def _issue_unlocked(self, name: str, *, common_name: str, organization: str | None = None,
                        inn: str | None = None, inn_le: str | None = None, ogrn: str | None = None,
                        snils: str | None = None, title: str | None = None, key_type: str = "rsa2048",
                        not_before: datetime | None = None, not_after: datetime | None = None,
                        key_usage: Sequence[str] = (), extended_key_usage: Sequence[str] = (),
                        issuer: str = INTERMEDIATE, hash: str = "sha256", ca: bool = False,
                        path_length: int | None = None,
                        revocation_info: bool | tuple[bool, bool] = True) -> IssuedCertificate:
        if hash not in ("sha256", "sha1"):
            raise PkiError(f"hash must be sha256 or sha1, not {hash!r}")
        now = self._clock()
        key = _generate_key(key_type)
        subject = _subject(common_name, organization, title, inn, inn_le, ogrn, snils)
        if issuer == "self":
            issuer_name, issuer_key, issuer_cert = subject, key, None
        else:
            issuer_cert = self.certificate(_check_name(issuer))
            issuer_name, issuer_key = issuer_cert.subject, self.private_key(issuer)
        nb = not_before or now - timedelta(minutes=5)
        na = not_after or now + timedelta(days=365)
        gost_involved = _is_gost(key) or _is_gost(issuer_key)
        if gost_involved and hash != "sha256":
            raise PkiError("GOST certificates are signed with Streebog; hash must be sha256")
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
                   .public_key(_placeholder().public_key() if _is_gost(key) else key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(nb).not_valid_after(na)
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                                  critical=True)
                   .add_extension(_key_identifier(key), critical=False))
        if key_usage:
            builder = builder.add_extension(_key_usage(key_usage), critical=True)
        if extended_key_usage:
            # RFC 3161 2.3: a TSA certificate's only purpose, marked critical
            builder = builder.add_extension(x509.ExtendedKeyUsage(_eku(extended_key_usage)),
                                            critical=tuple(extended_key_usage) == ("time_stamping",))
        if issuer_cert is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    _ski_of(issuer_cert)), critical=False)
            want_crl, want_ocsp = ((revocation_info, revocation_info)
                                   if isinstance(revocation_info, bool) else revocation_info)
            if want_crl:
                builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(self.crl_url(issuer))],
                    relative_name=None, reasons=None, crl_issuer=None)]), critical=False)
            access = [x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                             x509.UniformResourceIdentifier(self.ca_cert_url(issuer)))]
            if want_ocsp:
                access.insert(0, x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                                        x509.UniformResourceIdentifier(self.ocsp_url)))
            builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
        if gost_involved:
            cert = _finish_certificate(builder.sign(_placeholder(), hashes.SHA256()), key,
                                       issuer_key)
        else:
            cert = builder.sign(issuer_key, _sign_hash(issuer_key))
        if hash == "sha1":
            cert = _resign_sha1(cert, issuer_key)

        serial = format(cert.serial_number, "x")
        _atomic_write(self.key_path(name), _key_pem(key), mode=0o600)
        os.chmod(self.key_path(name).parent, 0o700)
        _atomic_write(self.cert_path(name), _pem(cert))
        self._index["names"][name] = serial
        self._index["serials"][serial] = {
            "name": name, "issuer": issuer if issuer != "self" else name, "ca": ca,
            "not_after": _iso(na), "subject": subject.rfc4514_string()}
        self._certs[name] = (serial, cert)
        self._keys[name] = (serial, key)
        return IssuedCertificate(name, cert, key, self.cert_path(name), self.key_path(name))

    # ----------------------------------------------------------------- revocation
    def revoke(self, name_or_serial: str | int, reason: str = "key_compromise",
               at: datetime | None = None) -> int:
        """Revoke by name (its latest certificate) or serial; regenerate the issuer's CRL.

        Returns the revoked serial. Revoking the root is refused: nothing could publish that.
        """
        if reason not in REVOCATION_REASONS:
            raise PkiError(f"unknown revocation reason {reason!r}; one of {REVOCATION_REASONS}")
        with self._locked():
            if isinstance(name_or_serial, int):
                serial = format(name_or_serial, "x")
                if serial not in self._index["serials"]:
                    raise PkiError(f"no certificate with serial {name_or_serial:x}")
            else:
                serial = self._serial_of(name_or_serial)
            record = self._index["serials"][serial]
            if record["issuer"] == record["name"]:
                raise PkiError(f"{record['name']!r} is self-signed: no issuer can revoke it")
            when = at or self._clock()
            self._index["revoked"][serial] = {"at": _iso(when), "reason": reason}
            self._index["crl_pinned"].pop(record["issuer"], None)
            self._publish_crl_unlocked(record["issuer"])
            self._write_index()
        return int(serial, 16)

    def revocation(self, serial: int) -> tuple[datetime, str] | None:
        """(time, reason) if the serial is revoked, else None."""
        entry = self._index["revoked"].get(format(serial, "x"))
        if entry is None:
            return None
        return datetime.fromisoformat(entry["at"]), entry["reason"]

    # ----------------------------------------------------------------- CRL
    def publish_crl(self, issuer_name: str, *, this_update: datetime | None = None,
                    next_update: datetime | None = None) -> bytes:
        """Regenerate an issuer's CRL now. Explicit times pin it (no automatic refresh) until the
        next revocation or a publish without times: that is how tests make a stale CRL."""
        with self._locked():
            pinned = this_update is not None or next_update is not None
            if pinned:
                self._index["crl_pinned"][issuer_name] = True
            else:
                self._index["crl_pinned"].pop(issuer_name, None)
            der = self._publish_crl_unlocked(issuer_name, this_update=this_update,
                                              next_update=next_update)
            self._write_index()
        return der

    def _publish_crl_unlocked(self, issuer_name: str, *, this_update: datetime | None = None,
                              next_update: datetime | None = None) -> bytes:
        serial = self._serial_of(issuer_name)
        if not self._index["serials"][serial]["ca"]:
            raise PkiError(f"{issuer_name!r} is not a CA")
        issuer_cert, issuer_key = self.certificate(issuer_name), self.private_key(issuer_name)
        now = this_update or self._clock()
        number = self._index["crl_number"].get(issuer_name, 0) + 1
        self._index["crl_number"][issuer_name] = number
        builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer_cert.subject)
                   .last_update(now).next_update(next_update or now + self.crl_validity)
                   .add_extension(x509.CRLNumber(number), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                       _ski_of(issuer_cert)), critical=False))
        for rev_serial, entry in self._index["revoked"].items():
            record = self._index["serials"].get(rev_serial)
            if record is None or record["issuer"] != issuer_name:
                continue
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(int(rev_serial, 16))
                .revocation_date(datetime.fromisoformat(entry["at"]))
                .add_extension(x509.CRLReason(x509.ReasonFlags[entry["reason"]]), critical=False)
                .build())
        if _is_gost(issuer_key):
            der = _finish_crl(builder.sign(_placeholder(), hashes.SHA256())
                              .public_bytes(serialization.Encoding.DER), issuer_key)
        else:
            der = builder.sign(issuer_key, _sign_hash(issuer_key)).public_bytes(
                serialization.Encoding.DER)
        _atomic_write(self.crl_path(issuer_name), der)
        return der

    def crl_der(self, issuer_name: str) -> bytes:
        """The issuer's current CRL (DER). Like a real CA, a fresh one is published once half of
        the current one's validity has passed, unless a test pinned it with :meth:`publish_crl`."""
        self._read_index()
        self._serial_of(_check_name(issuer_name))
        path = self.crl_path(issuer_name)
        if path.exists():
            der = path.read_bytes()
            if self._index["crl_pinned"].get(issuer_name):
                return der
            crl = x509.load_der_x509_crl(der)
            nxt = crl.next_update_utc
            half = crl.last_update_utc + (nxt - crl.last_update_utc) / 2 if nxt else None
            if half is not None and self._clock() < half:
                return der
        with self._locked():
            der = self._publish_crl_unlocked(issuer_name)
            self._write_index()
        return der

    # ----------------------------------------------------------------- OCSP
    def _find_issuer(self, name_hash: bytes, key_hash: bytes, algo: str) -> str | None:
        for name in self._index["names"]:
            if not self.is_ca(name):
                continue
            cert = self.certificate(name)
            subject_der = cert.subject.public_bytes()
            key_bits = _public_key_bits(cert)
            if (hashlib.new(algo, subject_der).digest() == name_hash
                    and hashlib.new(algo, key_bits).digest() == key_hash):
                return name
        return None

    def ocsp_response(self, request_der: bytes) -> bytes:
        """Answer an OCSP request (DER) for any CA of this PKI, signed by that CA itself.

        good / revoked / unknown per the index; ``unauthorized`` for an issuer this PKI does not
        know; ``malformedRequest`` for garbage. The request's nonce is echoed.
        """
        self._read_index()
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            algo = request.hash_algorithm.name
            if algo not in ("sha1", "sha256", "sha384", "sha512"):
                raise ValueError(algo)
        except Exception:  # noqa: BLE001 - any parse failure is the client's problem
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(serialization.Encoding.DER)
        issuer = self._find_issuer(request.issuer_name_hash, request.issuer_key_hash, algo)
        if issuer is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
        serial = format(request.serial_number, "x")
        record = self._index["serials"].get(serial)
        revoked = self._index["revoked"].get(serial)
        now = self._clock()
        rev_time = rev_reason = None
        if record is None or record["issuer"] != issuer:
            status = ocsp.OCSPCertStatus.UNKNOWN
        elif revoked is not None:
            status = ocsp.OCSPCertStatus.REVOKED
            rev_time = datetime.fromisoformat(revoked["at"])
            rev_reason = x509.ReasonFlags[revoked["reason"]]
        else:
            status = ocsp.OCSPCertStatus.GOOD
        issuer_cert, issuer_key = self.certificate(issuer), self.private_key(issuer)
        if _is_gost(issuer_key):
            return _gost_ocsp_response(
                request_der, issuer_cert, issuer_key, status.name.lower(), now,
                (rev_time, rev_reason.name) if rev_time is not None else None)
        encoding = ocsp.OCSPResponderEncoding.HASH
        builder = (ocsp.OCSPResponseBuilder()
                   .add_response_by_hash(request.issuer_name_hash, request.issuer_key_hash,
                                         request.serial_number, request.hash_algorithm, status,
                                         now, now + _OCSP_VALIDITY, rev_time, rev_reason)
                   .responder_id(encoding, issuer_cert))
        with contextlib.suppress(x509.ExtensionNotFound):
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
            builder = builder.add_extension(nonce, critical=False)
        return builder.sign(issuer_key, _sign_hash(issuer_key)).public_bytes(serialization.Encoding.DER)
