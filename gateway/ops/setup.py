"""``gateway setup``: everything a fresh machine needs before the gateway can start.

Idempotent: what exists is reused (the PKI, the keys, the database), so ``make run`` can be run
again and again. Creates in ``data_dir``:
  pki/ca/             the demo CA (root → intermediate), its CRLs (served by the CA stub)
  pki/gateway.{key,pem}  the gateway's receipt-signing key and certificate (+ intermediate)
  clients/<IS>.{key,pem} the demo organisations' signing keys (their heads' certificates) and
                       the demo providers' (LICENSOR, TAXOFFICE)
  trust/anchors, trust/intermediates   what the gateway trusts
  gateway.db          the SQLite database, migrated with Alembic (unless a URL is configured)
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from envelopes.demo_data import DEMO
from gateway.config import Settings
from envelopes import ns
from gateway.pipeline.participants import SEND, SERVE, add_system, grant
from gateway.domains.base import discover
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from registry_stubs.pki import Pki, key_pem

#: GATEWAY_DEMO_ALGORITHM -> the CAs' key type
_CA_KEY_TYPES = {"rsa-ec": "ec-p384", "gost2012-256": "gost2012-256",
                 "gost2012-512": "gost2012-512"}


#: external providers of the demo: (mnemonic, name, organisation in the certificate)
_DEMO_PROVIDERS = (("LICENSOR", "Лицензирующий орган (демо)", "Licensing authority"),
                   ("TAXOFFICE", "Налоговый орган (демо)", "Tax office"))


@dataclasses.dataclass(frozen=True)
class ClientIdentity:
    mnemonic: str
    key_path: Path
    cert_path: Path


def _write_key_pair(issued, key_path: Path, cert_path: Path, chain: list[x509.Certificate]) -> None:
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key_pem(issued.private_key)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [issued.certificate, *chain])
    cert_path.write_bytes(pem)


def demo_tsa(settings: Settings):
    """The demo TSA (registry_stubs/tsa.py) with the time-stamping certificate setup issued."""
    from registry_stubs.tsa import TimestampAuthority

    pki = open_pki(settings)
    tsa = pki.issued("tsa")
    return TimestampAuthority(tsa.private_key, tsa.certificate, pki.intermediates())


def client_identity(settings: Settings, mnemonic: str) -> ClientIdentity:
    base = settings.data_dir / "clients"
    return ClientIdentity(mnemonic, base / f"{mnemonic}.key", base / f"{mnemonic}.pem")


def open_pki(settings: Settings, algorithm: str | None = None) -> Pki:
    """The demo PKI, created if there is none. ``algorithm`` (else GATEWAY_DEMO_ALGORITHM)
    chooses its key type; an existing PKI of another kind is refused (a new data directory is
    the way to switch), and without either the existing one is opened as it is."""
    chosen = algorithm or settings.demo_algorithm
    return Pki.init(settings.pki_dir / "ca", base_url=settings.ca_url,
                    ca_key_type=_CA_KEY_TYPES[chosen or "rsa-ec"], reuse_any_key_type=not chosen)


def _leaf_key_types(pki: Pki) -> tuple[str, str]:
    """(organisations, gateway and providers): a GOST PKI issues GOST keys of its own size."""
    if pki.ca_key_type in ("gost2012-256", "gost2012-512"):
        return pki.ca_key_type, pki.ca_key_type
    return "rsa2048", "ec-p256"


def issue_demo_client(settings: Settings, mnemonic: str, key_type: str, *,
                      pki: Pki | None = None) -> ClientIdentity:
    """Issue a demo organisation's certificate (its head, with ИНН/ОГРН/СНИЛС) with a key of
    ``key_type`` and write it where ``setup`` registers it and ``load_client`` reads it. Why
    apart from ``setup``: ``make bench`` signs requests in RSA, ECDSA or GOST and issues the
    client's key of that kind before ``setup`` registers it."""
    pki = pki or open_pki(settings)
    org, snils = DEMO[mnemonic]
    head = org.head
    issued = pki.issue(
        mnemonic.lower(), common_name=f"{head.last_name} {head.first_name} {head.middle_name or ''}".strip(),
        organization=org.short_name or org.full_name, title=head.position,
        inn=head.inn, inn_le=org.inn, ogrn=org.ogrn, snils=snils, key_type=key_type)
    ident = client_identity(settings, mnemonic)
    _write_key_pair(issued, ident.key_path, ident.cert_path, list(pki.intermediates()))
    return ident


