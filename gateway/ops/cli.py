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

    _set_up(do_setup, _settings())


@main.command()
@click.option("--workers", type=int, default=None, help="worker processes (GATEWAY_WORKERS)")
def serve(workers: int | None) -> None:
    """Serve the gateway on GATEWAY_HOST:GATEWAY_PORT (gunicorn, or granian: GATEWAY_SERVER)."""
    from gateway.http.server import serve as do_serve

    settings = _settings()
    _port_free(settings.host, settings.port, "the gateway (GATEWAY_PORT)")
    do_serve(settings, workers=workers)


def _set_up(do_setup, settings: Settings) -> None:
    """Setup's refusals (a PKI made for another CA URL or algorithm, ...) are one line that
    says what to change, not a traceback."""
    try:
        do_setup(settings, echo=click.echo)
    except ValueError as exc:  # PkiError and the settings' own checks
        raise click.ClickException(str(exc)) from None


def _port_free(host: str, port: int, what: str) -> None:
    """Stop with one clear line when ``host:port`` is taken (most often: a gateway started
    earlier still runs), before anything is set up or printed."""
    import errno
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise click.ClickException(
                f"{host}:{port}, the port of {what}, is in use: is a gateway already running "
                "(`make run` in another terminal)? Stop it, or choose other ports "
                "(GATEWAY_PORT, GATEWAY_CA_URL, GATEWAY_REGISTERS_URL)") from None


@main.command()
@click.option("--workers", type=int, default=None, help="worker processes (GATEWAY_WORKERS)")
def run(workers: int | None) -> None:
    """Set up, start the registry stubs, and serve the gateway (what `make run` does)."""
    from gateway.http.server import serve as do_serve
    from gateway.ops.setup import setup as do_setup

    from urllib.parse import urlsplit

    settings = _settings()
    _port_free(settings.host, settings.port, "the gateway (GATEWAY_PORT)")
    for name, url in (("the CA stub (GATEWAY_CA_URL)", settings.ca_url),
                      ("the registers' stub (GATEWAY_REGISTERS_URL)", settings.registers_url),
                      ("the TSA stub (GATEWAY_TSA_URL)", settings.tsa_url)):
        if url:
            parts = urlsplit(url)
            _port_free(parts.hostname, parts.port or 80, name)
    _set_up(do_setup, settings)
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
@click.option("--sender", default="ROMASHKA", show_default=True,
              help="demo organisation whose key signs the requests (var/clients/NAME.key)")
