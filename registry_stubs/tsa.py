"""A time-stamping authority stub (RFC 3161): ``POST /tsr`` with a TimeStampReq answers a
TimeStampResp whose token is a CMS SignedData over a TSTInfo, signed with an RSA, ECDSA or
GOST R 34.10-2012 key of the demo PKI (registry_stubs/pki.py).

A stand-in for a qualified TSA, beside the CA stub (ca.py): the gateway asks it for a token
over a hash and keeps the token; ``signing.timestamp.verify_token`` checks it. The token
carries the signer's certificate, a signingCertificateV2 attribute (RFC 5816) and the request's
nonce; the signature covers the signed attributes, as ``openssl ts -verify`` expects (tests
cross-check with that command, GOST included).

    POST /tsr     application/timestamp-query  →  application/timestamp-reply
    GET  /health  JSON
"""
from __future__ import annotations

import hashlib
import itertools
import json
import socketserver
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from signing import gost

__all__ = ["POLICY", "TimestampAuthority", "TsaServer", "serve"]

#: The stub's TSA policy: an OID under the ITU "example" arc (2.999), never a real policy.
POLICY = "2.999.3161.1"
MAX_REQUEST = 16 * 1024

_GOST_CMS = {  # engine key type -> (digest OID, engine digest, signature OID as openssl cms writes)
    gost.gost_openssl.KEY_2012_256: (gost.DIGEST_2012_256, gost.gost_openssl.DIGEST_256,
                                     gost.KEY_2012_256),
    gost.gost_openssl.KEY_2012_512: (gost.DIGEST_2012_512, gost.gost_openssl.DIGEST_512,
                                     gost.KEY_2012_512),
}


class TimestampAuthority:
    """Issues tokens with one key and certificate (``chain``: the issuing CAs, carried along)."""

    def __init__(self, key, certificate: x509.Certificate, chain: Iterable[x509.Certificate] = (),
                 *, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.key, self.certificate, self.chain = key, certificate, tuple(chain)
        self.clock = clock
        self._serials = itertools.count(int(clock().timestamp() * 1000) << 16)
        self._lock = threading.Lock()

    def _digest(self, data: bytes) -> tuple[str, bytes]:
        """(digest algorithm OID or name, digest) the signer uses for its own attributes."""
        key_type = gost.key_type_of(self.key)
        if key_type is not None:
            oid, name, _sig = _GOST_CMS[key_type]
            return oid, gost.digest(name, data)
        if isinstance(self.key, ec.EllipticCurvePrivateKey) and self.key.curve.key_size >= 384:
            return "sha384", hashlib.sha384(data).digest()
        return "sha256", hashlib.sha256(data).digest()

    def _sign(self, data: bytes) -> tuple[str, bytes]:
        key_type = gost.key_type_of(self.key)
        if key_type is not None:
            _oid, name, sig_oid = _GOST_CMS[key_type]
            return sig_oid, self.key.sign(data, name)       # s||r, as openssl cms writes it
        algorithm = hashes.SHA384() if (isinstance(self.key, ec.EllipticCurvePrivateKey)
                                        and self.key.curve.key_size >= 384) else hashes.SHA256()
        if isinstance(self.key, rsa.RSAPrivateKey):
            return "rsassa_pkcs1v15", self.key.sign(data, padding.PKCS1v15(), algorithm)
        return f"{algorithm.name}_ecdsa", self.key.sign(data, ec.ECDSA(algorithm))

    def respond(self, request_der: bytes) -> bytes:
        """A TimeStampResp (DER): granted with a token, or rejected (badDataFormat) for garbage."""
        try:
            request = tsp.TimeStampReq.load(request_der)
            imprint = request["message_imprint"]
            imprint["hash_algorithm"]["algorithm"].dotted  # noqa: B018 - forces the parse
            nonce = request["nonce"].native
            request["version"].native  # noqa: B018
        except (ValueError, TypeError, KeyError):
            # TimeStampResp holding only its PKIStatusInfo (asn1crypto insists on a token)
            status = tsp.PKIStatusInfo({"status": "rejection",
                                        "fail_info": tsp.PKIFailureInfo({"bad_data_format"})}).dump()
            return core.Sequence.load(b"\x30" + bytes([len(status)]) + status).dump()
        with self._lock:
            serial = next(self._serials)
        info = {"version": "v1", "policy": POLICY,
                "message_imprint": tsp.MessageImprint.load(imprint.dump()),
                "serial_number": serial, "gen_time": self.clock().replace(microsecond=0),
                "accuracy": {"seconds": 1}}
        if nonce is not None:
            info["nonce"] = nonce
        return tsp.TimeStampResp({"status": {"status": "granted"},
                                  "time_stamp_token": self._token(tsp.TSTInfo(info))}).dump()

    def _token(self, info: tsp.TSTInfo) -> cms.ContentInfo:
        econtent = info.dump()
        cert = asn1_x509.Certificate.load(self.certificate.public_bytes(Encoding.DER))
        digest_algorithm, content_digest = self._digest(econtent)
        attributes = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [content_digest]},
            # RFC 5816: which certificate signed (SHA-256 of it, the default hash)
            {"type": "signing_certificate_v2", "values": [{"certs": [
                {"cert_hash": hashlib.sha256(cert.dump()).digest()}]}]},
        ])
        signature_algorithm, signature = self._sign(attributes.dump())
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier(name="issuer_and_serial_number", value={
                "issuer": cert.issuer, "serial_number": cert.serial_number}),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest_algorithm}),
            "signed_attrs": attributes,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": signature_algorithm}),
            "signature": signature})
        certificates = [cert] + [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER))
                                 for c in self.chain]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData({
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest_algorithm})],
            "encap_content_info": {"content_type": "tst_info",
                                   "content": core.ParsableOctetString(econtent)},
            "certificates": certificates,
            "signer_infos": [signer]})})


class TsaApp:
    """The WSGI face; ``offline = True`` answers 503 (an unreachable TSA, for tests)."""

    def __init__(self, authority: TimestampAuthority):
        self.authority = authority
        self.offline = False
        self.issued = 0

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if path == "/health":
            status, ctype, body = "200 OK", "application/json", json.dumps({"status": "ok"}).encode()
        elif self.offline:
            status, ctype, body = "503 Service Unavailable", "text/plain", b"offline\n"
        elif path == "/tsr" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_REQUEST:
                status, ctype, body = "413 Payload Too Large", "text/plain", b"too large\n"
            else:
                body = self.authority.respond(environ["wsgi.input"].read(length))
                status, ctype = "200 OK", "application/timestamp-reply"
                self.issued += 1
        else:
            status, ctype, body = "404 Not Found", "text/plain", b"not found\n"
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
        return [body]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


class TsaServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    app: TsaApp

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/tsr"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def serve(authority: TimestampAuthority, host: str = "127.0.0.1", port: int = 0) -> TsaServer:
    """Run the stub in a daemon thread; ``server.url`` is the address to POST requests to."""
    app = TsaApp(authority)
    server = make_server(host, port, app, server_class=TsaServer, handler_class=_QuietHandler)
    server.app = app
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     name=f"tsa-stub:{server.server_port}", daemon=True).start()
    return server
