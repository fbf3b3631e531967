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


def _actor() -> str:
    """Who ran the command, for the journal of administrative actions."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _engine():
    from gateway.storage.db import make_engine

    return make_engine(_settings().resolved_database_url)


def _audit(engine, action: str, detail: dict) -> None:
    from datetime import datetime, timezone

    from gateway.storage.audit import record_now

    record_now(engine, datetime.now(timezone.utc), _actor(), action, detail)


@click.group()
@click.version_option(package_name="smev-gateway", prog_name="gateway")
def main() -> None:
    """SMEV-style integration gateway."""


@main.command()
def setup() -> None:
    """Create the demo PKI, keys, trust store and database (idempotent)."""
    from gateway.ops.setup import setup as do_setup

    do_setup(_settings(), echo=click.echo)


@main.command()
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
def serve(workers: int | None) -> None:
    """Serve the gateway with gunicorn on GATEWAY_HOST:GATEWAY_PORT."""
    from gateway.http.server import serve as do_serve

    do_serve(_settings(), workers=workers)


@main.command()
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
def run(workers: int | None) -> None:
    """Set up, start the registry stubs, and serve the gateway (what `make run` does)."""
    from gateway.http.server import serve as do_serve
    from gateway.ops.setup import setup as do_setup

    settings = _settings()
    do_setup(settings, echo=click.echo)
    stubs = subprocess.Popen([sys.executable, "-m", "gateway.ops.cli", "stubs", "serve"])
    try:
        _wait_for(f"{settings.ca_url}/health", stubs)
        _wait_for(f"{settings.registers_url}/health", stubs)
        click.echo(f"\nWSDL:      {settings.endpoint}?wsdl")
        click.echo(f"Endpoint:  {settings.endpoint} (SOAP 1.1 text/xml, SOAP 1.2 application/soap+xml)")
        click.echo("Demo:      make demo   (sends a signed SendRequest and prints the receipt)")
        click.echo(f"Console:   {settings.endpoint[:-len('/ws')]}/console/   (log in as an operator: "
                   "gateway operators add NAME --role administrator)")
        from signing.gost import backend

        click.echo(f"Crypto:    {backend()}\n")
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
    from gateway.ops.demo import run_demo

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

    from gateway.pipeline.participants import add_system
    from gateway.storage.db import make_engine

    loaded = [c for path in certs for c in x509.load_pem_x509_certificates(Path(path).read_bytes())[:1]]
    engine = make_engine(_settings().resolved_database_url)
    add_system(engine, mnemonic, name, loaded, inn_le=inn_le, ogrn=ogrn)
    _audit(engine, "is-added", {"mnemonic": mnemonic, "name": name, "inn_le": inn_le,
                                "certificates": len(loaded)})
    click.echo(f"registered {mnemonic}")


@information_systems.command("list")
def is_list() -> None:
    from gateway.pipeline.participants import list_systems
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


@information_systems.command("allow")
@click.argument("mnemonic")
@click.argument("role", type=click.Choice(["send", "serve"]))
@click.argument("namespace")
@click.argument("root", default="*")
def is_allow(mnemonic, role, namespace, root) -> None:
    """Let MNEMONIC send (or serve) the business type NAMESPACE [ROOT] ('*': every root)."""
    from gateway.pipeline.participants import grant
    from gateway.storage.db import make_engine

    engine = make_engine(_settings().resolved_database_url)
    grant(engine, mnemonic, role, namespace, root)
    _audit(engine, "permission-granted", {"mnemonic": mnemonic, "role": role,
                                          "namespace": namespace, "root": root})
    click.echo(f"{mnemonic} may {role} {{{namespace}}}{root}")


@information_systems.command("deny")
@click.argument("mnemonic")
@click.argument("role", type=click.Choice(["send", "serve"]))
@click.argument("namespace")
@click.argument("root", default="*")
def is_deny(mnemonic, role, namespace, root) -> None:
    """Withdraw a permission given with `gateway is allow`."""
    from gateway.pipeline.participants import revoke_grant
    from gateway.storage.db import make_engine

    engine = make_engine(_settings().resolved_database_url)
    if not revoke_grant(engine, mnemonic, role, namespace, root):
        raise click.ClickException("no such permission")
    _audit(engine, "permission-withdrawn", {"mnemonic": mnemonic, "role": role,
                                            "namespace": namespace, "root": root})
    click.echo(f"{mnemonic} may no longer {role} {{{namespace}}}{root}")


@information_systems.command("permissions")
@click.argument("mnemonic", required=False)
def is_permissions(mnemonic) -> None:
    """List send/serve permissions (of one MNEMONIC, or all)."""
    from gateway.pipeline.participants import list_grants
    from gateway.storage.db import make_engine

    for who, role, namespace, root in list_grants(make_engine(_settings().resolved_database_url), mnemonic):
        click.echo(f"{who}\t{role}\t{{{namespace}}}{root}")


@information_systems.command("token")
@click.argument("mnemonic")
def is_token(mnemonic) -> None:
    """Issue a bearer token for MNEMONIC's use of the REST history API (shown once)."""
    from gateway.http.history import new_token
    from gateway.pipeline.participants import list_systems
    from gateway.storage.db import make_engine

    engine = make_engine(_settings().resolved_database_url)
    if mnemonic not in {s.mnemonic for s in list_systems(engine)}:
        raise click.ClickException(f"no information system {mnemonic}")
    click.echo(new_token(engine, mnemonic))
    _audit(engine, "key-issued", {"mnemonic": mnemonic, "scopes": ["history:read"]})


