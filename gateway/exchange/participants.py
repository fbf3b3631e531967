"""Registered information systems (IS): who may talk to the gateway, by signing certificate.

The authorize stage asks :meth:`Participants.sender_of`; look-ups are cached briefly per process
(the hot path must not pay a database round trip per envelope; a disabled IS takes effect within
``ttl`` seconds). ``add_system``/``list_systems``/``set_enabled`` back the CLI."""
from __future__ import annotations

import dataclasses
import hashlib
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.engine import Engine

from gateway.faults import SenderIsNotRegistered
from gateway.storage.schema import information_systems, is_certificates, permissions

SEND, SERVE = "send", "serve"
ANY_ROOT = "*"


@dataclasses.dataclass(frozen=True)
class InformationSystem:
    mnemonic: str
    name: str
    inn_le: str | None
    ogrn: str | None
    enabled: bool


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


class Participants:
    def __init__(self, engine: Engine, ttl: float = 5.0):
        self.engine = engine
        self.ttl = ttl
        self._cache: dict[str, tuple[float, InformationSystem | None]] = {}
        self._lock = threading.Lock()

    def by_certificate(self, cert: x509.Certificate) -> InformationSystem | None:
        key = fingerprint(cert)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(information_systems)
                .join(is_certificates, is_certificates.c.mnemonic == information_systems.c.mnemonic)
                .where(is_certificates.c.fingerprint == key)).first()
        found = InformationSystem(row.mnemonic, row.name, row.inn_le, row.ogrn, row.enabled) if row else None
        with self._lock:
            self._cache[key] = (now + self.ttl, found)
        return found

    def _permissions(self) -> dict[tuple[str, str], set[tuple[str, str]]]:
        """(role, namespace) -> {(mnemonic, root)}: the whole (small) table, cached for ``ttl``."""
        now = time.monotonic()
        cached = self._cache.get("__permissions__")
        if cached and cached[0] > now:
            return cached[1]
        table: dict[tuple[str, str], set[tuple[str, str]]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(select(permissions)):
                table.setdefault((row.role, row.namespace_uri), set()).add((row.mnemonic, row.root_element))
        with self._lock:
            self._cache["__permissions__"] = (now + self.ttl, table)
        return table

    def allowed(self, mnemonic: str, role: str, namespace: str, root: str) -> bool:
        entries = self._permissions().get((role, namespace), ())
        return (mnemonic, root) in entries or (mnemonic, ANY_ROOT) in entries

    def providers(self, namespace: str, root: str) -> list[str]:
        """External information systems that serve this business type, in a stable order."""
        entries = self._permissions().get((SERVE, namespace), ())
        return sorted({m for (m, r) in entries if r in (root, ANY_ROOT)})

    def enabled(self, mnemonic: str) -> bool:
        now = time.monotonic()
        cached = self._cache.get("__enabled__")
        if not cached or cached[0] <= now:
            with self.engine.connect() as conn:
                table = {r.mnemonic: r.enabled for r in conn.execute(
                    select(information_systems.c.mnemonic, information_systems.c.enabled))}
            with self._lock:
                self._cache["__enabled__"] = cached = (now + self.ttl, table)
        return bool(cached[1].get(mnemonic))

    def sender_of(self, cert: x509.Certificate) -> InformationSystem:
        system = self.by_certificate(cert)
        if system is None:
            raise SenderIsNotRegistered(
                f"the signing certificate (SHA-256 {fingerprint(cert)}) belongs to no registered "
                "information system", code="SENDER_IS_NOT_REGISTERED")
        if not system.enabled:
            raise SenderIsNotRegistered(f"information system {system.mnemonic} is disabled",
                                        code="SENDER_IS_DISABLED")
        return system


def add_system(engine: Engine, mnemonic: str, name: str, certificates: list[x509.Certificate],
               *, inn_le: str | None = None, ogrn: str | None = None) -> None:
    """Register an IS with its certificates, or add certificates to an existing one."""
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        exists = conn.execute(select(information_systems.c.mnemonic)
                              .where(information_systems.c.mnemonic == mnemonic)).first()
        if not exists:
            conn.execute(information_systems.insert().values(
                mnemonic=mnemonic, name=name, inn_le=inn_le, ogrn=ogrn, enabled=True,
                created_at=now))
        for cert in certificates:
            key = fingerprint(cert)
            if conn.execute(select(is_certificates.c.fingerprint)
                            .where(is_certificates.c.fingerprint == key)).first():
                continue
            conn.execute(is_certificates.insert().values(
                fingerprint=key, mnemonic=mnemonic, subject=cert.subject.rfc4514_string(),
                certificate_pem=cert.public_bytes(Encoding.PEM).decode("ascii"), added_at=now))


def list_systems(engine: Engine) -> list[InformationSystem]:
    with engine.connect() as conn:
        rows = conn.execute(select(information_systems).order_by(information_systems.c.mnemonic))
        return [InformationSystem(r.mnemonic, r.name, r.inn_le, r.ogrn, r.enabled) for r in rows]


def set_enabled(engine: Engine, mnemonic: str, enabled: bool) -> bool:
    from sqlalchemy import update

    with engine.begin() as conn:
        result = conn.execute(update(information_systems)
                              .where(information_systems.c.mnemonic == mnemonic)
                              .values(enabled=enabled))
        return result.rowcount == 1


def grant(engine: Engine, mnemonic: str, role: str, namespace: str, root: str = ANY_ROOT) -> None:
    """Allow ``mnemonic`` to send (or serve) a business type; idempotent."""
    if role not in (SEND, SERVE):
        raise ValueError(f"role must be {SEND} or {SERVE}")
    with engine.begin() as conn:
        exists = conn.execute(select(permissions.c.id).where(
            permissions.c.mnemonic == mnemonic, permissions.c.role == role,
            permissions.c.namespace_uri == namespace, permissions.c.root_element == root)).first()
        if not exists:
            conn.execute(permissions.insert().values(mnemonic=mnemonic, role=role,
                                                     namespace_uri=namespace, root_element=root))


def revoke_grant(engine: Engine, mnemonic: str, role: str, namespace: str, root: str = ANY_ROOT) -> bool:
    from sqlalchemy import delete

    with engine.begin() as conn:
        result = conn.execute(delete(permissions).where(
            permissions.c.mnemonic == mnemonic, permissions.c.role == role,
            permissions.c.namespace_uri == namespace, permissions.c.root_element == root))
        return result.rowcount > 0


def list_grants(engine: Engine, mnemonic: str | None = None) -> list[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        query = select(permissions.c.mnemonic, permissions.c.role, permissions.c.namespace_uri,
                       permissions.c.root_element).order_by(permissions.c.mnemonic, permissions.c.role,
                                                            permissions.c.namespace_uri)
        if mnemonic:
            query = query.where(permissions.c.mnemonic == mnemonic)
        return [tuple(r) for r in conn.execute(query)]
