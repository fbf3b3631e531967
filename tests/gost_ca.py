"""A GOST R 34.10-2012 test CA run entirely by the ``openssl`` command with the GOST engine
(``openssl req``, ``ca``, ``ocsp``), served over real HTTP on 127.0.0.1: root -> issuing CA ->
leaves, a CRL per CA, an OCSP responder for the issuing CA.

Using the command rather than signing.gost keeps the CA independent of the code under test:
every GOST signature the validator checks (certificates, CRLs, OCSP responses) was made by
OpenSSL's own ``ca``/``ocsp`` code. Keys are generated per test session into a temporary
folder; none is committed.
"""
from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509

from gost_cli import CONF, openssl

_CA_CONF = CONF + """
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/cert.pem
private_key = $dir/key.pem
default_md = {md}
default_days = 365
default_crl_days = 1
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:{base}/crl/{name}.crl
[ v3_leaf ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = clientAuth, emailProtection
certificatePolicies = 1.2.643.100.113.1, 1.2.643.100.113.2
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:{base}/crl/{name}.crl
authorityInfoAccess = OCSP;URI:{base}/ocsp/{name}
[ v3_leaf_crl_only ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:{base}/crl/{name}.crl
[ v3_leaf_encipherment_only ]
basicConstraints = critical, CA:false
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:{base}/crl/{name}.crl
authorityInfoAccess = OCSP;URI:{base}/ocsp/{name}
"""


def _time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y%m%d%H%M%SZ")


@dataclasses.dataclass
class Issued:
    name: str
    certificate: x509.Certificate
    pem_path: Path
    key_path: Path


class OpensslCa:
    """One CA directory driven by ``openssl ca``."""

    def __init__(self, folder: Path, name: str, base_url: str, *, md: str = "md_gost12_256"):
        self.folder, self.name = folder, name
        (folder / "new").mkdir(parents=True)
        (folder / "index.txt").write_text("")
        (folder / "serial").write_text("1000\n")
        (folder / "crlnumber").write_text("1000\n")
        self.conf = folder / "ca.cnf"
        self.conf.write_text(_CA_CONF.format(dir=folder, md=md, base=base_url, name=name))
        self.lock = threading.Lock()
        self.certificate: x509.Certificate | None = None

    def sign(self, csr: Path, out: Path, extensions: str, *, not_before: datetime,
             not_after: datetime, md: str | None = None) -> x509.Certificate:
        with self.lock:
            openssl("ca", "-batch", "-config", self.conf, "-extensions", extensions,
                    "-preserveDN", "-notext", "-startdate", _time(not_before),
                    "-enddate", _time(not_after), *(["-md", md] if md else []),
                    "-in", csr, "-out", out)
        return x509.load_pem_x509_certificate(out.read_bytes())

    def revoke(self, pem_path: Path) -> None:
        with self.lock:
            openssl("ca", "-config", self.conf, "-revoke", pem_path, "-crl_reason",
                    "keyCompromise")

    def crl(self) -> bytes:
        with self.lock:
            crl = openssl("ca", "-config", self.conf, "-gencrl", "-crlhours", "24")
        return openssl("crl", "-outform", "DER", input=crl)

    def ocsp(self, request: bytes) -> bytes:
        with self.lock:
            request_path = self.folder / "request.der"
            request_path.write_bytes(request)
            return openssl("ocsp", "-index", self.folder / "index.txt",
                           "-CA", self.folder / "cert.pem", "-rsigner", self.folder / "cert.pem",
                           "-rkey", self.folder / "key.pem", "-reqin", request_path,
                           "-respout", "/dev/stdout", "-ndays", "1")