def setup(settings: Settings, *, echo=print) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pki = open_pki(settings)
    chain = list(pki.intermediates())
    org_key_type, own_key_type = _leaf_key_types(pki)

    if not (settings.signing_key_path.exists() and settings.signing_cert_path.exists()):
        issued = pki.issue("gateway", common_name=settings.human_readable_name,
                           organization="Gateway operator", key_type=own_key_type)
        _write_key_pair(issued, settings.signing_key_path, settings.signing_cert_path, chain)
        echo(f"issued the gateway's signing certificate: {settings.signing_cert_path}")

    if "tsa" not in pki.names():  # the demo time-stamping authority's certificate (RFC 3161)
        pki.issue("tsa", common_name="Demo time-stamping authority", organization="Demo TSA",
                  key_type=own_key_type, key_usage=("digital_signature", "non_repudiation"),
                  extended_key_usage=("time_stamping",))
        echo("issued the demo TSA's certificate")

    clients = {}
    for mnemonic in DEMO:
        ident = client_identity(settings, mnemonic)
        if not (ident.key_path.exists() and ident.cert_path.exists()):
            issue_demo_client(settings, mnemonic, org_key_type, pki=pki)
            echo(f"issued a demo certificate for {mnemonic}: {ident.cert_path}")
        clients[mnemonic] = ident

    anchors = settings.trust_dir / "anchors"
    intermediates = settings.trust_dir / "intermediates"
    anchors.mkdir(parents=True, exist_ok=True)
    intermediates.mkdir(parents=True, exist_ok=True)
    for i, cert in enumerate(pki.trust_anchors()):
        (anchors / f"demo-root-{i}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for i, cert in enumerate(chain):
        (intermediates / f"demo-intermediate-{i}.pem").write_bytes(
            cert.public_bytes(serialization.Encoding.PEM))

    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    providers = {}
    for mnemonic, name, organisation in _DEMO_PROVIDERS:
        ident = client_identity(settings, mnemonic)
        if not (ident.key_path.exists() and ident.cert_path.exists()):
            issued = pki.issue(mnemonic.lower(), common_name=name, organization=organisation,
                               key_type=own_key_type)
            _write_key_pair(issued, ident.key_path, ident.cert_path, chain)
            echo(f"issued a demo certificate for {name}: {ident.cert_path}")
        providers[mnemonic] = x509.load_pem_x509_certificates(ident.cert_path.read_bytes())[0]
    domains = discover()
    for mnemonic, (org, _snils) in DEMO.items():
        cert = x509.load_pem_x509_certificates(clients[mnemonic].cert_path.read_bytes())[0]
        add_system(engine, mnemonic, org.full_name, [cert], inn_le=org.inn, ogrn=org.ogrn)
        for namespace in domains:  # the demo organisations may send every built-in type
            grant(engine, mnemonic, SEND, namespace)
    # the demo providers: the licensing authority takes licence applications and decides on
    # them; the tax office takes accepted reports and processes (or refuses) them
    for mnemonic, name, _organisation in _DEMO_PROVIDERS:
        add_system(engine, mnemonic, name, [providers[mnemonic]])
    grant(engine, "LICENSOR", SERVE, ns.LICENSING, "LicenceApplication")
    grant(engine, "TAXOFFICE", SERVE, ns.REPORTING, "ReportSubmission")
    engine.dispose()
    echo(f"database ready: {settings.resolved_database_url}")
