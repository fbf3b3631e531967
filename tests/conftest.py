"""Shared fixtures: a database per run (SQLite file, or a fresh PostgreSQL schema), the demo
environment (PKI, keys, trust store) and a real gateway serving HTTP on 127.0.0.1.

GATEWAY_TEST_DB selects the database: ``sqlite`` (default) or ``postgres`` (then
GATEWAY_TEST_POSTGRES_URL; an unreachable server FAILS the run, it never skips).
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from sqlalchemy import create_engine, text

from gateway.config import Settings
from gateway.storage.db import make_engine


@pytest.fixture(autouse=True, scope="session")
def smev_transform_differential():
    """Every SMEV transform the suite makes in-process (each envelope it signs or verifies)
    runs both implementations: the native result is used, and must equal the reference's
    bytes, or both must refuse with the same message (docs/smev-transform.md)."""
    from signing import smev_transform as st
    from signing.errors import SmevTransformError

    def checked_and_c14n(element):  # the selected transform's ``and_c14n`` (smev_transform.py)
        try:
            canonical, native = st.native_transform.and_c14n(element)
        except SmevTransformError as exc:
            with pytest.raises(SmevTransformError) as reference:
                st.reference_transform(element)
            assert str(reference.value) == str(exc)
            raise
        try:
            reference = st.reference_transform(element)
        except SmevTransformError as exc:
            raise AssertionError(f"only the reference SMEV transform refuses: {exc}") from exc
        assert native == reference, "native and reference SMEV transforms disagree"
        return canonical, native

    def checked(element):
        return checked_and_c14n(element)[1]

    checked.and_c14n = checked_and_c14n

    previous = st._selected
    st._selected = checked
    yield
    st._selected = previous


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # keep test output readable
        pass


def serve_wsgi(app, port: int = 0):
    """Serve ``app`` on 127.0.0.1 in a daemon thread; returns (server, base_url)."""
    server = make_server("127.0.0.1", port, app, server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


@contextlib.contextmanager
def new_database(tmp_path_factory):
    """A URL of an empty database of the kind GATEWAY_TEST_DB names, dropped afterwards."""
    kind = os.environ.get("GATEWAY_TEST_DB", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'gateway.db'}"
        return
    if kind != "postgres":
        raise RuntimeError(f"GATEWAY_TEST_DB must be sqlite or postgres, not {kind!r}")
    base = os.environ.get("GATEWAY_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"gw_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:  # fails loudly when PostgreSQL is not there
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database of the kind GATEWAY_TEST_DB selects, for a test that runs its own
    gateway processes on its own data (tests/integration/test_chaos.py): a new SQLite file, or
    a new schema on GATEWAY_TEST_POSTGRES_URL dropped afterwards."""
    from gateway.storage.db import scratch_schema

    kind = os.environ.get("GATEWAY_TEST_DB", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with scratch_schema(os.environ.get("GATEWAY_TEST_POSTGRES_URL",
                                       "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
                        "gw_test_fresh") as url:
        yield url


@pytest.fixture
def fresh_engine(fresh_database_url):
    """An engine on :func:`fresh_database_url` with the gateway's schema migrated in."""
    from gateway.storage.db import make_engine
    from gateway.storage.migrate import upgrade

    engine = make_engine(fresh_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    with new_database(tmp_path_factory) as url:
        yield url


@contextlib.contextmanager
def demo_environment(tmp_path_factory, database_url, **overrides):
    """``gateway setup`` in a fresh data folder, with the CA stub serving its CRLs and OCSP and
    the registers' stub running; yields the Settings (``overrides`` applied)."""
    from gateway.ops.setup import setup
    from registry_stubs.ca import serve as serve_ca
    from registry_stubs.registers import serve as serve_registers

    data_dir: Path = tmp_path_factory.mktemp("data")
    port = free_port()
    registers = serve_registers(state_file=data_dir / "registers-state.json")
    # participants_cache_seconds=0: registrations made by a test apply at once (no waiting);
    # the webhook receivers of the tests listen on loopback, which is refused unless allowed
    # every test calls from 127.0.0.1 into one database: the per-address login limit would let
    # the REST fuzzer's failed logins lock out later tests (test_login_limit.py sets its own)
    overrides = {"login_max_failures_per_address": 1_000_000, **overrides}
    settings = Settings(data_dir=data_dir, database_url=database_url,
                        ca_url=f"http://127.0.0.1:{port}", registers_url=registers.url,
                        participants_cache_seconds=0.0,
                        **{"webhook_allowed_networks": "127.0.0.0/8", **overrides})
    setup(settings, echo=lambda *_: None)
    server = serve_ca(settings.pki_dir / "ca", "127.0.0.1", port)
    try:
        yield settings
    finally:
        server.shutdown()
        registers.shutdown()


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory, database_url) -> Settings:
    """A complete demo environment (PKI, gateway key, two demo IS, migrated database) whose
    CA stub serves CRLs and OCSP on a real loopback port."""
    with demo_environment(tmp_path_factory, database_url) as settings:
        yield settings


@pytest.fixture(scope="session")
def engine(demo_settings):
    engine = make_engine(demo_settings.resolved_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def gateway_url(demo_settings, engine):
    """The gateway app served over real HTTP on 127.0.0.1; yields its /ws endpoint."""
    from gateway.wiring import build_app

    app = build_app(demo_settings, engine=engine)
    server, base = serve_wsgi(app)
    yield f"{base}/ws"
    server.shutdown()


@pytest.fixture(scope="session")
def demo_client(demo_settings):
    """(private key, certificate, chain) of the demo IS ROMASHKA."""
    from gateway.ops.demo import load_client

    return load_client(demo_settings, "ROMASHKA")


@pytest.fixture(scope="session")
def gateway_trust(demo_settings):
    """The SDK's trust in the test gateway: its certificate pinned, the demo anchors."""
    from gateway.ops.demo import gateway_trust

    return gateway_trust(demo_settings)
