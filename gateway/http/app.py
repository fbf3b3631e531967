"""The HTTP application (plain WSGI, contract first).

Routes:
  POST /ws              SOAP 1.1 (text/xml) or SOAP 1.2 (application/soap+xml) requests
  GET  /               an index page with the links below
  GET  /ws?wsdl         the WSDL of wsdl/ with soap:address set to GATEWAY_PUBLIC_URL (or host:port)
  GET  /ws/xsd/<file>   the XSDs, served as they are in xsd/
  GET  /ws/xsd/         every schema with its version and SHA-256 (JSON)
  GET  /docs/schemas/   the HTML reference of the business schemas (index, <schema>.html)
  GET  /health          liveness and database check
  GET  /health/live, /health/ready   process alive; database, registers and CA reachable
  GET  /metrics         Prometheus metrics (gateway/http/metrics.py)
  GET  /api/v1/organisations/{inn}/applications   history of applications (JSON or CSV)
  POST /api/v1/validate                           the QA kit's validator (JSON report per file)
  POST /api/v1/messages                           a business request as JWS-signed JSON (SendRequest over REST)
  POST /api/v1/responses, /api/v1/acks            GetResponse and Ack over REST (JWS-signed JSON)
  GET  /api/v1/openapi.yaml                       its OpenAPI description
  /api/v1/session, /api/v1/keys, /api/v1/webhooks  login, API keys, webhooks (http/admin_api.py)
  /console/...          the operator and QA web console (gateway/console/, docs/console.md)
The same app runs under gunicorn (production, several workers) and in-process for tests.
"""
from __future__ import annotations

import html
import json
import logging
import re
import time
from pathlib import Path
from typing import Callable, Iterable

from gateway import faults
from gateway.console.routes import Console
from gateway.http import admin_api, health, history, metrics, validate
from gateway.qa import reference
from gateway.config import CONTRACT_DIRS, ROOT, Settings
from gateway.pipeline.dispatch import Pipeline
from gateway.qa import schemas
from gateway.qa.engine import Validator
from gateway.storage.db import ping
from signing.gost import backend
from gateway.http import mtom, mtom_answer

log = logging.getLogger("gateway.http.app")

WSDL_FILE = "smev-message-exchange-service-1.1.wsdl"
_HISTORY = re.compile(r"^/api/v1/organisations/([^/]+)/applications/?$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(xsd|wsdl)$")
_SOAP_TYPES = {"text/xml": faults.SOAP11, "application/soap+xml": faults.SOAP12}
_JOSE_TYPES = {"application/jose": False, "application/jose+json": True}  # JSON serialization?
_REST_OPERATIONS = {"/api/v1/messages": "RestSendRequest", "/api/v1/responses": "RestGetResponse",
                    "/api/v1/acks": "RestAck"}

StartResponse = Callable[[str, list[tuple[str, str]]], object]
_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 301: "Moved Permanently", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Payload Too Large", 415: "Unsupported Media Type", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _reply(start_response: StartResponse, status: int, content_type: str, body: bytes,
           extra: Iterable[tuple[str, str]] = ()) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    headers.extend(extra)
    start_response(f"{status} {_REASONS.get(status, '')}", headers)
    return [body]


