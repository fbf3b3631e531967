"""The console's WSGI side: routing under /console, the session cookie, CSRF, the language, the
security headers; the pages' data comes from gateway/console/views.py.

People log in with the operators' passwords and sessions of gateway/http/access.py (the same
store as ``POST /api/v1/session``); the session token travels in an HttpOnly, SameSite=Strict
cookie instead of a bearer header. Every POST carries a CSRF token: on the login form a random
value also set as a cookie (double submit), afterwards an HMAC of the session token, so nothing
extra is stored. Read pages are open to every role; changes of participants only to
``administrator`` (others get 403), and they are journaled by the functions they call."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import HTTP
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.console import i18n, views
from gateway.console.errors import HttpError
from gateway.http import access

log = logging.getLogger("gateway.console")

PREFIX = "/console"
HERE = Path(__file__).parent
SESSION_COOKIE, LANG_COOKIE, LOGIN_CSRF_COOKIE = "console_session", "console_lang", "console_login_csrf"
MAX_FORM = 64 * 1024
_STATIC = re.compile(r"^[a-z0-9][a-z0-9._-]*\.(css|js|svg|ico)$")
_STATIC_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
                 "svg": "image/svg+xml", "ico": "image/x-icon"}
_REASONS = {200: "OK", 303: "See Other", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large"}
#: no inline script or style anywhere: the CSP forbids both, so injected markup cannot run
SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
NO_STORE = ("Cache-Control", "no-store")


@dataclass
class Request:
    environ: dict
    method: str
    path: str  # below /console, "" for the dashboard
    query: dict[str, str]
    cookies: dict[str, str]
    lang: str
    set_lang: bool
    user: access.Caller | None = None
    token: str | None = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def csrf(self) -> str:
        """The CSRF token the forms of this session carry."""
        return hmac.new(self.token.encode(), b"console-csrf", hashlib.sha256).hexdigest() if self.token else ""

    @property
    def secure(self) -> bool:
        return self.environ.get("wsgi.url_scheme") == "https" or \
            self.environ.get("HTTP_X_FORWARDED_PROTO", "").lower() == "https"


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def _cookie(name: str, value: str, request: Request, max_age: int | None, path: str = PREFIX) -> tuple[str, str]:
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if request.secure:
        parts.append("Secure")
    return "Set-Cookie", "; ".join(parts)


def _dt(value) -> str:
    """Times in UTC, as the journal keeps them; '—' for none."""
    if not value:
        return "—"
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _pager_query(query: dict) -> str:
    """The current filters as a query prefix for the pager's links (page replaced)."""
    kept = {k: v for k, v in query.items() if k not in ("page", "lang")}
    return urlencode(kept) + "&" if kept else ""