def demo(url: str | None, sender: str) -> None:
    """Send signed demo requests to the running gateway and print the receipts (`make demo`)."""
    import requests

    from gateway.ops.demo import run_demo
    from gateway.ops.setup import client_identity

    settings = _settings()
    endpoint = url or settings.endpoint
    try:
        requests.get(endpoint.rsplit("/ws", 1)[0] + "/health/live", timeout=5)
    except requests.RequestException:
        raise click.ClickException(f"no gateway answers at {endpoint}: start one with `make run` "
                                   "(in another terminal), then run `make demo` again") from None
    if not client_identity(settings, sender).key_path.exists():
        raise click.ClickException(f"no demo keys of {sender} in {settings.data_dir / 'clients'}: "
                                   "run `make demo` with the GATEWAY_DATA_DIR of `make run`")
    run_demo(settings, url, sender, echo=click.echo)


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
@click.option("--name", required=True, help="human-readable name of the system")
@click.option("--cert", "certs", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM file: the signing certificate first, then optionally its chain (repeatable)")
@click.option("--inn-le", default=None, help="ИНН of the organisation the system acts for (10 digits)")
@click.option("--ogrn", default=None, help="ОГРН of that organisation (13 digits)")
def is_add(mnemonic, name, certs, inn_le, ogrn) -> None:
    """Register MNEMONIC with one or more signing certificates (PEM). Warns (and registers
    anyway) when a certificate does not validate now against the trust anchors."""
    from cryptography import x509

    from gateway.pipeline.participants import add_system
    from gateway.storage.db import make_engine

    settings = _settings()
    files = [x509.load_pem_x509_certificates(Path(path).read_bytes()) for path in certs]
    loaded = [found[0] for found in files]
    for found in files:  # registered anyway: an operator may add a certificate ahead of time
        for problem in certificate_problems(settings, found[0], found[1:]):
            click.echo(f"warning: {problem}", err=True)
    engine = make_engine(settings.resolved_database_url)
    add_system(engine, mnemonic, name, loaded, inn_le=inn_le, ogrn=ogrn)
    _audit(engine, "is-added", {"mnemonic": mnemonic, "name": name, "inn_le": inn_le,
                                "certificates": len(loaded)})
    click.echo(f"registered {mnemonic}")


def certificate_problems(settings: Settings, certificate, extra=()) -> list[str]:
    """Why ``certificate`` would not verify a request now (expired, not yet valid, no path to
    the trust anchors of the data dir, revoked), as one line; empty when it validates.
    Revocation is soft-fail here: a CA stub that is not running is no reason to warn."""
    from signing.chain import ChainValidator

    from gateway.qa.trust import _certificates

    subject = certificate.subject.rfc4514_string()
    anchors = _certificates(settings.trust_dir / "anchors")
    if not anchors:
        return [f"{subject}: no trust anchors in {settings.trust_dir / 'anchors'}, so no "
                "certificate validates; run `gateway setup` or add the CA there"]
    verdict = ChainValidator(anchors, _certificates(settings.trust_dir / "intermediates"),
                             revocation="soft-fail",
                             fetch_timeout=settings.revocation_timeout).validate(certificate, extra)
    if verdict.passed:
        return []
    return [f"the certificate {subject} does not validate now ({verdict.sub_indication}: "
            f"{verdict.detail}); requests signed with it will be refused until it does"]


@information_systems.command("list")
def is_list() -> None:
    """List information systems: mnemonic, enabled/disabled, ИНН, name."""
    from gateway.pipeline.participants import list_systems
    from gateway.storage.db import make_engine

    for system in list_systems(make_engine(_settings().resolved_database_url)):
        state = "enabled" if system.enabled else "disabled"
        click.echo(f"{system.mnemonic}\t{state}\t{system.inn_le or '-'}\t{system.name}")


@information_systems.command("disable")
@click.argument("mnemonic")
def is_disable(mnemonic) -> None:
    """Refuse every request signed by MNEMONIC until `gateway is enable`."""
    _set_enabled(mnemonic, False)


@information_systems.command("enable")
@click.argument("mnemonic")
def is_enable(mnemonic) -> None:
    """Accept requests of MNEMONIC again."""
    _set_enabled(mnemonic, True)


@information_systems.command("allow")
@click.argument("mnemonic")
@click.argument("role", type=click.Choice(["send", "serve"]))
@click.argument("namespace")
@click.argument("root", default="*")
def is_allow(mnemonic, role, namespace, root) -> None:
    """Let MNEMONIC send (ROLE send) or serve (ROLE serve) the business type NAMESPACE [ROOT]
    ('*': every root element). Warns when no XSD in xsd/ defines NAMESPACE or ROOT."""
    from gateway.pipeline.participants import grant
    from gateway.qa.schemas import global_elements
    from gateway.storage.db import make_engine

    defined = global_elements()
    if namespace not in defined:  # allowed anyway: its XSD may be added to xsd/ later
        click.echo(f"warning: no XSD in xsd/ defines the namespace {namespace} (check the "
                   "spelling): the gateway cannot validate messages of it", err=True)
    elif root != "*" and root not in defined[namespace]:
        click.echo(f"warning: the XSDs of {namespace} declare no global element {root} "
                   f"(they declare {', '.join(sorted(defined[namespace]))})", err=True)
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
    """Withdraw MNEMONIC's permission to ROLE (send or serve) NAMESPACE [ROOT], given with
    `gateway is allow`."""
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
@click.option("--org", "organization", default=None, help="subject organisation (O)")
@click.option("--title", default=None, help="subject title (T), e.g. the head's position")
@click.option("--inn", default=None, help="person ИНН (OID 1.2.643.3.131.1.1)")
@click.option("--inn-le", default=None, help="legal entity ИНН (OID 1.2.643.100.4)")
@click.option("--ogrn", default=None, help="ОГРН (OID 1.2.643.100.1)")
@click.option("--snils", default=None, help="СНИЛС (OID 1.2.643.100.3)")
@click.option("--key-type", default="rsa2048",
              type=click.Choice(["rsa2048", "rsa3072", "ec-p256", "ec-p384", "gost2012-256",
                                 "gost2012-512"]), show_default=True, help="algorithm and size of the new key")
@click.option("--days", type=int, default=365, show_default=True, help="validity from now")
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
@click.option("--reason", default="key_compromise", show_default=True,
              help="CRL reason (RFC 5280), e.g. key_compromise, superseded, cessation_of_operation")
def pki_revoke(name_or_serial, reason) -> None:
    """Revoke the certificate NAME_OR_SERIAL (its name or hex serial); the CRL is reissued and
    OCSP answers revoked."""
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

    from gateway.ops.timestamps import revocation_evidence, stamp_round
    from gateway.storage.db import make_engine

    settings = _settings()
    if not settings.tsa_url:
        raise click.ClickException("GATEWAY_TSA_URL is not set")
    count = stamp_round(make_engine(settings.resolved_database_url), settings.tsa_url,
                        datetime.now(timezone.utc), evidence=revocation_evidence(settings))
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
@click.option("--state", type=click.Choice(["pending", "done", "dead"]), default=None,
              help="only writes in this state")
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


from gateway.ops.qa_commands import conformance, schemas, soapui, validate  # noqa: E402  (the QA kit's commands)

main.add_command(validate)
main.add_command(conformance)
main.add_command(schemas)
main.add_command(soapui)

from gateway.ops.inspect_commands import messages, notifications  # noqa: E402  (operators' reads)

main.add_command(messages)
main.add_command(notifications)
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
                                       datetime.now(timezone.utc), _actor(),
                                       _settings().webhook_networks)
    except manage.Invalid as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"subscription {sub.id}: {url} <- {' '.join(sub.events)}")
    click.echo(f"secret (shown once; X-Signature is HMAC-SHA256 with it): {secret}")