class GatewayApp:
    def __init__(self, settings: Settings, pipeline: Pipeline, engine):
        self.settings = settings
        self.pipeline = pipeline
        self.engine = engine
        self.contract = {}
        self.openapi = (ROOT / "docs" / "openapi.yaml").read_bytes()
        # the gateway's own XSDs and verifier: the same verdicts as POST /ws, nothing stored
        self.validator = Validator(pipeline.services.schemas, pipeline.services.verifier)
        self.admin = admin_api.AdminApi(engine, settings)
        self.console = Console(engine, settings, self.validator, pipeline.services.clock)
        for kind, directory in CONTRACT_DIRS.items():
            for path in Path(directory).glob(f"*.{kind}"):
                self.contract[(kind, path.name)] = path.read_bytes()
        # clients (zeep, node-soap, gSOAP) post where the WSDL says: GATEWAY_PUBLIC_URL behind
        # a proxy, else this gateway's own host and port (the file says 127.0.0.1:8080)
        self.contract[("wsdl", WSDL_FILE)] = with_address(self.contract[("wsdl", WSDL_FILE)],
                                                          advertised_endpoint(settings))
        self.schema_index = json.dumps(schemas.listing(), indent=2).encode()

    def __call__(self, environ, start_response: StartResponse):
        """Route; whatever escapes a route becomes a SOAP fault (or a JSON 503), never a bare
        500 page (a client that went away mid-body, a full disk, a database that is down)."""
        try:
            return self._route(environ, start_response)
        except Exception:
            log.exception("unhandled failure in %s %s", environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO"))
            if (environ.get("PATH_INFO") or "").startswith("/api/"):
                return _reply(start_response, 503, "application/json",
                              b'{"error": "temporarily unavailable; retry later"}')
            return _reply(start_response, *faults.render(RuntimeError()))

    def _route(self, environ, start_response: StartResponse):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        query = environ.get("QUERY_STRING", "")
        if path in ("/ws", "/ws/"):
            if method == "POST":
                return self._soap(environ, start_response)
            if method in ("GET", "HEAD") and query.lower() == "wsdl":
                if path == "/ws/":  # the WSDL's relative imports resolve only from /ws?wsdl
                    return _reply(start_response, 301, "text/plain; charset=utf-8",
                                  b"see /ws?wsdl\n", [("Location", "/ws?wsdl")])
                return self._contract(start_response, "wsdl", WSDL_FILE)
            return _reply(start_response, 405, "text/plain; charset=utf-8",
                          b"POST a SOAP envelope here, or GET /ws?wsdl\n", [("Allow", "GET, POST")])
        if path == "/ws/xsd/" and method in ("GET", "HEAD"):
            return _reply(start_response, 200, "application/json", self.schema_index)
        if path.startswith("/ws/xsd/") and method in ("GET", "HEAD"):
            return self._contract(start_response, "xsd", path[len("/ws/xsd/"):])
        if path.startswith("/docs/schemas/") and method in ("GET", "HEAD"):
            return self._schema_reference(start_response, path[len("/docs/schemas/"):])
        if self.console.handles(path):  # the operators' web console (gateway/console/)
            return self.console(environ, start_response)
        if path == "/" and method in ("GET", "HEAD"):
            return _reply(start_response, 200, "text/html; charset=utf-8", _index(self.settings))
        if path == "/health" and method == "GET":
            return self._health(start_response)
        if path == "/health/live" and method in ("GET", "HEAD"):
            return _reply(start_response, 200, "application/json", b'{"status": "alive"}')
        if path == "/health/ready" and method in ("GET", "HEAD"):
            ready, checks = health.readiness(self.engine, self.settings)
            return _reply(start_response, 200 if ready else 503, "application/json",
                          json.dumps({"status": "ready" if ready else "not ready",
                                      "checks": checks}).encode())
        if path == "/metrics" and method in ("GET", "HEAD"):
            content_type, body = metrics.render(self.engine)
            return _reply(start_response, 200, content_type, body)
        if path == "/api/v1/openapi.yaml" and method in ("GET", "HEAD"):
            return _reply(start_response, 200, "application/yaml; charset=utf-8", self.openapi)
        if path == "/api/v1/validate":
            return self._validate(environ, start_response, method)
        if path in _REST_OPERATIONS:
            return self._rest_message(environ, start_response, method, _REST_OPERATIONS[path])
        if self.admin.handles(path):
            return self._admin(environ, start_response, method, path, query)
        match = _HISTORY.match(path)
        if match and method in ("GET", "HEAD"):
            status, content_type, body = history.handle(
                self.engine, match.group(1), query, environ.get("HTTP_AUTHORIZATION"))
            extra = [("WWW-Authenticate", "Bearer")] if status == 401 else []
            if content_type.startswith("text/csv"):
                extra.append(("Content-Disposition",
                              f'attachment; filename="applications-{match.group(1)}.csv"'))
            return _reply(start_response, status, content_type, body, extra)
        if path.startswith("/api/"):  # the REST API speaks JSON, its 404 too (docs/openapi.yaml)
            return _reply(start_response, 404, "application/json", b'{"error": "no such resource"}')
        return _reply(start_response, 404, "text/plain; charset=utf-8", b"not found\n")

    def _validate(self, environ, start_response, method: str):
        if method != "POST":
            return _reply(start_response, 405, "application/json",
                          b'{"error": "POST documents to validate"}', [("Allow", "POST")])
        try:
            body = _read_body(environ, self.settings.max_body_bytes)
        except faults.GatewayFault as fault:
            status = 413 if isinstance(fault, faults.RequestTooLarge) else 411 \
                if isinstance(fault, faults.LengthRequired) else 400
            return _reply(start_response, status, "application/json",
                          json.dumps({"error": fault.description}).encode())
        status, content_type, answer = validate.handle(self.engine, self.settings, self.validator,
                                                       environ, body)
        extra = [("WWW-Authenticate", "Bearer")] if status == 401 else []
        return _reply(start_response, status, content_type, answer, extra)

    def _rest_message(self, environ, start_response, method: str, operation: str):
        """A JWS-signed JSON request (gateway/exchange/rest_request.py): ``application/jose``
        (compact) or ``application/jose+json`` (flattened JSON)."""
        if method != "POST":
            return _reply(start_response, 405, "application/json",
                          b'{"error": "POST a JWS-signed JSON request"}', [("Allow", "POST")])
        media = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if media not in _JOSE_TYPES:
            return _reply(start_response, 415, "application/json", json.dumps(
                {"error": f"Content-Type {media or '(none)'} is not a JWS: use application/jose "
                          "(compact) or application/jose+json (flattened JSON)"}).encode())
        try:
            body = _read_body(environ, self.settings.max_body_bytes)
        except faults.GatewayFault as fault:
            status = fault.http_status or 400
            return _reply(start_response, status, "application/json",
                          json.dumps({"error": fault.description}).encode())
        started = time.perf_counter()
        response = self.pipeline.handle_rest(body, json_serialization=_JOSE_TYPES[media],
                                             operation=operation)
        metrics.observe(response.facts, response.status, time.perf_counter() - started)
        return _reply(start_response, response.status, response.content_type, response.body)

    def _admin(self, environ, start_response, method: str, path: str, query: str):
        """Keys, sessions and webhooks (gateway/http/admin_api.py): small JSON bodies only."""
        body = b""
        if (environ.get("CONTENT_LENGTH") or "").strip() not in ("", "0"):
            try:
                body = _read_body(environ, admin_api.MAX_BODY)
            except faults.GatewayFault as fault:
                return _reply(start_response, 413 if isinstance(fault, faults.RequestTooLarge) else 400,
                              "application/json", json.dumps({"error": str(fault)}).encode())
        status, content_type, answer, extra = self.admin.handle(
            method, path, query, environ.get("HTTP_AUTHORIZATION"), body,
            client=environ.get("REMOTE_ADDR"))
        if status == 401:
            extra.append(("WWW-Authenticate", "Bearer"))
        return _reply(start_response, status, content_type, answer, extra)

    def _mtom(self, environ, start_response, content_type: str):
        """MTOM: the envelope part in memory, attachments streamed to spool files."""
        started = time.perf_counter()
        settings = self.settings
        limit = settings.max_body_bytes + settings.max_attachment_bytes + 64 * 1024
        try:
            length = _declared_length(environ, limit)
            message = mtom.parse_mtom(environ["wsgi.input"], content_type, length,
                                      max_envelope_bytes=settings.max_body_bytes,
                                      max_attachment_bytes=settings.max_attachment_bytes,
                                      max_parts=settings.max_attachment_parts,
                                      spool_dir=settings.spool_dir,
                                      check_root=self.pipeline.screen)
        except faults.GatewayFault as fault:
            return _reply(start_response, *faults.render(fault))
        try:
            response = self.pipeline.handle(message.envelope, mtom=message,
                                            actions=_actions(environ, content_type))
        finally:
            message.cleanup()  # kept files were moved away; the rest are discarded
        metrics.observe(response.facts, response.status, time.perf_counter() - started)
        return self._answer(start_response, response)

    def _schema_reference(self, start_response, name: str):
        """``/docs/schemas/``: generated from the XSDs at the first request (qa/reference.py)."""
        if name in ("", "index.html"):
            body = reference.index()
        else:
            body = reference.page(name[:-len(".html")] + ".xsd") if name.endswith(".html") and \
                _SAFE_NAME.match(name[:-len(".html")] + ".xsd") else None
        if body is None:
            return _reply(start_response, 404, "text/plain; charset=utf-8", b"no such schema\n")
        return _reply(start_response, 200, "text/html; charset=utf-8", body,
                      [("Cache-Control", "public, max-age=300")])

    def _contract(self, start_response, kind: str, name: str):
        body = self.contract.get((kind, name)) if _SAFE_NAME.match(name) else None
        if body is None:
            return _reply(start_response, 404, "text/plain; charset=utf-8", b"no such file\n")
        return _reply(start_response, 200, "text/xml; charset=utf-8", body,
                      [("Cache-Control", "public, max-age=300")])

    def _health(self, start_response):
        try:
            ping(self.engine)
            status, state = 200, "ok"
        except Exception:  # the database is down: say so, do not crash
            log.exception("health check failed")
            status, state = 503, "database unavailable"
        gost = backend()
        return _reply(start_response, status, "application/json",
                      json.dumps({"status": state, "gost": {"available": gost.available,
                                                            "backend": gost.name}}).encode())

    def _soap(self, environ, start_response):
        content_type = environ.get("CONTENT_TYPE", "")
        if mtom.is_mtom(content_type):
            return self._mtom(environ, start_response, content_type)
        media = content_type.split(";")[0].strip().lower()
        version = _SOAP_TYPES.get(media)
        if version is None:
            fault = faults.UnsupportedMediaType(
                f"Content-Type {media or '(none)'} is not SOAP: use text/xml (SOAP 1.1) or "
                "application/soap+xml (SOAP 1.2)")
            return _reply(start_response, *faults.render(fault))
        try:
            body = _read_body(environ, self.settings.max_body_bytes)
        except faults.GatewayFault as fault:
            return _reply(start_response, *faults.render(fault, version))
        started = time.perf_counter()
        response = self.pipeline.handle(body, actions=_actions(environ, content_type))
        metrics.observe(response.facts, response.status, time.perf_counter() - started)
        return self._answer(start_response, response)

    @staticmethod
    def _answer(start_response, response):
        """The pipeline's answer; with parts, as MTOM (files streamed from the store)."""
        if not response.parts:
            return _reply(start_response, response.status, response.content_type, response.body)
        content_type, length, chunks = mtom_answer.multipart(response.body, response.soap_version,
                                                             response.parts)
        start_response(f"{response.status} {_REASONS.get(response.status, '')}",
                       [("Content-Type", content_type), ("Content-Length", str(length))])
        return chunks


def _actions(environ: dict, content_type: str) -> tuple[str, ...]:
    """The operation names a client gave besides the body: the SOAPAction header (SOAP 1.1,
    quoted), the ``action`` parameter of the Content-Type (SOAP 1.2) and, for MTOM, the one in
    its ``start-info``. Empty ones (``SOAPAction: ""``, no header) name nothing and are left out.
    Either is checked whichever the content type: a client that sent one meant it."""
    from email.message import Message

    found = []
    header = environ.get("HTTP_SOAPACTION")
    if header is not None:
        found.append(header.strip().strip('"').strip())
    if "action" in content_type.lower():  # else no action parameter, nor one in a start-info
        parsed = Message()
        parsed["Content-Type"] = content_type
        found.append(str(parsed.get_param("action", "") or ""))
        start_info = parsed.get_param("start-info")
        if start_info:
            inner = Message()
            inner["Content-Type"] = str(start_info)
            found.append(str(inner.get_param("action", "") or ""))
    return tuple(action.strip() for action in found if action.strip())


def _declared_length(environ: dict, limit: int) -> int | None:
    """The body's length by HTTP/1.1 (RFC 9112 §6.3), or None when the server hands over a body
    that ends by itself (it de-chunked it: ``wsgi.input_terminated``, as gunicorn does).

    Without either, reading "until the end" would block on a kept-alive connection (wsgiref does
    not de-chunk) or take the next request's bytes for this one: refused with 411."""
    length = (environ.get("CONTENT_LENGTH") or "").strip()
    if length:
        if not length.isdigit():
            raise faults.MalformedRequest(f"Content-Length {length[:40]!r} is not a number")
        if int(length) > limit:
            raise faults.RequestTooLarge(f"the request is larger than {limit} bytes")
        return int(length)
    if environ.get("wsgi.input_terminated"):
        return None
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        raise faults.LengthRequired("this server does not take chunked requests: send a "
                                    "Content-Length")
    raise faults.LengthRequired("a request body needs a Content-Length (or chunked transfer "
                                "coding)")


def _read_body(environ: dict, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes; a body shorter than its Content-Length is an
    incomplete message and is never processed."""
    length = _declared_length(environ, limit)
    stream = environ["wsgi.input"]
    if length is None:
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise faults.RequestTooLarge(f"the request is larger than {limit} bytes")
        return body
    body = bytearray(length)  # filled in place: no chunk list to join
    view, done = memoryview(body), 0
    while done < length:
        chunk = stream.read(min(length - done, 1 << 20))
        if not chunk:
            raise faults.IncompleteRequest(f"the connection ended after {done} of the "
                                           f"{length} bytes of Content-Length")
        view[done:done + len(chunk)] = chunk
        done += len(chunk)
    return bytes(body)


def advertised_endpoint(settings: Settings) -> str:
    """The address the served WSDL gives: ``settings.endpoint``, with a wildcard listening
    address (0.0.0.0, ::) named as 127.0.0.1 — remote clients need GATEWAY_PUBLIC_URL then."""
    if not settings.public_url and settings.host in ("0.0.0.0", "::", ""):
        return f"http://127.0.0.1:{settings.port}/ws"
    return settings.endpoint


_ADDRESS = re.compile(rb'(<soap(?:12)?:address\s+location=")[^"]*(")')


def with_address(wsdl: bytes, endpoint: str) -> bytes:
    """The WSDL with every soap:address / soap12:address location set to ``endpoint`` (the file
    in wsdl/ stays as it is)."""
    escaped = html.escape(endpoint, quote=True).encode("utf-8")
    return _ADDRESS.sub(lambda m: m.group(1) + escaped + m.group(2), wsdl)


def _index(settings: Settings) -> bytes:
    """``GET /``: where things are, for a person who opens the gateway in a browser."""
    endpoint = html.escape(settings.endpoint)
    links = [("/console/", "Консоль операторов / operator console"), ("/ws?wsdl", "WSDL"),
             ("/ws/xsd/", "XSDs (versions and SHA-256)"),
             ("/docs/schemas/", "business schemas reference (HTML)"),
             ("/api/v1/openapi.yaml", "REST API (OpenAPI)"), ("/health", "health"),
             ("/health/ready", "readiness"), ("/metrics", "Prometheus metrics")]
    items = "".join(f'<li><a href="{href}">{name}</a></li>' for href, name in links)
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(settings.human_readable_name)}"
            f"</title></head><body><h1>{html.escape(settings.human_readable_name)}</h1>"
            f"<p>SOAP endpoint: <code>{endpoint}</code> (SOAP 1.1 text/xml, SOAP 1.2 "
            f"application/soap+xml)</p><ul>{items}</ul></body></html>").encode("utf-8")
