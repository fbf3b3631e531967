"""Stand-ins for the state registers, as one small HTTP service with a JSON API.

  GET  /egrul/legal-entities/{inn}                legal entity (ЕГРЮЛ)
  GET  /egrul/legal-entities?ogrn=...
  GET  /fns/persons/{inn}                         person (ФНС)
  GET  /poa/powers-of-attorney/{number}           power of attorney (МЧД)
  GET  /poa/powers-of-attorney?principal_inn=&representative_inn=
  POST /poa/powers-of-attorney                    register one (JSON body)
  POST /poa/powers-of-attorney/{number}/revoke    {"revoked_at": "..."} optional
  GET  /licences/licences/{number}                licence
  GET  /licences/licences?holder_inn=...
  POST /licences/licences                         enter a granted licence
  GET  /health

Seeded from ``registry_stubs/fixtures/*.json``; writes are kept in memory (thread-safe) and,
when a state file is given, in that file so a restarted stub remembers them.
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MAX_BODY = 64 * 1024


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class Registers:
    def __init__(self, fixtures: Path = FIXTURES, state_file: Path | None = None):
        def load(name):
            return json.loads((fixtures / name).read_text(encoding="utf-8"))

        self.lock = threading.Lock()
        self.state_file = state_file
        self.legal_entities = {o["inn"]: o for o in load("legal_entities.json")}
        self.persons = {p["inn"]: p for p in load("persons.json")}
        self.powers = {p["number"]: p for p in load("powers_of_attorney.json")}
        self.licences = {lic["number"]: lic for lic in load("licences.json")}
        if state_file and state_file.exists():
            state = json.loads(state_file.read_text(encoding="utf-8"))
            self.powers.update(state.get("powers", {}))
            self.licences.update(state.get("licences", {}))

    def _save(self) -> None:
        if self.state_file:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"powers": self.powers, "licences": self.licences},
                                      ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.state_file)

    # -- routing -------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        # PEP 3333: PATH_INFO carries the URL's bytes as latin-1; keys may be Cyrillic (UTF-8)
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            status, body = self.route(method, path, query, environ)
        except ValueError as exc:
            status, body = 400, {"error": str(exc)}
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        start_response(f"{status} {'OK' if status < 400 else 'Error'}",
                       [("Content-Type", "application/json; charset=utf-8"),
                        ("Content-Length", str(len(payload)))])
        return [payload]

    def route(self, method, path, query, environ):
        if path == "/health":
            return 200, {"status": "ok"}
        if method == "GET":
            for pattern, table in ((r"^/egrul/legal-entities/(\d{10})$", self.legal_entities),
                                   (r"^/fns/persons/(\d{12})$", self.persons),
                                   (r"^/poa/powers-of-attorney/([0-9a-f-]{36})$", self.powers),
                                   (r"^/licences/licences/([^/]{1,40})$", self.licences)):
                match = re.match(pattern, path)
                if match:
                    found = table.get(match.group(1))
                    return (200, found) if found else (404, {"error": "not found"})
            if path == "/egrul/legal-entities":
                return 200, [o for o in self.legal_entities.values() if o["ogrn"] == query.get("ogrn")]
            if path == "/poa/powers-of-attorney":
                return 200, [p for p in self.powers.values()
                             if all(p["principal"]["inn"] == v if k == "principal_inn" else
                                    p["representative"]["inn"] == v for k, v in query.items()
                                    if k in ("principal_inn", "representative_inn"))]
            if path == "/licences/licences":
                return 200, [lic for lic in self.licences.values()
                             if lic["holder_inn"] == query.get("holder_inn")]
            return 404, {"error": "no such resource"}
        if method == "POST":
            body = self._body(environ)
            if path == "/poa/powers-of-attorney":
                return self._register_poa(body)
            match = re.match(r"^/poa/powers-of-attorney/([0-9a-f-]{36})/revoke$", path)
            if match:
                return self._revoke_poa(match.group(1), body)
            if path == "/licences/licences":
                return self._enter_licence(body)
        return 404 if method in ("GET", "POST") else 405, {"error": "no such resource"}

    @staticmethod
    def _body(environ) -> dict:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        try:
            data = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("a JSON object is expected")
        return data

    def _register_poa(self, body):
        required = ("number", "principal", "representative", "powers", "issued_on", "valid_until")
        missing = [k for k in required if k not in body]
        if missing:
            raise ValueError(f"missing: {', '.join(missing)}")
        with self.lock:
            if body["number"] in self.powers:
                return 409, {"error": "a power of attorney with this number is registered"}
            record = dict(body, status="active", revoked_at=None,
                          substitution=bool(body.get("substitution")))
            self.powers[body["number"]] = record
            self._save()
        return 201, record

    def _revoke_poa(self, number, body):
        with self.lock:
            record = self.powers.get(number)
            if record is None:
                return 404, {"error": "not found"}
            if record["status"] == "revoked":
                return 409, {"error": "already revoked"}
            record.update(status="revoked", revoked_at=body.get("revoked_at")
                          or datetime.now(timezone.utc).date().isoformat())
            self._save()
        return 200, record

    def _enter_licence(self, body):
        missing = [k for k in ("number", "holder_inn", "kind", "valid_from") if k not in body]
        if missing:
            raise ValueError(f"missing: {', '.join(missing)}")
        with self.lock:
            if body["number"] in self.licences:
                return 409, {"error": "a licence with this number exists"}
            record = dict(body, status="active")
            self.licences[body["number"]] = record
            self._save()
        return 201, record


def serve(host: str = "127.0.0.1", port: int = 0, *, fixtures: Path = FIXTURES,
          state_file: Path | None = None):
    """Serve the registers in a daemon thread; the server has ``.url`` and ``.shutdown()``."""
    server = make_server(host, port, Registers(fixtures, state_file), server_class=_Server,
                         handler_class=_Quiet)
    server.url = f"http://{host}:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
