"""One console request and its response, as the routes and the views pass them around."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from gateway.http import access


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
