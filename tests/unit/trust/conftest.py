"""Fixtures for the trust tests: one test PKI per session, served over real HTTP on 127.0.0.1."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from registry_stubs.ca import serve
from registry_stubs.pki import Pki


class FakeClock:
    """Real time plus an offset that tests move forward (the PKI keeps real time)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


@pytest.fixture(scope="session")
def ca_server(tmp_path_factory):
    # The server starts first on a free port; the PKI is created with the URL it got.
    server = serve(tmp_path_factory.mktemp("pki") / "ca", "127.0.0.1", 0)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pki(ca_server) -> Pki:
    return Pki.init(ca_server.app.pki_dir, base_url=ca_server.url)


@pytest.fixture()
def ca(ca_server):
    """The running CA stub, guaranteed online at the start and at the end of the test."""
    ca_server.app.offline = False
    yield ca_server
    ca_server.app.offline = False


_names = itertools.count()


@pytest.fixture()
def unique():
    """Fresh certificate names, so session-wide PKI state never leaks between tests."""
    return lambda prefix="c": f"{prefix}-{next(_names)}"


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()