class GostTestPki:
    """root (self-signed) -> issuing CA (pathLen 0) -> leaves; CRLs and OCSP over HTTP."""

    def __init__(self, folder: Path, *, root_key: str = "gost2012_512",
                 issuing_key: str = "gost2012_256"):
        self.folder = folder
        self.server = _serve(self)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.offline = False
        self.requests = 0
        self.cas: dict[str, OpensslCa] = {}
        self.root = self._new_ca("root", root_key, "A", md="md_gost12_512")
        self.root.certificate = self._self_signed(self.root, "GOST test root CA")
        self.issuing = self._new_ca("issuing", issuing_key, "TCB")
        self.issuing.certificate = self._subordinate(self.root, self.issuing,
                                                     "GOST test issuing CA")

    # ------------------------------------------------------------------ building
    def _new_ca(self, name: str, key_type: str, paramset: str, md: str = "md_gost12_256"
                ) -> OpensslCa:
        ca = OpensslCa(self.folder / name, name, self.url, md=md)
        self._key(ca.folder / "key.pem", key_type, paramset)
        self.cas[name] = ca
        return ca

    @staticmethod
    def _key(path: Path, key_type: str, paramset: str) -> None:
        path.write_bytes(openssl("genpkey", "-algorithm", key_type, "-pkeyopt",
                                 f"paramset:{paramset}"))
        path.chmod(0o600)

    def _self_signed(self, ca: OpensslCa, common_name: str) -> x509.Certificate:
        out = ca.folder / "cert.pem"
        out.write_bytes(openssl(
            "req", "-x509", "-new", "-key", ca.folder / "key.pem", "-subj",
            f"/CN={common_name}/O=Test/C=RU", "-days", "3650", "-md_gost12_512",
            "-addext", "basicConstraints=critical,CA:true",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign"))
        return x509.load_pem_x509_certificate(out.read_bytes())

    def _csr(self, key: Path, subject: str) -> Path:
        csr = key.with_suffix(".csr")
        csr.write_bytes(openssl("req", "-new", "-utf8", "-key", key, "-subj", subject))
        return csr

    def _subordinate(self, parent: OpensslCa, child: OpensslCa, common_name: str,
                     **times) -> x509.Certificate:
        now = datetime.now(timezone.utc)
        csr = self._csr(child.folder / "key.pem", f"/CN={common_name}/O=Test/C=RU")
        return parent.sign(csr, child.folder / "cert.pem", "v3_ca",
                           not_before=times.get("not_before", now - timedelta(days=1)),
                           not_after=times.get("not_after", now + timedelta(days=1000)))

    def issue(self, name: str, *, issuer: str = "issuing", key_type: str = "gost2012_256",
              paramset: str = "XA", extensions: str = "v3_leaf",
              not_before: datetime | None = None, not_after: datetime | None = None,
              md: str | None = None,
              subject: str = "/CN={name}/O=ООО Ромашка/INN=007701234567/OGRN=1027700132195"
                             "/SNILS=11223344595") -> Issued:
        now = datetime.now(timezone.utc)
        folder = self.folder / "leaves"
        folder.mkdir(exist_ok=True)
        key = folder / f"{name}.key"
        self._key(key, key_type, paramset)
        csr = self._csr(key, subject.format(name=name))
        out = folder / f"{name}.pem"
        cert = self.cas[issuer].sign(csr, out, extensions,
                                     not_before=not_before or now - timedelta(hours=1),
                                     not_after=not_after or now + timedelta(days=365), md=md)
        return Issued(name, cert, out, key)

    def issue_ca(self, name: str, *, key_type: str, paramset: str, md: str) -> OpensslCa:
        """Another issuing CA under the root (e.g. one still on GOST R 34.10-2001)."""
        ca = self._new_ca(name, key_type, paramset, md=md)
        ca.certificate = self._subordinate(self.root, ca, f"GOST test CA {name}")
        return ca

    def revoke(self, issued: Issued, issuer: str = "issuing") -> None:
        self.cas[issuer].revoke(issued.pem_path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ HTTP
    def __call__(self, environ, start_response):
        self.requests += 1
        path = environ.get("PATH_INFO", "")
        if self.offline:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"offline"]
        try:
            if environ["REQUEST_METHOD"] == "GET" and path.startswith("/crl/"):
                body, kind = self.cas[path[5:-4]].crl(), "application/pkix-crl"
            elif environ["REQUEST_METHOD"] == "POST" and path.startswith("/ocsp/"):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                request = environ["wsgi.input"].read(min(length, 65536))
                body, kind = self.cas[path[6:]].ocsp(request), "application/ocsp-response"
            else:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"not found"]
        except KeyError:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such CA"]
        start_response("200 OK", [("Content-Type", kind), ("Content-Length", str(len(body)))])
        return [body]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def _serve(app) -> _Server:
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
