"""Registered information systems (IS): who may talk to the gateway, by signing certificate.

The authorize stage asks :meth:`Participants.sender_of`; look-ups are cached briefly per process
(the hot path must not pay a database round trip per envelope; a disabled IS takes effect within
``ttl`` seconds). ``add_system``/``list_systems``/``set_enabled`` back the CLI."""
from __future__ import annotations

import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from gateway.faults import SenderIsNotRegistered
from signing import certificates
from gateway.storage import participants as repo
from gateway.storage.participants import InformationSystem

__all__ = ["ANY_ROOT", "InformationSystem", "Participants", "SEND", "SERVE", "add_system",
           "fingerprint", "grant", "list_grants", "list_systems", "revoke_grant", "set_enabled"]

SEND, SERVE = "send", "serve"
ANY_ROOT = "*"


#: SHA-256 of a certificate's DER, in hex: how registered systems are looked up (worked out once
#: per certificate object: signing/certificates.py)
fingerprint = certificates.fingerprint


class Participants:
    def __init__(self, engine, ttl: float = 5.0):
        self.engine = engine
        self.ttl = ttl
        self._cache: dict[str, tuple[float, InformationSystem | None]] = {}
        self._lock = threading.Lock()

    def by_certificate(self, cert: x509.Certificate) -> InformationSystem | None:
        return self.by_fingerprint(fingerprint(cert))

    def known_fingerprint(self, key: str) -> bool:
        """Whether a certificate with this SHA-256 (of its DER) belongs to a registered IS."""
        return self.by_fingerprint(key) is not None

    def by_fingerprint(self, key: str) -> InformationSystem | None:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        found = repo.by_fingerprint(self.engine, key)
        with self._lock:
            if len(self._cache) >= 10_000:  # strangers' certificates must not grow it unbounded
                self._cache.clear()
            self._cache[key] = (now + self.ttl, found)
        return found

    def _permissions(self) -> dict[tuple[str, str], set[tuple[str, str]]]:
        """(role, namespace) -> {(mnemonic, root)}: the whole (small) table, cached for ``ttl``."""
        now = time.monotonic()
        cached = self._cache.get("__permissions__")
        if cached and cached[0] > now:
            return cached[1]
        table: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for mnemonic, role, namespace, root in repo.permission_rows(self.engine):
            table.setdefault((role, namespace), set()).add((mnemonic, root))
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
            table = repo.enabled_flags(self.engine)
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


def add_system(engine, mnemonic: str, name: str, certificates: list[x509.Certificate],
               *, inn_le: str | None = None, ogrn: str | None = None, now=None) -> None:
    """Register an IS with its certificates, or add certificates to an existing one."""
    from datetime import datetime, timezone

    repo.add_system(engine, mnemonic, name,
                    [(fingerprint(c), c.subject.rfc4514_string(),
                      c.public_bytes(Encoding.PEM).decode("ascii")) for c in certificates],
                    inn_le=inn_le, ogrn=ogrn, now=now or datetime.now(timezone.utc))


list_systems = repo.list_systems
set_enabled = repo.set_enabled
list_grants = repo.list_grants


def grant(engine, mnemonic: str, role: str, namespace: str, root: str = ANY_ROOT) -> None:
    """Allow ``mnemonic`` to send (or serve) a business type; idempotent."""
    if role not in (SEND, SERVE):
        raise ValueError(f"role must be {SEND} or {SERVE}")
    repo.grant(engine, mnemonic, role, namespace, root)


def revoke_grant(engine, mnemonic: str, role: str, namespace: str, root: str = ANY_ROOT) -> bool:
    return repo.revoke_grant(engine, mnemonic, role, namespace, root)
