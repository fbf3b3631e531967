"""The ``gateway`` command: set up, serve, run the demo, administer participants and the PKI."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from gateway.config import Settings


def _settings() -> Settings:
    return Settings.from_env()


@click.group()
def main() -> None:
    """SMEV-style integration gateway."""


@main.command()
def setup() -> None:
    """Create the demo PKI, keys, trust store and database (idempotent)."""
    from gateway.setup import setup as do_setup

    do_setup(_settings(), echo=click.echo)


@main.command()
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
def serve(workers: int | None) -> None:
    """Serve the gateway with gunicorn on GATEWAY_HOST:GATEWAY_PORT."""
    from gateway.server import serve as do_serve

    do_serve(_settings(), workers=workers)


@main.command()
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
def run(workers: int | None) -> None:
    """Set up, start the registry stubs, and serve the gateway (what `make run` does)."""
    from gateway.server import serve as do_serve
    from gateway.setup import setup as do_setup

    settings = _settings()
    do_setup(settings, echo=click.echo)
    stubs = subprocess.Popen([sys.executable, "-m", "gateway.cli", "stubs", "serve"])
    try:
        _wait_for(f"{settings.ca_url}/health", stubs)
        click.echo(f"\nWSDL:      {settings.endpoint}?wsdl")
        click.echo(f"Endpoint:  {settings.endpoint} (SOAP 1.1 text/xml, SOAP 1.2 application/soap+xml)")
        click.echo("Demo:      make demo   (sends a signed SendRequest and prints the receipt)\n")
        do_serve(settings, workers=workers)
    finally:
        stubs.send_signal(signal.SIGTERM)
        stubs.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 15.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"{url} did not start (exit code {process.returncode})")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise click.ClickException(f"{url} did not answer within {timeout:.0f} s")


@main.command()
@click.option("--url", default=None, help="gateway endpoint (default: the configured one)")
@click.option("--sender", default="ROMASHKA", show_default=True)
def demo(url: str | None, sender: str) -> None:
    """Send a signed SendRequest to the running gateway and print the receipt."""
    from gateway.demo import run_demo

    run_demo(_settings(), url, sender, echo=click.echo)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations to GATEWAY_DATABASE_URL (or the SQLite default)."""
    from gateway.storage.db import make_engine
    from gateway.storage.migrate import upgrade

    settings = _settings()
    upgrade(make_engine(settings.resolved_database_url))
    click.echo(f"database at head: {settings.resolved_database_url}")


@main.group("is")
def information_systems() -> None:
    """Registered information systems (participants)."""


@information_systems.command("add")
@click.argument("mnemonic")
@click.option("--name", required=True)
@click.option("--cert", "certs", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--inn-le", default=None)
@click.option("--ogrn", default=None)
def is_add(mnemonic, name, certs, inn_le, ogrn) -> None:
    """Register MNEMONIC with one or more signing certificates (PEM)."""
    from cryptography import x509

    from gateway.participants import add_system
    from gateway.storage.db import make_engine

    loaded = [c for path in certs for c in x509.load_pem_x509_certificates(Path(path).read_bytes())[:1]]
    add_system(make_engine(_settings().resolved_database_url), mnemonic, name, loaded,
               inn_le=inn_le, ogrn=ogrn)
    click.echo(f"registered {mnemonic}")


@information_systems.command("list")
def is_list() -> None:
    from gateway.participants import list_systems
    from gateway.storage.db import make_engine

    for system in list_systems(make_engine(_settings().resolved_database_url)):
        state = "enabled" if system.enabled else "disabled"
        click.echo(f"{system.mnemonic}\t{state}\t{system.inn_le or '-'}\t{system.name}")


@information_systems.command("disable")
@click.argument("mnemonic")
def is_disable(mnemonic) -> None:
    _set_enabled(mnemonic, False)


@information_systems.command("enable")
@click.argument("mnemonic")
def is_enable(mnemonic) -> None:
    _set_enabled(mnemonic, True)


def _set_enabled(mnemonic: str, enabled: bool) -> None:
    from gateway.participants import set_enabled
    from gateway.storage.db import make_engine

    if not set_enabled(make_engine(_settings().resolved_database_url), mnemonic, enabled):
        raise click.ClickException(f"no information system {mnemonic}")
    click.echo(f"{mnemonic} {'enabled' if enabled else 'disabled'}")


@main.group()
def stubs() -> None:
    """Registry stubs (certification authority, registers)."""


@stubs.command("serve")
def stubs_serve() -> None:
    """Serve the CA stub (CRL, OCSP, CA certificates) at GATEWAY_CA_URL."""
    from urllib.parse import urlsplit

    from gateway.setup import open_pki
    from registry_stubs.ca import serve as serve_ca

    settings = _settings()
    open_pki(settings)
    where = urlsplit(settings.ca_url)
    server = serve_ca(settings.pki_dir / "ca", where.hostname, where.port or 80)
    click.echo(f"CA stub on {settings.ca_url}")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()


@main.group()
def journal() -> None:
    """The append-only journal."""


@journal.command("verify")
def journal_verify() -> None:
    """Recompute the journal's hash chain and report the first altered entry, if any."""
    from gateway.storage import journal as j
    from gateway.storage.db import make_engine

    with make_engine(_settings().resolved_database_url).connect() as conn:
        report = j.verify_chain(conn)
    if report.intact:
        click.echo(f"journal intact: {report.entries} entries")
    else:
        raise click.ClickException(f"journal altered at entry id {report.first_broken_id}")


if __name__ == "__main__":
    main()