@webhooks.command("list")
@click.argument("mnemonic", required=False)
@click.option("--all", "show_all", is_flag=True, help="removed subscriptions too")
def webhooks_list(mnemonic, show_all) -> None:
    """List subscriptions (of MNEMONIC, or all): id, system, url, events."""
    from gateway.storage import webhooks as rows

    for sub in rows.subscriptions(_engine(), mnemonic, active_only=not show_all):
        state = "" if sub.active else "\tremoved"
        click.echo(f"{sub.id}\t{sub.mnemonic}\t{sub.url}\t{' '.join(sub.events)}{state}")


@webhooks.command("remove")
@click.argument("subscription_id", type=int)
def webhooks_remove(subscription_id) -> None:
    """Remove the subscription SUBSCRIPTION_ID (its pending deliveries are dead-lettered)."""
    from datetime import datetime, timezone

    from gateway.storage import webhooks as rows

    if not rows.remove_subscription(_engine(), subscription_id, datetime.now(timezone.utc), _actor()):
        raise click.ClickException(f"no active subscription {subscription_id}")
    click.echo(f"subscription {subscription_id} removed")


@webhooks.command("deliveries")
@click.option("--system", "mnemonic", default=None, help="only deliveries to this system")
@click.option("--subscription", "subscription_id", type=int, default=None,
              help="only deliveries of this subscription")
@click.option("--state", type=click.Choice(["pending", "done", "dead"]), default=None,
              help="only deliveries in this state")
@click.option("--limit", type=int, default=50, show_default=True, help="at most this many")
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
    """Send the done or dead-lettered delivery DELIVERY_ID again (same event id)."""
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
                      max_attempts=settings.webhook_max_attempts,
                      allowed_networks=settings.webhook_networks).dispatch_due()
    click.echo(f"{done} webhook delivery attempt(s)")


@main.group()
def keys() -> None:
    """API keys of information systems, with scopes (history:read, webhooks:manage, validate)."""


@keys.command("issue")
@click.argument("mnemonic")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(["history:read", "webhooks:manage", "validate"]),
              help="what the key may do (repeatable)")
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
    """List keys (of MNEMONIC, or all): id, system, scopes, created, revoked."""
    from gateway.storage import access as repo

    for k in repo.keys(_engine(), mnemonic):
        click.echo(f"{k.id}\t{k.mnemonic}\t{' '.join(k.scopes)}\t{k.created_at:%Y-%m-%d %H:%M}"
                   f"{chr(9) + 'revoked' if k.revoked else ''}")


@keys.command("rotate")
@click.argument("key_id")
def keys_rotate(key_id) -> None:
    """Replace the key KEY_ID with a new one of the same scopes (the old one is revoked)."""
    from gateway.http import access

    try:
        new_id, key = access.rotate_key(_engine(), key_id, _actor())
    except access.Denied as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{new_id}\t{key}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id) -> None:
    """Revoke the key KEY_ID at once."""
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
@click.option("--role", type=click.Choice(["operator", "controller", "administrator"]), required=True,
              help="controller: read-only auditor; administrator: may change keys and operators")
@click.password_option(help="at least 12 characters (asked for when not given)")
def operators_add(username, role, password) -> None:
    """Create the operator USERNAME (or set a new role and password)."""
    from gateway.http import access

    try:
        access.add_operator(_engine(), username, role, password, _actor())
    except access.Denied as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{username}: {role}")


@operators.command("list")
def operators_list() -> None:
    """List operators: username, role, disabled."""
    from gateway.storage import access as repo

    for op in repo.list_operators(_engine()):
        click.echo(f"{op.username}\t{op.role}{chr(9) + 'disabled' if op.disabled else ''}")


@operators.command("disable")
@click.argument("username")
def operators_disable(username) -> None:
    """Disable the operator USERNAME and end their sessions."""
    from datetime import datetime, timezone

    from gateway.storage import access as repo

    if not repo.disable_operator(_engine(), username, datetime.now(timezone.utc), _actor()):
        raise click.ClickException(f"no operator {username}")
    click.echo(f"{username} disabled")


if __name__ == "__main__":
    main()
