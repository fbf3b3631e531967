"""The certification authority stub: publishes the test PKI's CRLs and CA certificates, answers OCSP.

Plain WSGI over a :class:`registry_stubs.pki.Pki` directory::

    GET  /crl/<issuer>.crl    DER CRL          application/pkix-crl
    GET  /certs/<issuer>.cer  DER certificate  application/pkix-cert   (CA certificates only)
    POST /ocsp                OCSP request  →  application/ocsp-response
    GET  /health              JSON

The PKI is opened lazily and its index re-read on every request, so the server may start before
``Pki.init`` (tests bind port 0 first, then create the PKI with the port they got) and a
``revoke`` made by another process shows up at once.
"""
from __future__ import annotations

import collections
import json
import socketserver
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography.hazmat.primitives.serialization import Encoding

from registry_stubs.pki import Pki, PkiError

__all__ = ["CaApp", "CaServer", "make_app", "serve"]

MAX_OCSP_REQUEST = 64 * 1024

StartResponse = Callable[..., object]


class CaApp:
    """The WSGI application. ``offline = True`` makes every endpoint but /health answer 503
    (fault injection: an unreachable CA, for revocation soft-/hard-fail tests)."""

    def __init__(self, pki_dir: Path, *, clock: Callable[[], datetime] | None = None):
        self.pki_dir = Path(pki_dir)
        self.clock = clock
        self.offline = False
        self.requests: collections.Counter[str] = collections.Counter()
        self._pki: Pki | None = None
        self._lock = threading.Lock()

    def _open(self) -> Pki | None:
        if self._pki is None:
            try:
                self._pki = Pki.load(self.pki_dir, clock=self.clock)
            except FileNotFoundError:
                return None
        else:
            self._pki.refresh()
        return self._pki

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        try:
            status, ctype, body = self._dispatch(method, path, environ)
        except PkiError as exc:
            status, ctype, body = "404 Not Found", "text/plain; charset=utf-8", f"{exc}\n".encode()
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                ("Cache-Control", "no-cache")])
        return [body]

    def _dispatch(self, method: str, path: str, environ: dict) -> tuple[str, str, bytes]:
        if path == "/health" and method == "GET":
            with self._lock:
                ready = self._open() is not None
            body = json.dumps({"status": "ok" if ready and not self.offline else "unavailable",
                               "pki": ready, "offline": self.offline}).encode()
            return "200 OK", "application/json", body
        if self.offline:
            return "503 Service Unavailable", "text/plain; charset=utf-8", b"offline\n"
        with self._lock:
            pki = self._open()
            if pki is None:
                return "503 Service Unavailable", "text/plain; charset=utf-8", b"no PKI yet\n"
            if method == "GET" and path.startswith("/crl/") and path.endswith(".crl"):
                self.requests["crl"] += 1
                return "200 OK", "application/pkix-crl", pki.crl_der(path[len("/crl/"):-len(".crl")])
            if method == "GET" and path.startswith("/certs/") and path.endswith(".cer"):
                name = path[len("/certs/"):-len(".cer")]
                pki.certificate(name)  # raises PkiError (404) for unknown names
                if not pki.is_ca(name):
                    return "404 Not Found", "text/plain; charset=utf-8", b"not a CA certificate\n"
                self.requests["cert"] += 1
                return "200 OK", "application/pkix-cert", pki.certificate(name).public_bytes(Encoding.DER)
            if path == "/ocsp" and method == "POST":
                self.requests["ocsp"] += 1
                try:
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                except ValueError:
                    length = -1
                if not 0 < length <= MAX_OCSP_REQUEST:
                    return "413 Content Too Large", "text/plain; charset=utf-8", b"bad length\n"
                request = environ["wsgi.input"].read(length)
                return "200 OK", "application/ocsp-response", pki.ocsp_response(request)
        return "404 Not Found", "text/plain; charset=utf-8", b"not found\n"


def make_app(pki_dir: Path, *, clock: Callable[[], datetime] | None = None) -> CaApp:
    return CaApp(pki_dir, clock=clock)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


class CaServer(socketserver.ThreadingMixIn, WSGIServer):
    """wsgiref server, one thread per request; ``url``/``stop`` for tests and the CLI."""

    daemon_threads = True
    app: CaApp
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def serve(pki_dir: Path, host: str = "127.0.0.1", port: int = 0, *,
          clock: Callable[[], datetime] | None = None) -> CaServer:
    """Start the CA stub in a background (daemon) thread and return the running server.

    ``port=0`` binds a free port: read it back from ``server.server_port`` (or ``server.url``) and
    create the PKI with that base URL; the app opens the PKI on first use.
    """
    app = make_app(pki_dir, clock=clock)
    server = make_server(host, port, app, server_class=CaServer, handler_class=_QuietHandler)
    server.app = app
    server.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                     name=f"ca-stub:{server.server_port}", daemon=True)
    server.thread.start()
    return server
