"""Repository of information systems, their certificates and their permissions."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from gateway.storage.db import write_transaction
from gateway.storage.schema import information_systems, is_certificates, permissions


@dataclasses.dataclass(frozen=True)
class InformationSystem:
    mnemonic: str
    name: str
    inn_le: str | None
    ogrn: str | None
    enabled: bool


def _system(row) -> InformationSystem:
    return InformationSystem(row.mnemonic, row.name, row.inn_le, row.ogrn, row.enabled)


def by_fingerprint(engine: Engine, fingerprint: str) -> InformationSystem | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(information_systems)
            .join(is_certificates, is_certificates.c.mnemonic == information_systems.c.mnemonic)
            .where(is_certificates.c.fingerprint == fingerprint)).first()
    return _system(row) if row else None


def permission_rows(engine: Engine) -> list[tuple[str, str, str, str]]:
    """Every (mnemonic, role, namespace, root) permission."""
    with engine.connect() as conn:
        return [(r.mnemonic, r.role, r.namespace_uri, r.root_element)
                for r in conn.execute(select(permissions))]


def enabled_flags(engine: Engine) -> dict[str, bool]:
    with engine.connect() as conn:
        return {r.mnemonic: r.enabled for r in conn.execute(
            select(information_systems.c.mnemonic, information_systems.c.enabled))}


def add_system(engine: Engine, mnemonic: str, name: str, certificates: list[tuple[str, str, str]],
               *, inn_le: str | None, ogrn: str | None, now: datetime) -> None:
    """Insert the IS if new, and each (fingerprint, subject, PEM) certificate not yet known."""
    with write_transaction(engine) as conn:
        exists = conn.execute(select(information_systems.c.mnemonic)
                              .where(information_systems.c.mnemonic == mnemonic)).first()
        if not exists:
            conn.execute(information_systems.insert().values(
                mnemonic=mnemonic, name=name, inn_le=inn_le, ogrn=ogrn, enabled=True,
                created_at=now))
        for key, subject, pem in certificates:
            if conn.execute(select(is_certificates.c.fingerprint)
                            .where(is_certificates.c.fingerprint == key)).first():
                continue
            conn.execute(is_certificates.insert().values(
                fingerprint=key, mnemonic=mnemonic, subject=subject, certificate_pem=pem,
                added_at=now))


def list_systems(engine: Engine) -> list[InformationSystem]:
    with engine.connect() as conn:
        rows = conn.execute(select(information_systems).order_by(information_systems.c.mnemonic))
        return [_system(r) for r in rows]


def set_enabled(engine: Engine, mnemonic: str, enabled: bool) -> bool:
    with write_transaction(engine) as conn:
        result = conn.execute(update(information_systems)
                              .where(information_systems.c.mnemonic == mnemonic)
                              .values(enabled=enabled))
        return result.rowcount == 1


def grant(engine: Engine, mnemonic: str, role: str, namespace: str, root: str) -> None:
    with write_transaction(engine) as conn:
        exists = conn.execute(select(permissions.c.id).where(
            permissions.c.mnemonic == mnemonic, permissions.c.role == role,
            permissions.c.namespace_uri == namespace, permissions.c.root_element == root)).first()
        if not exists:
            conn.execute(permissions.insert().values(mnemonic=mnemonic, role=role,
                                                     namespace_uri=namespace, root_element=root))


def revoke_grant(engine: Engine, mnemonic: str, role: str, namespace: str, root: str) -> bool:
    with write_transaction(engine) as conn:
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