def _set_enabled(mnemonic: str, enabled: bool) -> None:
    from gateway.pipeline.participants import set_enabled
    from gateway.storage.db import make_engine

    engine = make_engine(_settings().resolved_database_url)
    if not set_enabled(engine, mnemonic, enabled):
        raise click.ClickException(f"no information system {mnemonic}")
    _audit(engine, "is-enabled" if enabled else "is-disabled", {"mnemonic": mnemonic})
    click.echo(f"{mnemonic} {'enabled' if enabled else 'disabled'}")


@main.group()
def pki() -> None:
    """The demo/test PKI in GATEWAY_DATA_DIR/pki/ca (served by `gateway stubs serve`)."""


@pki.command("init")
@click.option("--algorithm", type=click.Choice(["rsa-ec", "gost2012-256", "gost2012-512"]),
              default=None, help="key type of the CAs (default GATEWAY_DEMO_ALGORITHM); `gateway "
              "setup` then issues the gateway's and the demo organisations' keys of the same kind")
def pki_init(algorithm) -> None:
    """Create the root and intermediate CAs and their CRLs (or reuse them)."""
    from gateway.ops.setup import open_pki

    settings = _settings()
    try:
        ca = open_pki(settings, algorithm)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for cert in [*ca.trust_anchors(), *ca.intermediates()]:
        click.echo(f"{cert.subject.rfc4514_string()}  serial {cert.serial_number:x}")
    click.echo(f"CRLs and OCSP are served from {settings.ca_url} by `gateway stubs serve`")


@pki.command("issue")
@click.argument("name")
@click.option("--cn", "common_name", required=True, help="subject common name")
@click.option("--org", "organization", default=None)
@click.option("--title", default=None)
@click.option("--inn", default=None, help="person ИНН (OID 1.2.643.3.131.1.1)")
@click.option("--inn-le", default=None, help="legal entity ИНН (OID 1.2.643.100.4)")
@click.option("--ogrn", default=None, help="ОГРН (OID 1.2.643.100.1)")
@click.option("--snils", default=None, help="СНИЛС (OID 1.2.643.100.3)")
@click.option("--key-type", default="rsa2048",
              type=click.Choice(["rsa2048", "rsa3072", "ec-p256", "ec-p384", "gost2012-256",
                                 "gost2012-512"]), show_default=True)
@click.option("--days", type=int, default=365, show_default=True)
def pki_issue(name, common_name, organization, title, inn, inn_le, ogrn, snils, key_type, days) -> None:
    """Issue a leaf certificate NAME (key and certificate written as PEM in the PKI folder)."""
    from datetime import datetime, timedelta, timezone

    from gateway.ops.setup import open_pki

    now = datetime.now(timezone.utc)
    issued = open_pki(_settings()).issue(
        name, common_name=common_name, organization=organization, title=title, inn=inn,
        inn_le=inn_le, ogrn=ogrn, snils=snils, key_type=key_type, not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=days))
    click.echo(f"certificate: {issued.cert_path}\nprivate key: {issued.key_path}\n"
               f"serial:      {issued.certificate.serial_number:x}")


