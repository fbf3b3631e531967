"""Who may call the REST API, and with what.

* Information systems use API keys (``Authorization: Bearer <key>``) with scopes:
  ``history:read`` (gateway/http/history.py), ``webhooks:manage`` (gateway/http/webhooks_api.py)
  and ``validate``. Tokens issued before scopes existed (``gateway is token``) keep working as
  ``history:read``.
* People are operators with a role — ``operator``, ``controller`` (read-only auditor) or
  ``administrator`` — and a password stored as a salted scrypt hash; ``POST /api/v1/session``
  trades a correct password for a session token (8 hours) used as a bearer token.

Keys and sessions are random 256-bit strings; only their SHA-256 is stored. Issuing, rotating
and revoking keys are journalled with the actor (gateway/storage/access.py).
"""
from __future__ import annotations

from gateway.storage.db import utc_iso

import base64
import dataclasses
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta, timezone

from gateway.storage import access as repo

SCOPES = ("history:read", "webhooks:manage", "validate")
ROLES = ("operator", "controller", "administrator")
SESSION_HOURS = 8
#: scrypt cost: 2**15 * 8 * 128 B = 32 MiB and ~0.1 s per check (OWASP's minimum is 2**17 with r=8
#: p=1 for interactive use at larger memory; this keeps a login under a worker's budget)
_N, _R, _P = 2 ** 15, 8, 1


class Denied(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclasses.dataclass(frozen=True)
class Caller:
    """An authenticated REST caller: an IS (``mnemonic``) or an operator (``username``)."""

    mnemonic: str | None = None
    inn_le: str | None = None
    scopes: tuple[str, ...] = ()
    username: str | None = None
    role: str | None = None

    @property
    def actor(self) -> str:
        return f"is:{self.mnemonic}" if self.mnemonic else f"operator:{self.username}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- passwords --------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=64 * 1024 ** 2,
                         dklen=32)
    return "scrypt${}${}${}${}${}".format(_N, _R, _P, base64.b64encode(salt).decode(),
                                          base64.b64encode(key).decode())


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), maxmem=64 * 1024 ** 2, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# -- keys -------------------------------------------------------------------------------------

def check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise Denied(400, f"scopes are one or more of {', '.join(SCOPES)}")
    return list(dict.fromkeys(scopes))


def issue_key(engine, mnemonic: str, scopes: list[str], actor: str,
              now: datetime | None = None) -> tuple[str, str]:
    """(key id, the key itself — shown this once)."""
    key = secrets.token_urlsafe(32)
    key_id = repo.issue_key(engine, digest(key), mnemonic, check_scopes(scopes),
                            now or datetime.now(timezone.utc), actor)
    return key_id, key


def rotate_key(engine, key_id: str, actor: str, now: datetime | None = None) -> tuple[str, str]:
    """A new key with the old one's scopes; the old one is revoked in the same transaction."""
    found = repo.find_key(engine, key_id)
    if found is None:
        raise Denied(404, f"no unrevoked key {key_id}")
    old, mnemonic, scopes = found
    key = secrets.token_urlsafe(32)
    new_id = repo.issue_key(engine, digest(key), mnemonic, list(scopes),
                            now or datetime.now(timezone.utc), actor, replaces=old)
    return new_id, key


def revoke_key(engine, key_id: str, actor: str, mnemonic: str | None = None,
               now: datetime | None = None) -> None:
    found = repo.find_key(engine, key_id)
    if found is None or (mnemonic is not None and found[1] != mnemonic):
        raise Denied(404, f"no unrevoked key {key_id}")
    repo.revoke_key(engine, found[0], now or datetime.now(timezone.utc), actor)


def key_json(key: repo.Key) -> dict:
    return {"id": key.id, "system": key.mnemonic, "scopes": list(key.scopes),
            "created_at": utc_iso(key.created_at), "revoked": key.revoked}


# -- who is calling ---------------------------------------------------------------------------

def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise Denied(401, "send Authorization: Bearer <key or session token>")
    return authorization[7:].strip()


def system(engine, authorization: str | None, scope: str) -> Caller:
    """The IS holding a key with ``scope``, or Denied (401 unknown key, 403 missing scope)."""
    owner = repo.key_owner(engine, digest(_bearer(authorization)))
    if owner is None or not owner.enabled:
        raise Denied(401, "unknown, revoked or disabled key")
    if scope not in owner.scopes:
        raise Denied(403, f"this key lacks the scope {scope}")
    return Caller(mnemonic=owner.mnemonic, inn_le=owner.inn_le, scopes=owner.scopes)


def operator(engine, authorization: str | None, *roles: str,
             now: datetime | None = None) -> Caller:
    """The operator of a live session whose role is one of ``roles`` (any role when none)."""
    owner = repo.session_owner(engine, digest(_bearer(authorization)),
                               now or datetime.now(timezone.utc))
    if owner is None:
        raise Denied(401, "unknown or expired session (POST /api/v1/session)")
    if roles and owner[1] not in roles:
        raise Denied(403, f"a {owner[1]} may not do this")
    return Caller(username=owner[0], role=owner[1])


def login(engine, username: str, password: str,
          now: datetime | None = None) -> tuple[str, str, datetime]:
    """(session token, role, expiry) for a correct password of an enabled operator."""
    now = now or datetime.now(timezone.utc)
    found = repo.operator(engine, username)
    # an unknown user costs the same hash as a known one: no user enumeration by timing
    ok = check_password(password, found.password_hash if found else _DUMMY)
    if not found or found.disabled or not ok:
        raise Denied(401, "wrong username or password")
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=SESSION_HOURS)
    repo.open_session(engine, digest(token), username, now, expires)
    return token, found.role, expires


def logout(engine, token: str, now: datetime | None = None) -> bool:
    """End the session of ``token`` (the console's log-out button); False when it was not live."""
    return repo.close_session(engine, digest(token), now or datetime.now(timezone.utc))


def session(engine, token: str | None, now: datetime | None = None) -> Caller | None:
    """The operator of a live session token (the console's cookie), or None."""
    if not token:
        return None
    owner = repo.session_owner(engine, digest(token), now or datetime.now(timezone.utc))
    return Caller(username=owner[0], role=owner[1]) if owner else None


def add_operator(engine, username: str, role: str, password: str, actor: str,
                 now: datetime | None = None) -> None:
    if role not in ROLES:
        raise Denied(400, f"role is one of {', '.join(ROLES)}")
    if len(password) < 12:
        raise Denied(400, "a password has at least 12 characters")
    repo.add_operator(engine, username, role, hash_password(password),
                      now or datetime.now(timezone.utc), actor)


_DUMMY = "scrypt${}${}${}${}${}".format(_N, _R, _P, base64.b64encode(b"\0" * 16).decode(),
                                        base64.b64encode(b"\0" * 32).decode())


def error(exc: Denied) -> tuple[int, str, bytes]:
    return exc.status, "application/json", json.dumps({"error": exc.message},
                                                       ensure_ascii=False).encode("utf-8")
