"""Repository of access: scoped API keys of information systems (the ``api_tokens`` table of
0004, which gained scopes in 0010), operators with roles, and their sessions. Only hashes are
stored; every change is journalled with its actor (gateway/storage/audit.py) in its own
transaction."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from gateway.storage import audit
from gateway.storage.db import write_transaction
from gateway.storage.schema import api_tokens, information_systems, operator_sessions, operators

#: what a token issued before scopes existed may do
LEGACY_SCOPES = ("history:read",)


@dataclasses.dataclass(frozen=True)
class Key:
    id: str  # the first 12 hex digits of the key's SHA-256: names it without revealing it
    mnemonic: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked: bool


@dataclasses.dataclass(frozen=True)
class KeyOwner:
    mnemonic: str
    inn_le: str | None
    enabled: bool
    scopes: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Operator:
    username: str
    role: str
    password_hash: str
    disabled: bool


def _scopes(value: str | None) -> tuple[str, ...]:
    return tuple(value.split()) if value else LEGACY_SCOPES


def issue_key(engine: Engine, token_sha256: str, mnemonic: str, scopes: list[str], now: datetime,
              actor: str, replaces: str | None = None) -> str:
    """Store a new key (and revoke the one it ``replaces``: a rotation, in one transaction);
    the new key's id."""
    with write_transaction(engine) as conn:
        conn.execute(insert(api_tokens).values(token_sha256=token_sha256, mnemonic=mnemonic,
                                               created_at=now, revoked=False,
                                               scopes=" ".join(scopes)))
        detail = {"key": token_sha256[:12], "mnemonic": mnemonic, "scopes": scopes}
        if replaces:
            conn.execute(update(api_tokens).where(api_tokens.c.token_sha256 == replaces)
                         .values(revoked=True, revoked_at=now))
            detail["replaces"] = replaces[:12]
        audit.record(conn, now, actor, "key-rotated" if replaces else "key-issued", detail)
    return token_sha256[:12]


def key_owner(engine: Engine, token_sha256: str) -> KeyOwner | None:
    """Who an unrevoked key belongs to and what it may do, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens.c.mnemonic, api_tokens.c.scopes,
                                  information_systems.c.inn_le, information_systems.c.enabled)
                           .join(information_systems,
                                 information_systems.c.mnemonic == api_tokens.c.mnemonic)
                           .where(api_tokens.c.token_sha256 == token_sha256,
                                  api_tokens.c.revoked.is_(False))).first()
    return KeyOwner(row.mnemonic, row.inn_le, row.enabled, _scopes(row.scopes)) if row else None


def keys(engine: Engine, mnemonic: str | None = None) -> list[Key]:
    query = select(api_tokens).order_by(api_tokens.c.created_at)
    if mnemonic is not None:
        query = query.where(api_tokens.c.mnemonic == mnemonic)
    with engine.connect() as conn:
        return [Key(r.token_sha256[:12], r.mnemonic, _scopes(r.scopes), r.created_at, r.revoked)
                for r in conn.execute(query)]


def find_key(engine: Engine, key_id: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(full hash, mnemonic, scopes) of the unrevoked key named by its id (a hash prefix)."""
    if len(key_id) < 8:
        return None
    with engine.connect() as conn:
        rows = conn.execute(select(api_tokens.c.token_sha256, api_tokens.c.mnemonic,
                                   api_tokens.c.scopes)
                            .where(api_tokens.c.token_sha256.startswith(key_id.lower(),
                                                                        autoescape=True),
                                   api_tokens.c.revoked.is_(False))).all()
    return (rows[0].token_sha256, rows[0].mnemonic, _scopes(rows[0].scopes)) if len(rows) == 1 else None


def revoke_key(engine: Engine, token_sha256: str, now: datetime, actor: str) -> bool:
    with write_transaction(engine) as conn:
        done = conn.execute(update(api_tokens).where(api_tokens.c.token_sha256 == token_sha256,
                                                     api_tokens.c.revoked.is_(False))
                            .values(revoked=True, revoked_at=now)).rowcount == 1
        if done:
            audit.record(conn, now, actor, "key-revoked", {"key": token_sha256[:12]})
    return done


# -- operators --------------------------------------------------------------------------------

def add_operator(engine: Engine, username: str, role: str, password_hash: str, now: datetime,
                 actor: str) -> None:
    """Create the operator, or set a new role and password for an existing one."""
    with write_transaction(engine) as conn:
        exists = conn.execute(select(operators.c.username)
                              .where(operators.c.username == username)).first()
        if exists:
            conn.execute(update(operators).where(operators.c.username == username)
                         .values(role=role, password_hash=password_hash, disabled=False))
        else:
            conn.execute(insert(operators).values(username=username, role=role,
                                                  password_hash=password_hash, disabled=False,
                                                  created_at=now))
        audit.record(conn, now, actor, "operator-changed" if exists else "operator-added",
                     {"username": username, "role": role})


def operator(engine: Engine, username: str) -> Operator | None:
    with engine.connect() as conn:
        row = conn.execute(select(operators).where(operators.c.username == username)).first()
    return Operator(row.username, row.role, row.password_hash, row.disabled) if row else None


def list_operators(engine: Engine) -> list[Operator]:
    with engine.connect() as conn:
        return [Operator(r.username, r.role, "", r.disabled)
                for r in conn.execute(select(operators).order_by(operators.c.username))]


def disable_operator(engine: Engine, username: str, now: datetime, actor: str) -> bool:
    with write_transaction(engine) as conn:
        done = conn.execute(update(operators).where(operators.c.username == username)
                            .values(disabled=True)).rowcount == 1
        if done:
            conn.execute(update(operator_sessions).where(operator_sessions.c.username == username)
                         .values(expires_at=now))
            audit.record(conn, now, actor, "operator-disabled", {"username": username})
    return done


def open_session(engine: Engine, token_sha256: str, username: str, now: datetime,
                 expires_at: datetime) -> None:
    with write_transaction(engine) as conn:
        conn.execute(insert(operator_sessions).values(token_sha256=token_sha256,
                                                      username=username, created_at=now,
                                                      expires_at=expires_at))
        audit.record(conn, now, f"operator:{username}", "session-opened", {})


def session_owner(engine: Engine, token_sha256: str, now: datetime) -> tuple[str, str] | None:
    """(username, role) of an unexpired session of an enabled operator, or None."""
    with engine.connect() as conn:
        row = conn.execute(select(operators.c.username, operators.c.role)
                           .join(operator_sessions,
                                 operator_sessions.c.username == operators.c.username)
                           .where(operator_sessions.c.token_sha256 == token_sha256,
                                  operator_sessions.c.expires_at > now,
                                  operators.c.disabled.is_(False))).first()
    return (row.username, row.role) if row else None


def close_session(engine: Engine, token_sha256: str, now: datetime) -> bool:
    """End a session now (a console log-out); journalled like its opening."""
    with write_transaction(engine) as conn:
        row = conn.execute(select(operator_sessions.c.username)
                           .where(operator_sessions.c.token_sha256 == token_sha256,
                                  operator_sessions.c.expires_at > now)).first()
        if row is None:
            return False
        conn.execute(update(operator_sessions)
                     .where(operator_sessions.c.token_sha256 == token_sha256)
                     .values(expires_at=now))
        audit.record(conn, now, f"operator:{row.username}", "session-closed", {})
    return True