@pki.command("revoke")
@click.argument("name_or_serial")
@click.option("--reason", default="key_compromise", show_default=True)
def pki_revoke(name_or_serial, reason) -> None:
    """Revoke a certificate by NAME or hex serial; the CRL is reissued and OCSP answers revoked."""
    from gateway.ops.setup import open_pki

    target = name_or_serial
    ca = open_pki(_settings())
    if target not in ca.names():
        try:
            target = int(name_or_serial, 16)
        except ValueError:
            raise click.ClickException(f"no certificate named {name_or_serial}") from None
    serial = ca.revoke(target, reason=reason)
    click.echo(f"revoked serial {serial:x} ({reason})")


@main.group()
def stubs() -> None:
    """Registry stubs (certification authority, registers)."""


@stubs.command("serve")
def stubs_serve() -> None:
    """Serve the CA stub (GATEWAY_CA_URL) and the registers (GATEWAY_REGISTERS_URL)."""
    from urllib.parse import urlsplit

    from gateway.ops.setup import open_pki
    from registry_stubs.ca import serve as serve_ca
    from registry_stubs.registers import serve as serve_registers

    settings = _settings()
    open_pki(settings)
    ca = urlsplit(settings.ca_url)
    registers = urlsplit(settings.registers_url)
    servers = [serve_ca(settings.pki_dir / "ca", ca.hostname, ca.port or 80),
               serve_registers(registers.hostname, registers.port or 80,
                               state_file=settings.data_dir / "registers-state.json")]
    click.echo(f"CA stub on {settings.ca_url}; registers on {settings.registers_url}")
    if settings.tsa_url:  # the demo TSA, with the certificate `gateway setup` issued it
        from gateway.ops.setup import demo_tsa
        from registry_stubs.tsa import serve as serve_tsa

        tsa = urlsplit(settings.tsa_url)
        servers.append(serve_tsa(demo_tsa(settings), tsa.hostname, tsa.port or 80))
        click.echo(f"TSA stub on {settings.tsa_url}")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        for server in servers:
            server.shutdown()


@main.group()
def receipts() -> None:
    """Receipts and their trusted time (RFC 3161 tokens, GATEWAY_TSA_URL)."""


@receipts.command("stamp")
def receipts_stamp() -> None:
    """Obtain one token now for the receipts that have none (serving processes do it anyway)."""
    from datetime import datetime, timezone

    from gateway.ops.timestamps import stamp_round
    from gateway.storage.db import make_engine

    settings = _settings()
    if not settings.tsa_url:
        raise click.ClickException("GATEWAY_TSA_URL is not set")
    count = stamp_round(make_engine(settings.resolved_database_url), settings.tsa_url,
                        datetime.now(timezone.utc))
    click.echo(f"time-stamped {count} receipts")


@receipts.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--at", "at", default=None,
              help="the moment to judge at (ISO 8601, default now), e.g. after the certificate expired")
def receipts_verify(file: Path, at: str | None) -> None:
    """Prove that the receipt in FILE (as returned, or its MessageMetadata) was signed while the
    gateway's certificate was valid: signature, Merkle path, token, paths at the token's time."""
    from datetime import datetime, timezone

    from gateway.ops.timestamps import verify_receipt
    from gateway.storage.db import make_engine

    moment = datetime.now(timezone.utc)
    if at:
        moment = datetime.fromisoformat(at)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    settings = _settings()
    proof = verify_receipt(settings, make_engine(settings.resolved_database_url),
                           file.read_bytes(), moment)
    for line in proof.lines:
        click.echo(line)
    if not proof.proven:
        sys.exit(1)


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


@journal.command("prune")
@click.option("--days", type=int, default=None,
              help="keep the bytes of the last DAYS days (default: GATEWAY_JOURNAL_CONTENT_RETENTION_DAYS)")
def journal_prune(days) -> None:
    """Drop the kept bytes of old journal entries (their digests stay: the chain still verifies)."""
    from datetime import datetime, timedelta, timezone

    from gateway.storage import journal as j
    from gateway.storage.db import make_engine, write_transaction

    settings = _settings()
    days = settings.journal_content_retention_days if days is None else days
    if days <= 0:
        raise click.ClickException("retention is off (0 days): nothing to prune")
    with write_transaction(make_engine(settings.resolved_database_url)) as conn:
        count = j.prune_content(conn, datetime.now(timezone.utc) - timedelta(days=days))
    click.echo(f"dropped the bytes of {count} journal entries older than {days} days")


