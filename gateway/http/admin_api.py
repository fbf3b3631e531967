"""REST endpoints for integration and administration (documented in docs/openapi.yaml):

  POST   /api/v1/session                              operator login -> session token
  GET    /api/v1/keys[?system=MNEMONIC]               API keys (any operator role)
  POST   /api/v1/keys                                 issue {system, scopes} (administrator)
  POST   /api/v1/keys/{id}/rotate                     new key, old one revoked (administrator)
  DELETE /api/v1/keys/{id}                            revoke (administrator)
  POST   /api/v1/webhooks                             subscribe {url, events} (IS key: webhooks:manage)
  GET    /api/v1/webhooks                             the IS's subscriptions
  DELETE /api/v1/webhooks/{id}                        unsubscribe
  GET    /api/v1/webhooks/deliveries[?state=&limit=]  the IS's deliveries, newest first
  POST   /api/v1/webhooks/deliveries/{id}/replay      send a done or dead delivery again

Every handler returns (status, content type, body); the app (gateway/http/app.py) sends it.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import parse_qs

from gateway.http import access
from gateway.http.access import Denied
from gateway.storage import access as keys_repo
from gateway.storage import webhooks as webhook_rows
from gateway.storage.participants import list_systems
from gateway.webhooks import manage

MAX_BODY = 64 * 1024
Reply = tuple[int, str, bytes]

_KEY = re.compile(r"^/api/v1/keys/([0-9a-fA-F]{8,64})(/rotate)?/?$")
_WEBHOOK = re.compile(r"^/api/v1/webhooks/([0-9]+)/?$")
_REPLAY = re.compile(r"^/api/v1/webhooks/deliveries/([0-9]+)/replay/?$")


def _json(status: int, value) -> Reply:
    return status, "application/json", json.dumps(value, ensure_ascii=False).encode("utf-8")


def _body(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        raise Denied(400, "the body is not JSON") from None
    if not isinstance(value, dict):
        raise Denied(400, "the body is a JSON object")
    if _has_nul(value):  # no database column holds one (PostgreSQL refuses it outright)
        raise Denied(400, "the body holds a NUL character")
    return value


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _strings(value, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Denied(400, f"{name} is a list of strings")
    return value


class AdminApi:
    def __init__(self, engine, settings, clock: Callable[[], datetime] | None = None):
        self.engine, self.settings = engine, settings
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.login_limits = access.LoginLimits.from_settings(settings)

    def handles(self, path: str) -> bool:
        return path.rstrip("/") in ("/api/v1/session", "/api/v1/keys", "/api/v1/webhooks",
                                    "/api/v1/webhooks/deliveries") \
            or bool(_KEY.match(path) or _WEBHOOK.match(path) or _REPLAY.match(path))

    def handle(self, method: str, path: str, query: str, authorization: str | None,
               body: bytes, client: str | None = None) -> tuple[int, str, bytes, list]:
        """(status, content type, body, extra headers: Retry-After of a 429). ``client`` is the
        caller's address (REMOTE_ADDR), which the login rate limit counts by."""
        try:
            if "\x00" in path or "%00" in query:
                raise Denied(400, "the request holds a NUL character")
            return (*self._route(method, path.rstrip("/") or "/", query, authorization, body,
                                 client), [])
        except Denied as exc:
            return (*access.error(exc), exc.headers())
        except manage.Invalid as exc:
            return (*_json(400, {"error": str(exc)}), [])

    def _route(self, method, path, query, auth, body, client=None) -> Reply:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if path == "/api/v1/session" and method == "POST":
            data = _body(body)
            token, role, expires = access.login(self.engine, str(data.get("username", "")),
                                                str(data.get("password", "")), self.clock(),
                                                client=client, limits=self.login_limits)
            return _json(200, {"token": token, "role": role, "expires_at": expires.isoformat()})
        if path == "/api/v1/keys":
            if method == "GET":
                access.operator(self.engine, auth, now=self.clock())
                return _json(200, {"items": [access.key_json(k) for k in
                                             keys_repo.keys(self.engine, params.get("system"))]})
            if method == "POST":
                caller = access.operator(self.engine, auth, "administrator", now=self.clock())
                data = _body(body)
                system = str(data.get("system", ""))
                if system not in {s.mnemonic for s in list_systems(self.engine)}:
                    raise Denied(404, f"no information system {system!r}")
                key_id, key = access.issue_key(self.engine, system,
                                               _strings(data.get("scopes"), "scopes"),
                                               caller.actor, self.clock())
                return _json(201, {"id": key_id, "key": key, "system": system})
        match = _KEY.match(path)
        if match:
            caller = access.operator(self.engine, auth, "administrator", now=self.clock())
            if match.group(2) and method == "POST":
                key_id, key = access.rotate_key(self.engine, match.group(1), caller.actor,
                                                self.clock())
                return _json(201, {"id": key_id, "key": key, "replaces": match.group(1)})
            if not match.group(2) and method == "DELETE":
                access.revoke_key(self.engine, match.group(1), caller.actor, now=self.clock())
                return 204, "application/json", b""
        if path == "/api/v1/webhooks":
            caller = access.system(self.engine, auth, "webhooks:manage")
            if method == "POST":
                data = _body(body)
                sub, secret = manage.subscribe(self.engine, caller.mnemonic, str(data.get("url", "")),
                                               _strings(data.get("events"), "events"), self.clock(),
                                               caller.actor, self.settings.webhook_networks)
                return _json(201, {**manage.as_json(sub), "secret": secret})
            if method == "GET":
                return _json(200, {"items": [manage.as_json(s) for s in
                                             webhook_rows.subscriptions(self.engine, caller.mnemonic)]})
        match = _WEBHOOK.match(path)
        if match and method == "DELETE":
            caller = access.system(self.engine, auth, "webhooks:manage")
            if not webhook_rows.remove_subscription(self.engine, _row_id(match.group(1)), self.clock(),
                                                    caller.actor, caller.mnemonic):
                raise Denied(404, "no such subscription")
            return 204, "application/json", b""
        if path == "/api/v1/webhooks/deliveries" and method == "GET":
            caller = access.system(self.engine, auth, "webhooks:manage")
            state = params.get("state")
            if state not in (None, "pending", "done", "dead"):
                raise Denied(400, "state is pending, done or dead")
            try:
                limit = max(1, min(500, int(params.get("limit", 100))))
            except ValueError:
                raise Denied(400, "limit must be a whole number") from None
            items = webhook_rows.deliveries(self.engine, mnemonic=caller.mnemonic, state=state,
                                            limit=limit)
            return _json(200, {"items": [manage.delivery_json(d) for d in items]})
        match = _REPLAY.match(path)
        if match and method == "POST":
            caller = access.system(self.engine, auth, "webhooks:manage")
            if not manage.replay(self.engine, _row_id(match.group(1)), self.clock(),
                                 timedelta(seconds=self.settings.webhook_max_age_seconds),
                                 caller.actor, caller.mnemonic):
                raise Denied(404, "no such done or dead delivery of an active subscription")
            return _json(202, {"id": int(match.group(1)), "state": "pending"})
        raise Denied(405, f"{method} is not allowed on {path}")


def _row_id(text: str) -> int:
    """A row id from the path: a number no database column can hold names no row (404), never a
    database error."""
    value = int(text)
    if not 0 < value < 2 ** 63:
        raise Denied(404, "no such id")
    return value
