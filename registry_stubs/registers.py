"""Stand-ins for the state registers: one plain-WSGI app, one port, a JSON API per register.

    GET  /egrul/legal-entities/{inn}                  legal entity (ЕГРЮЛ)
    GET  /egrul/legal-entities?ogrn=                  search by ОГРН (a list)
    POST /egrul/legal-entities/{inn}/details          change details {"address", "postal_code",
                                                      "phone", "email", "head"} (any, at least one)
                                                      200 the record | 404 | 400
    GET  /fns/persons/{inn}                           person (ФНС)
    GET  /poa/powers-of-attorney/{number}             power of attorney (МЧД register)
    GET  /poa/powers-of-attorney?principal_inn=&representative_inn=
    POST /poa/powers-of-attorney                      register one        201 | 409 | 400
    POST /poa/powers-of-attorney/{number}/revoke      {"revoked_at": "YYYY-MM-DD"} (optional)
                                                      200 | 409 already revoked | 404
    GET  /licences/licences/{number}                  licence
    GET  /licences/licences?holder_inn=
    POST /licences/licences                           enter a granted licence  201 | 409 | 400
    GET  /health

A write (POST) that carries an ``Idempotency-Key`` header is carried out once: a repeat with the
same key and body gets the first answer again and changes nothing (the key and answer are kept in
the state file with the writes); the key reused with another body answers 422.

Every answer is JSON. An unknown key answers ``404 {"error": "not found"}`` (the client takes
exactly that as "no such record"), an unknown path ``404 {"error": "no such resource"}``, bad
input ``400 {"error": ..., "problems": [{"field", "rule"}]}``. Seeded from
``registry_stubs/fixtures/*.json`` (see docs/registers.md); the data lives in
:class:`registry_stubs.register_store.RegisterStore`.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import socketserver
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from registry_stubs.register_store import FIXTURES, InvalidInput, RegisterStore

__all__ = ["FIXTURES", "STATE_FILE_NAME", "RegistersApp", "RegistersServer", "make_app", "serve",
           "serve_all"]

MAX_BODY = 64 * 1024
STATE_FILE_NAME = "registers-state.json"

StartResponse = Callable[..., object]
Answer = tuple[int, Any]

_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 411: "Length Required",
            413: "Content Too Large", 503: "Service Unavailable"}
NOT_FOUND: Answer = (404, {"error": "not found"})
NO_SUCH_RESOURCE: Answer = (404, {"error": "no such resource"})


class _MethodNotAllowed(Exception):
    def __init__(self, allowed: str):
        self.allowed = allowed


def _found(record: Any) -> Answer:
    return (200, record) if record is not None else NOT_FOUND


class RegistersApp:
    """The WSGI application. ``offline = True`` makes every endpoint but /health answer 503
    (fault injection: a register that is down)."""

    def __init__(self, store: RegisterStore):
        self.store = store
        self.offline = False
        # (method, path pattern, handler(match, query, environ) -> Answer); first match wins
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Answer]]] = [
            ("GET", re.compile(r"/health"), self._health),
            ("GET", re.compile(r"/egrul/legal-entities/([^/]+)"),
             lambda m, q, e: _found(self.store.legal_entity(m[1]))),
            ("GET", re.compile(r"/egrul/legal-entities"),
             lambda m, q, e: (200, self.store.legal_entities_by_ogrn(_param(q, "ogrn")))),
            ("POST", re.compile(r"/egrul/legal-entities/([^/]+)/details"), self._change_details),
            ("GET", re.compile(r"/fns/persons/([^/]+)"),
             lambda m, q, e: _found(self.store.person(m[1]))),
            ("GET", re.compile(r"/poa/powers-of-attorney/([^/]+)"),
             lambda m, q, e: _found(self.store.power_of_attorney(m[1]))),
            ("GET", re.compile(r"/poa/powers-of-attorney"), self._powers_of_attorney),
            ("POST", re.compile(r"/poa/powers-of-attorney"), self._register_power_of_attorney),
            ("POST", re.compile(r"/poa/powers-of-attorney/([^/]+)/revoke"), self._revoke),
            # a licence number may hold "/" (it arrives %2F-decoded): everything after the prefix
            ("GET", re.compile(r"/licences/licences/(.+)"),
             lambda m, q, e: _found(self.store.licence(m[1]))),
            ("GET", re.compile(r"/licences/licences"),
             lambda m, q, e: (200, self.store.licences(_param(q, "holder_inn")))),
            ("POST", re.compile(r"/licences/licences"), self._enter_licence),
        ]

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        headers = [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")]
        try:
            status, body = self._dispatch(environ)
        except InvalidInput as exc:
            status, body = 400, {"error": str(exc), "problems": [
                {"field": field, "rule": rule} for field, rule in exc.problems]}
        except _MethodNotAllowed as exc:
            status, body = 405, {"error": "method not allowed"}
            headers.append(("Allow", exc.allowed))
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers.append(("Content-Length", str(len(payload))))
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [payload]

    def _dispatch(self, environ: dict) -> Answer:
        method = environ.get("REQUEST_METHOD", "GET")
        # PEP 3333: PATH_INFO carries the URL's bytes as latin-1; keys may be Cyrillic (UTF-8)
        try:
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
        except UnicodeError:
            return 400, {"error": "the path is not UTF-8"}
        if self.offline and path != "/health":
            return 503, {"error": "the register is offline"}
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        allowed = []
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method == method:
                key = environ.get("HTTP_IDEMPOTENCY_KEY")
                if method == "POST" and key:
                    body = environ["wsgi.input"].read(_content_length(environ))
                    environ["wsgi.input"] = io.BytesIO(body)
                    request = f"POST {path} " + hashlib.sha256(body).hexdigest()
                    return self.store.once(key[:200], request, lambda: handler(match, query, environ))
                return handler(match, query, environ)
            allowed.append(route_method)
        if allowed:
            raise _MethodNotAllowed(", ".join(sorted(set(allowed))))
        return NO_SUCH_RESOURCE

    def _health(self, match: re.Match, query: list, environ: dict) -> Answer:
        return 200, {"status": "unavailable" if self.offline else "ok", **self.store.counts()}

    def _powers_of_attorney(self, match: re.Match, query: list, environ: dict) -> Answer:
        params = _params(query, {"principal_inn", "representative_inn"})
        return 200, self.store.powers_of_attorney(params.get("principal_inn"),
                                                  params.get("representative_inn"))

    def _register_power_of_attorney(self, match: re.Match, query: list, environ: dict) -> Answer:
        created, record = self.store.register_power_of_attorney(_body(environ))
        if created:
            return 201, record
        return 409, {"error": "a power of attorney with this number is registered",
                     "existing": record}

    def _revoke(self, match: re.Match, query: list, environ: dict) -> Answer:
        outcome, record = self.store.revoke_power_of_attorney(match[1], _body(environ, empty_ok=True))
        if outcome == "unknown":
            return NOT_FOUND
        if outcome == "already":
            return 409, {"error": f"revoked already on {record['revoked_at']}", "existing": record}
        return 200, record

    def _change_details(self, match: re.Match, query: list, environ: dict) -> Answer:
        return _found(self.store.change_legal_entity_details(match[1], _body(environ)))

    def _enter_licence(self, match: re.Match, query: list, environ: dict) -> Answer:
        created, record = self.store.enter_licence(_body(environ))
        if created:
            return 201, record
        return 409, {"error": "a licence with this number exists", "existing": record}


def _params(query: list[tuple[str, str]], known: set[str]) -> dict[str, str]:
    """Known parameters once each; anything else is a mistake worth a 400, not a silent match-all."""
    names = [name for name, _ in query]
    problems = [(n, "unknown parameter") for n in names if n not in known]
    problems += [(n, "given more than once") for n in sorted(set(names)) if names.count(n) > 1]
    if problems:
        raise InvalidInput(problems)
    return {name: value for name, value in query if value}


def _param(query: list[tuple[str, str]], name: str) -> str:
    value = _params(query, {name}).get(name)
    if not value:
        raise InvalidInput([(name, "required")])
    return value


def _content_length(environ: dict) -> int:
    raw_length = environ.get("CONTENT_LENGTH") or ""
    length = int(raw_length) if raw_length.isdigit() else 0
    if length > MAX_BODY:
        raise InvalidInput([("Content-Length", f"at most {MAX_BODY} bytes")])
    return length


def _body(environ: dict, *, empty_ok: bool = False) -> Any:
    raw_length = environ.get("CONTENT_LENGTH") or ""
    if not raw_length.isdigit():
        if empty_ok and not raw_length:
            return {}
        raise InvalidInput([("Content-Length", "required (a JSON body)")])
    length = int(raw_length)
    if length > MAX_BODY:
        raise InvalidInput([("Content-Length", f"at most {MAX_BODY} bytes")])
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw and empty_ok:
        return {}
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput([("body", f"not JSON: {exc}")]) from None


def make_app(fixtures_dir: Path | None = None, state_file: Path | None = None) -> RegistersApp:
    return RegistersApp(RegisterStore(fixtures_dir, state_file))


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


class RegistersServer(socketserver.ThreadingMixIn, WSGIServer):
    """wsgiref server, one thread per request; ``url`` and ``shutdown()`` for tests and the CLI."""

    daemon_threads = True
    request_queue_size = 128  # listen backlog: the default 5 drops connects from busy gateways
    app: RegistersApp
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def shutdown(self) -> None:
        """Stop serving and release the port (safe to call twice)."""
        super().shutdown()
        self.server_close()
        thread = getattr(self, "thread", None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    stop = shutdown


def serve_all(host: str = "127.0.0.1", port: int = 0, *, fixtures_dir: Path | None = None,
              state_dir: Path | None = None) -> RegistersServer:
    """Serve every register on one port in a daemon thread; ``port=0`` picks a free one
    (read it back from ``server.url``). With ``state_dir``, writes are kept in
    ``state_dir/registers-state.json`` and survive a restart."""
    state_file = None
    if state_dir is not None:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        state_file = Path(state_dir) / STATE_FILE_NAME
    return _start(host, port, make_app(fixtures_dir, state_file))


def serve(host: str = "127.0.0.1", port: int = 0, *, fixtures: Path | None = None,
          state_file: Path | None = None) -> RegistersServer:
    """:func:`serve_all` with the state file named directly (``gateway stubs serve``, tests)."""
    return _start(host, port, make_app(fixtures, state_file))


def _start(host: str, port: int, app: RegistersApp) -> RegistersServer:
    server = make_server(host, port, app, server_class=RegistersServer, handler_class=_QuietHandler)
    server.app = app
    server.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                     name=f"registers-stub:{server.server_port}", daemon=True)
    server.thread.start()
    return server