@main.group()
def outbox() -> None:
    """Register writes decided by handlers and carried out after commit."""


@outbox.command("list")
@click.option("--message-id", default=None, help="only the writes of this message")
@click.option("--state", type=click.Choice(["pending", "done", "dead"]), default=None)
def outbox_list(message_id, state) -> None:
    """List register writes: idempotency key, action, state, attempts (and why, if not done)."""
    from gateway.storage import outbox as rows
    from gateway.storage.db import make_engine

    engine = make_engine(_settings().resolved_database_url)
    for key, action, row_state, attempts in rows.states(engine, message_id):
        if state and row_state != state:
            continue
        reason = ""
        if row_state != "done":
            errors = rows.last_errors(engine, key.rsplit("/", 1)[0])
            index = int(key.rsplit("/", 1)[1]) - 1
            reason = f"  {errors[index]}" if index < len(errors) and errors[index] else ""
        click.echo(f"{key}  {action}  {row_state}  attempts={attempts}{reason}")


@outbox.command("dispatch")
def outbox_dispatch() -> None:
    """Carry out the due register writes once now (serving processes do this every second)."""
    from datetime import timedelta

    from gateway.registers import Registers
    from gateway.registers.outbox import Outbox
    from gateway.storage.db import make_engine

    settings = _settings()
    engine = make_engine(settings.resolved_database_url)
    done = Outbox(engine, Registers(settings.registers_url, timeout=settings.registers_timeout),
                  lease=timedelta(seconds=settings.outbox_lease_seconds)).dispatch_due()
    click.echo(f"{done} register write(s) attempted")


from gateway.ops.qa_commands import conformance, schemas, validate  # noqa: E402  (the QA kit's commands)

main.add_command(validate)
main.add_command(conformance)
main.add_command(schemas)
@main.group()
def webhooks() -> None:
    """Webhook subscriptions of information systems and their deliveries (docs/integration.md)."""


@webhooks.command("add")
@click.argument("mnemonic")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True,
              help="an event type (repeatable): application.created, application.status_changed, ...")
def webhooks_add(mnemonic, url, events) -> None:
    """Subscribe URL to EVENTs of MNEMONIC's organisation; prints the signing secret (once)."""
    from datetime import datetime, timezone

    from gateway.storage.participants import list_systems
    from gateway.webhooks import manage

    engine = _engine()
    if mnemonic not in {s.mnemonic for s in list_systems(engine)}:
        raise click.ClickException(f"no information system {mnemonic}")
    try:
        sub, secret = manage.subscribe(engine, mnemonic, url, list(events),
                                       datetime.now(timezone.utc), _actor())
    except manage.Invalid as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"subscription {sub.id}: {url} <- {' '.join(sub.events)}")
    click.echo(f"secret (shown once; X-Signature is HMAC-SHA256 with it): {secret}")


@webhooks.command("list")
@click.argument("mnemonic", required=False)
@click.option("--all", "show_all", is_flag=True, help="removed subscriptions too")
def webhooks_list(mnemonic, show_all) -> None:
    """List subscriptions: id, system, url, events."""
    from gateway.storage import webhooks as rows

    for sub in rows.subscriptions(_engine(), mnemonic, active_only=not show_all):
        state = "" if sub.active else "\tremoved"
        click.echo(f"{sub.id}\t{sub.mnemonic}\t{sub.url}\t{' '.join(sub.events)}{state}")


@webhooks.command("remove")
@click.argument("subscription_id", type=int)
def webhooks_remove(subscription_id) -> None:
    """Remove a subscription (its pending deliveries are dead-lettered)."""
    from datetime import datetime, timezone

    from gateway.storage import webhooks as rows

    if not rows.remove_subscription(_engine(), subscription_id, datetime.now(timezone.utc), _actor()):
        raise click.ClickException(f"no active subscription {subscription_id}")
    click.echo(f"subscription {subscription_id} removed")