class Console:
    """Mounted by gateway/http/app.py for every path under /console."""

    def __init__(self, engine, settings, validator, clock: Callable[[], datetime] | None = None):
        self.engine, self.settings, self.validator = engine, settings, validator
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"),
                               autoescape=select_autoescape(["html"], default=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(dt=_dt, duration=_duration, tojson_text=_json_text,
                                pager_query=_pager_query)
        self.views = views.Views(engine, settings, validator, self.clock)
        self.routes: list[tuple[str, re.Pattern, Callable, tuple[str, ...] | None]] = [
            # (method, path below /console, handler, roles: None = no login needed, () = any role)
            ("GET", re.compile(r"^/login$"), self.login_page, None),
            ("POST", re.compile(r"^/login$"), self.login, None),
            ("POST", re.compile(r"^/logout$"), self.logout, ()),
            ("GET", re.compile(r"^/?$"), self.page("dashboard.html", self.views.dashboard), ()),
            ("GET", re.compile(r"^/fragments/dashboard$"), self.dashboard_fragment, ()),
            ("GET", re.compile(r"^/messages$"), self.page("messages.html", self.views.messages), ()),
            ("GET", re.compile(r"^/messages/([A-Za-z0-9._-]{1,36})$"),
             self.page("message.html", self.views.message), ()),
            ("GET", re.compile(r"^/applications$"), self.page("applications.html", self.views.applications), ()),
            ("GET", re.compile(r"^/applications\.csv$"), self.applications_csv, ()),
            ("GET", re.compile(r"^/applications\.pdf$"), self.applications_pdf, ()),
            ("GET", re.compile(r"^/applications/([0-9]{1,18})$"),
             self.page("application.html", self.views.application), ()),
            ("GET", re.compile(r"^/participants$"), self.page("participants.html", self.views.participants), ()),
            ("GET", re.compile(r"^/participants/([A-Za-z0-9._-]{1,100})$"),
             self.page("participant.html", self.views.participant), ()),
            ("POST", re.compile(r"^/participants/([A-Za-z0-9._-]{1,100})/"
                                r"(enable|disable|allow|deny|revoke-key|remove-webhook)$"),
             self.change_participant, ("administrator",)),
            ("GET", re.compile(r"^/validate$"), self.page("validate.html", self.views.validate_form), ()),
            ("POST", re.compile(r"^/validate$"), self.validate, ()),
            ("GET", re.compile(r"^/journal$"), self.page("journal.html", self.views.journal), ()),
            ("POST", re.compile(r"^/journal/verify$"), self.verify_journal, ()),
        ]

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        if path == PREFIX:  # the relative links of the pages work from /console/ only
            return self._send(start_response, Response(303, b"", headers=[("Location", PREFIX + "/")]))
        rest = path[len(PREFIX):]
        if rest.startswith("/static/"):
            return self._send(start_response, self._static(rest[len("/static/"):]))
        request = self._request(environ, rest)
        try:
            response = self._dispatch(request)
        except HttpError as exc:
            response = self._error(request, exc.status, exc.key, exc.detail)
        except Exception:
            log.exception("console failure in %s %s", request.method, path)
            response = Response(500, b"internal error; see the gateway's log\n",
                                "text/plain; charset=utf-8")
        if request.set_lang:
            response.headers.append(_cookie(LANG_COOKIE, request.lang, request, 365 * 24 * 3600))
        response.headers.extend(SECURITY_HEADERS)
        if not any(h[0] == "Cache-Control" for h in response.headers):
            response.headers.append(NO_STORE)
        return self._send(start_response, response)

    @staticmethod
    def _send(start_response, response: Response):
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                   *response.headers]
        start_response(f"{response.status} {_REASONS.get(response.status, 'Internal Server Error')}", headers)
        return [response.body]

    def _request(self, environ, rest: str) -> Request:
        cookies: dict[str, str] = {}
        try:
            jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
            cookies = {k: m.value for k, m in jar.items()}
        except CookieError:
            pass
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()
                 if "\x00" not in k and "\x00" not in v[-1]}
        asked = query.get("lang")
        if asked in i18n.LANGUAGES:
            lang, set_lang = asked, asked != cookies.get(LANG_COOKIE)
        else:
            lang = cookies.get(LANG_COOKIE) if cookies.get(LANG_COOKIE) in i18n.LANGUAGES else i18n.DEFAULT
            set_lang = False
        request = Request(environ, environ.get("REQUEST_METHOD", "GET").upper(), rest, query,
                          cookies, lang, set_lang)
        token = cookies.get(SESSION_COOKIE)
        if token:
            request.user = access.session(self.engine, token, self.clock())
            request.token = token if request.user else None
        return request

    def _dispatch(self, request: Request) -> Response:
        allowed = []
        for method, pattern, handler, roles in self.routes:
            match = pattern.match(request.path)
            if not match:
                continue
            allowed.append(method)
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                continue
            if roles is not None:
                if request.user is None:
                    if request.method == "GET" and not request.path.startswith("/fragments/"):
                        return Response(303, b"", headers=[("Location", f"{PREFIX}/login")])
                    raise HttpError(401, "login.title")
                if request.method == "POST":
                    self._read_form(request)
                    if not hmac.compare_digest(request.form.get("csrf", ""), request.csrf()):
                        raise HttpError(403, "error.csrf")
                if roles and request.user.role not in roles:
                    raise HttpError(403, "error.403")
            return handler(request, *match.groups())
        if allowed:
            return Response(405, b"", "text/plain; charset=utf-8", [("Allow", ", ".join(sorted(set(allowed))))])
        raise HttpError(404, "error.404")

    # -- request bodies ------------------------------------------------------------------------

    def _body(self, request: Request, limit: int) -> bytes:
        length = (request.environ.get("CONTENT_LENGTH") or "").strip()
        if not length.isdigit():
            if request.environ.get("wsgi.input_terminated"):
                body = request.environ["wsgi.input"].read(limit + 1)
                if len(body) > limit:
                    raise HttpError(413, "error.413")
                return body
            raise HttpError(400, "error.400", "a form needs a Content-Length")
        if int(length) > limit:
            raise HttpError(413, "error.413")
        stream, chunks, left = request.environ["wsgi.input"], [], int(length)
        while left:
            chunk = stream.read(min(left, 1 << 20))
            if not chunk:
                raise HttpError(400, "error.400", "the form ended early")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _read_form(self, request: Request) -> None:
        """Fill ``request.form`` (and ``files``) from an urlencoded or multipart body."""
        if request.form or request.files:
            return
        media = (request.environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        multipart = media == "multipart/form-data"
        body = self._body(request, self.settings.max_body_bytes + MAX_FORM if multipart else MAX_FORM)
        if multipart:
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + request.environ["CONTENT_TYPE"].encode("latin-1") + b"\r\n\r\n" + body)
            if not message.is_multipart():
                raise HttpError(400, "error.400", "the multipart form has no parts")
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if not name:
                    continue
                data = part.get_payload(decode=True) or b""
                if part.get_filename() is not None:
                    request.files[str(name)] = data
                else:
                    request.form[str(name)] = data.decode(part.get_content_charset() or "utf-8", "replace")
        else:
            request.form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"),
                                                          keep_blank_values=True).items()}

    # -- rendering -----------------------------------------------------------------------------

    def render(self, request: Request, template: str, status: int = 200, **context) -> Response:
        lang = request.lang

        def t(key: str) -> str:
            return i18n.translate(lang, key)

        def lang_link(code: str) -> str:
            query = {k: v for k, v in request.query.items() if k != "lang"}
            query["lang"] = code
            return f"{PREFIX}{request.path or '/'}?{urlencode(query)}"

        html = self.env.get_template(template).render(
            t=t, lang=lang, user=request.user, csrf=request.csrf(), lang_link=lang_link,
            path=request.path or "/", query=request.query, prefix=PREFIX, **context)
        return Response(status, html.encode("utf-8"))

    def page(self, template: str, view: Callable) -> Callable:
        def handler(request: Request, *args) -> Response:
            context = view(request, *args)
            status = context.pop("status", 200)
            return self.render(request, template, status, **context)
        return handler

    def _error(self, request: Request, status: int, key: str, detail: str = "") -> Response:
        return self.render(request, "error.html", status, status_code=status, key=key, detail=detail)

    def _static(self, name: str) -> Response:
        path = HERE / "static" / name
        if not _STATIC.match(name) or not path.is_file():
            return Response(404, b"not found\n", "text/plain; charset=utf-8", list(SECURITY_HEADERS))
        return Response(200, path.read_bytes(), _STATIC_TYPES[name.rsplit(".", 1)[1]],
                        [("Cache-Control", "public, max-age=3600"), *SECURITY_HEADERS])

    # -- login ---------------------------------------------------------------------------------

    def login_page(self, request: Request, failed: bool = False, status: int = 200) -> Response:
        if request.user is not None and not failed:
            return Response(303, b"", headers=[("Location", f"{PREFIX}/")])
        value = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        response = self.render(request, "login.html", status, login_csrf=value, failed=failed,
                               username=request.form.get("username", ""))
        response.headers.append(_cookie(LOGIN_CSRF_COOKIE, value, request, 3600))
        return response

    def login(self, request: Request) -> Response:
        self._read_form(request)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(request.form.get("csrf", ""), expected):
            raise HttpError(403, "error.csrf")
        try:
            token, _role, _expires = access.login(self.engine, request.form.get("username", "")[:100],
                                                  request.form.get("password", "")[:1000], self.clock())
        except access.Denied:
            return self.login_page(request, failed=True, status=401)
        return Response(303, b"", headers=[
            ("Location", f"{PREFIX}/"),
            _cookie(SESSION_COOKIE, token, request, access.SESSION_HOURS * 3600),
            _cookie(LOGIN_CSRF_COOKIE, "", request, 0)])

    def logout(self, request: Request) -> Response:
        access.logout(self.engine, request.token, self.clock())
        return Response(303, b"", headers=[("Location", f"{PREFIX}/login"),
                                           _cookie(SESSION_COOKIE, "", request, 0)])

    # -- pages with more than a template ---------------------------------------------------------

    def dashboard_fragment(self, request: Request) -> Response:
        return self.render(request, "dashboard_live.html", **self.views.dashboard(request))

    def applications_csv(self, request: Request) -> Response:
        name, body = self.views.applications_csv(request)
        return Response(200, body, "text/csv; charset=utf-8",
                        [("Content-Disposition", f'attachment; filename="{name}"')])

    def applications_pdf(self, request: Request) -> Response:
        name, body = self.views.applications_pdf(request)
        return Response(200, body, "application/pdf",
                        [("Content-Disposition", f'attachment; filename="{name}"')])

    def change_participant(self, request: Request, mnemonic: str, action: str) -> Response:
        problem = self.views.change_participant(request, mnemonic, action)
        if problem is not None:
            context = self.views.participant(request, mnemonic)
            context.pop("status", None)
            return self.render(request, "participant.html", 400, change_error=problem, **context)
        return Response(303, b"", headers=[("Location", f"{PREFIX}/participants/{mnemonic}?done={action}")])

    def validate(self, request: Request) -> Response:
        context = self.views.validate(request)
        status = context.pop("status", 200)
        return self.render(request, "validate.html", status, **context)

    def verify_journal(self, request: Request) -> Response:
        context = self.views.journal(request, verify=True)
        return self.render(request, "journal.html", **context)
