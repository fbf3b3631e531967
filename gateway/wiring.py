"""Assemble the application from settings: one place that builds every long-lived object."""
from __future__ import annotations

import gc
import logging
from datetime import timedelta
from pathlib import Path

from cryptography import x509

from gateway.http.app import GatewayApp
from gateway.config import Settings
from gateway.pipeline.participants import Participants
from gateway.exchange import rest_request
from gateway.exchange.operations import operations
from gateway.pipeline.dispatch import Pipeline
from gateway.pipeline.services import Services
from gateway.ops.background import Background
from gateway.storage.group_commit import group_commit
from gateway.registers.outbox import Outbox
from gateway.webhooks.dispatcher import Dispatcher
from gateway.pipeline.receipt import ReceiptSigner
from gateway.registers import Registers
from gateway.domains.base import Router, discover
from gateway.storage.checkpoints import checkpoint_in_background
from gateway.storage.db import make_engine
from gateway.pipeline.validate import SchemaSet
from gateway.pipeline.verify import Verifier
from signing.algorithms import policy_for
from signing import smev_transform
from signing.chain import ChainValidator, RevocationMode


def load_certificates(directory: Path) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in sorted(directory.glob("*.pem")):
        certs.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    return certs


LOG_FORMAT = "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"


def build_app(settings: Settings, *, engine=None, clock=None, dispatcher: bool = False) -> GatewayApp:
    """The WSGI app with everything it needs; ``dispatcher``: also run this process's outbox
    dispatcher thread (serving processes do; tests drive the outbox themselves)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if logging.root.handlers and all(getattr(h.formatter, "_fmt", None) == LOG_FORMAT
                                     for h in logging.root.handlers):
        # what the format does not show is not gathered for every record (the logging HOWTO's
        # "Optimization"): the caller's frame, the thread; every request logs one line
        logging._srcfile = None
        logging.logThreads = False
    if settings.smev_transform != "native":  # process-wide; native is the import default
        smev_transform.use(settings.smev_transform)
    engine = engine or make_engine(settings.resolved_database_url)
    if dispatcher:  # a serving process: checkpoints leave the COMMITs (before any connection)
        checkpoint_in_background(engine, settings.sqlite_checkpoint_seconds)
    group = group_commit(engine)
    group.max_batch, group.nice = settings.group_commit_max, settings.commit_nice
    group.first = settings.commit_first
    anchors = load_certificates(settings.trust_dir / "anchors")
    if not anchors:
        raise SystemExit(f"no trust anchors in {settings.trust_dir / 'anchors'}: run `gateway setup` first")
    algorithms = policy_for(settings.algorithms)  # one profile for verifying, paths and signing
    chain_kwargs = {"algorithms": algorithms, "revocation": RevocationMode(settings.revocation),
                    "fetch_timeout": settings.revocation_timeout}
    if clock is not None:
        chain_kwargs["clock"] = clock
    chain = ChainValidator(anchors, load_certificates(settings.trust_dir / "intermediates"),
                           **chain_kwargs)
    schemas = SchemaSet()
    router = Router(discover())
    for domain in router.domains.values():  # load every XSD now, not on the first request
        schemas.get(domain.xsd)
    registers = Registers(settings.registers_url, timeout=settings.registers_timeout,
                          cache_seconds=settings.registers_cache_seconds)
    outbox = Outbox(engine, registers, lease=timedelta(seconds=settings.outbox_lease_seconds),
                    **({"clock": clock} if clock else {}))
    services = Services(settings, engine, schemas, router, Verifier(chain, algorithms),
                        Participants(engine, ttl=settings.participants_cache_seconds),
                        ReceiptSigner(settings.signing_key_path, settings.signing_cert_path,
                                      settings.receipt_profile, settings.receipt_signature_method,
                                      settings.receipt_digest_method, policy=algorithms),
                        registers=registers, operations=operations(), outbox=outbox,
                        rest_operations=rest_request.OPERATIONS)
    if clock is not None:
        services.clock = clock
    if dispatcher:  # a serving process also takes over register writes others left unfinished
        webhooks = Dispatcher(engine, lease=timedelta(seconds=settings.webhook_lease_seconds),
                              timeout=settings.webhook_timeout_seconds,
                              max_age=timedelta(seconds=settings.webhook_max_age_seconds),
                              max_attempts=settings.webhook_max_attempts, clock=services.clock,
                              allowed_networks=settings.webhook_networks)
        Background(engine, settings, outbox, services.clock, webhooks).start()
    app = GatewayApp(settings, Pipeline(services), engine)
    if dispatcher:
        settle_heap()
    return app


def settle_heap() -> None:
    """A serving process, once built: what exists now (modules, schemas, tables, the trust
    store: ~150,000 objects) lives as long as the process, so the cycle collector stops
    examining it (``gc.freeze``). A full collection then walks what requests left, not all of
    that: without it one took ~100 ms here, with every thread of the worker stopped
    (docs/performance.md, «Checkpoints and garbage collection off the request path»).
    Garbage already made is collected first, so none is frozen with the rest."""
    gc.collect()
    gc.freeze()


def wsgi_app():
    """Entry point for gunicorn: ``gunicorn 'gateway.wiring:wsgi_app()'``."""
    return build_app(Settings.from_env(), dispatcher=True)