@webhooks.command("deliveries")
@click.option("--system", "mnemonic", default=None)
@click.option("--subscription", "subscription_id", type=int, default=None)
@click.option("--state", type=click.Choice(["pending", "done", "dead"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
def webhooks_deliveries(mnemonic, subscription_id, state, limit) -> None:
    """List deliveries, newest first: id, event, type, state, attempts, last answer."""
    from gateway.storage import webhooks as rows

    for d in rows.deliveries(_engine(), mnemonic=mnemonic, subscription_id=subscription_id,
                             state=state, limit=limit):
        last = f"HTTP {d.last_status}" if d.last_status else (d.last_error or "-")
        click.echo(f"{d.id}\t{d.event_id}\t{d.type}\t{d.state}\tattempts={d.attempts}\t{last}")


@webhooks.command("replay")
@click.argument("delivery_id", type=int)
def webhooks_replay(delivery_id) -> None:
    """Send a done or dead-lettered delivery again (same event id)."""
    from datetime import datetime, timedelta, timezone

    from gateway.webhooks import manage

    settings = _settings()
    if not manage.replay(_engine(), delivery_id, datetime.now(timezone.utc),
                         timedelta(seconds=settings.webhook_max_age_seconds), _actor()):
        raise click.ClickException(f"no done or dead delivery {delivery_id} of an active subscription")
    click.echo(f"delivery {delivery_id} is pending again")


@webhooks.command("dispatch")
def webhooks_dispatch() -> None:
    """Deliver the due webhook events once now (serving processes do this every second)."""
    from datetime import timedelta

    from gateway.webhooks.dispatcher import Dispatcher

    settings = _settings()
    done = Dispatcher(_engine(), lease=timedelta(seconds=settings.webhook_lease_seconds),
                      timeout=settings.webhook_timeout_seconds,
                      max_age=timedelta(seconds=settings.webhook_max_age_seconds),
                      max_attempts=settings.webhook_max_attempts).dispatch_due()
    click.echo(f"{done} webhook delivery attempt(s)")


@main.group()
def keys() -> None:
    """API keys of information systems, with scopes (history:read, webhooks:manage, validate)."""


@keys.command("issue")
@click.argument("mnemonic")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(["history:read", "webhooks:manage", "validate"]))
def keys_issue(mnemonic, scopes) -> None:
    """Issue a key for MNEMONIC (printed once: id, then the key)."""
    from gateway.http import access
    from gateway.storage.participants import list_systems

    engine = _engine()
    if mnemonic not in {s.mnemonic for s in list_systems(engine)}:
        raise click.ClickException(f"no information system {mnemonic}")
    key_id, key = access.issue_key(engine, mnemonic, list(scopes), _actor())
    click.echo(f"{key_id}\t{key}")


@keys.command("list")
@click.argument("mnemonic", required=False)
def keys_list(mnemonic) -> None:
    """List keys: id, system, scopes, created, revoked."""
    from gateway.storage import access as repo

    for k in repo.keys(_engine(), mnemonic):
        click.echo(f"{k.id}\t{k.mnemonic}\t{' '.join(k.scopes)}\t{k.created_at:%Y-%m-%d %H:%M}"
                   f"{chr(9) + 'revoked' if k.revoked else ''}")


@keys.command("rotate")
@click.argument("key_id")
def keys_rotate(key_id) -> None:
    """Replace a key with a new one of the same scopes (the old one is revoked)."""
    from gateway.http import access

    try:
        new_id, key = access.rotate_key(_engine(), key_id, _actor())
    except access.Denied as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{new_id}\t{key}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id) -> None:
    """Revoke a key at once."""
    from gateway.http import access

    try:
        access.revoke_key(_engine(), key_id, _actor())
    except access.Denied as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"key {key_id} revoked")


@main.group()
def operators() -> None:
    """People: operator, controller (read-only auditor), administrator."""


@operators.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["operator", "controller", "administrator"]), required=True)
@click.password_option(help="at least 12 characters (asked for when not given)")
def operators_add(username, role, password) -> None:
    """Create an operator (or set a new role and password)."""
    from gateway.http import access

    try:
        access.add_operator(_engine(), username, role, password, _actor())
    except access.Denied as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{username}: {role}")


@operators.command("list")
def operators_list() -> None:
    from gateway.storage import access as repo

    for op in repo.list_operators(_engine()):
        click.echo(f"{op.username}\t{op.role}{chr(9) + 'disabled' if op.disabled else ''}")


@operators.command("disable")
@click.argument("username")
def operators_disable(username) -> None:
    """Disable an operator and end their sessions."""
    from datetime import datetime, timezone

    from gateway.storage import access as repo

    if not repo.disable_operator(_engine(), username, datetime.now(timezone.utc), _actor()):
        raise click.ClickException(f"no operator {username}")
    click.echo(f"{username} disabled")


if __name__ == "__main__":
    main()
