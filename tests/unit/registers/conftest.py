"""Register stubs on real loopback ports, and tiny misbehaving WSGI apps for the client's tests."""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from registry_stubs.registers import FIXTURES, serve_all


@pytest.fixture(scope="module")
def stub(tmp_path_factory) -> Iterator:
    """One registers stub per test module, writes kept in a state directory."""
    server = serve_all("127.0.0.1", 0, state_dir=tmp_path_factory.mktemp("registers-state"))
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def fixture_data() -> dict[str, list]:
    return {name: json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
            for name in ("legal_entities", "persons", "powers_of_attorney", "licences")}


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@pytest.fixture
def serve_app() -> Iterator[Callable]:
    """``serve_app(wsgi_app) -> base URL``: a throw-away server, stopped after the test."""
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, server_class=_Threaded, handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
