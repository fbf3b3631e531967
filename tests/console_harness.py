"""The real-browser harness of the console, shared by ``tests/browser/conftest.py`` and
``make screenshots`` (``tests/browser/screenshots.py``), so the pictures show exactly what the
tests drive: a demo environment on its own database (SQLite or a fresh PostgreSQL schema, as
GATEWAY_TEST_DB says), the gateway over loopback HTTP, the demo's messages sent through it,
operators of each role, and Debian's Chromium driven by Playwright.

Playwright, not Selenium: it waits for navigations and elements by itself, catches downloads
as bytes (the CSV/PDF exports) and types keys into the page without a chromedriver in between;
it is told to launch /usr/bin/chromium and never downloads a browser (``playwright install`` is
never run; see docs/console.md, «Browser tests»).
"""
from __future__ import annotations

import contextlib
import dataclasses
import shutil
from pathlib import Path

from conftest import demo_environment, new_database, serve_wsgi
from gateway.config import Settings
from gateway.http import access
from gateway.ops.demo import run_demo
from gateway.storage.db import make_engine
from gateway.wiring import build_app

#: Debian's package `chromium` (`make system-test-deps` installs it as root)
CHROMIUM = Path("/usr/bin/chromium")
#: headless (Playwright adds --headless), no sandbox (CI runs as root), and nothing that talks
#: to the network on its own; Playwright gives every launch a fresh temporary user-data-dir
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

ROOT = Path(__file__).resolve().parents[1]
VALID_REGISTRATION = ROOT / "conformance" / "registration" / "reg-valid-registration.xml"

#: people of the console: (username, role, password); passwords have the 12 characters asked
ADMINISTRATOR = ("admin", "administrator", "admin-password-123")
CONTROLLER = ("auditor", "controller", "auditor-password-123")
OPERATOR = ("operator", "operator", "operator-password-123")
PEOPLE = (ADMINISTRATOR, CONTROLLER, OPERATOR)



@dataclasses.dataclass(frozen=True)
class DemoMessage:
    message_id: str
    message_type: str  # REQUEST | RESPONSE
    sender: str
    recipient: str
    root_element: str
    status: str


@dataclasses.dataclass(frozen=True)
class Console:
    """A running gateway with the demo's data: where it is and what the demo did."""
    base: str  # http://127.0.0.1:PORT
    settings: Settings
    engine: object
    demo_output: str
    messages: tuple[DemoMessage, ...]  # what the demo left in the database, in order

    def url(self, path: str) -> str:
        return self.base + path


@contextlib.contextmanager
def console(tmp_path_factory):
    """Start the gateway with the registry stubs on a database of its own, run `make demo`'s
    story against it and add one operator per role; yields a :class:`Console`."""
    with new_database(tmp_path_factory) as url, \
            demo_environment(tmp_path_factory, url) as settings:
        engine = make_engine(settings.resolved_database_url)
        server, base = serve_wsgi(build_app(settings, engine=engine))
        try:
            lines: list[str] = []
            run_demo(settings, f"{base}/ws", "ROMASHKA", echo=lines.append)
            for username, role, password in PEOPLE:
                access.add_operator(engine, username, role, password, actor="browser-tests")
            yield Console(base, settings, engine, "\n".join(lines), _stored(engine))
        finally:
            server.shutdown()
            engine.dispose()


def _stored(engine) -> tuple[DemoMessage, ...]:
    """The messages as the database holds them: what the console must show (read here with
    SQLAlchemy, as a test may, so the expectations do not come from the console's own code)."""
    from sqlalchemy import select

    from gateway.storage.schema import messages as table

    columns = [table.c[f.name] for f in dataclasses.fields(DemoMessage)]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).order_by(table.c.id)).all()
    return tuple(DemoMessage(*row) for row in rows)


@dataclasses.dataclass(frozen=True)
class DemoApplication:
    domain: str
    kind: str
    state: str
    registration_number: str


def applications_of(engine, inn: str) -> tuple[DemoApplication, ...]:
    """An organisation's applications as the database holds them."""
    from sqlalchemy import select

    from gateway.storage.schema import applications as table

    columns = [table.c[f.name] for f in dataclasses.fields(DemoApplication)]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns).where(table.c.organisation_inn == inn)
                            .order_by(table.c.id)).all()
    return tuple(DemoApplication(*row) for row in rows)


@contextlib.contextmanager
def chromium():
    """One headless Chromium (Debian's) under Playwright; fails loudly when it is missing."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make system-test-deps` as root "
                           "(Debian packages chromium and chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def broken_registration() -> tuple[str, set[int]]:
    """The corpus' valid registration request with two XSD violations (KPP, Email), and the
    numbers of the lines that hold them, found in the text itself."""
    valid = VALID_REGISTRATION.read_text("utf-8")
    broken = (valid.replace("<KPP>770201001</KPP>", "<KPP>77020100X</KPP>")
              .replace("<Email>office@romashka.example</Email>", "<Email>not an email</Email>"))
    if broken.count("X</KPP>") != 1 or "not an email" not in broken:
        raise RuntimeError(f"{VALID_REGISTRATION} changed: the broken document needs a new recipe")
    lines = broken.splitlines()
    return broken, {i for i, line in enumerate(lines, 1) if "<KPP>" in line or "<Email>" in line}


def log_in(page, person=ADMINISTRATOR) -> None:
    """Through the login page, as a person does; lands on the dashboard."""
    username, _role, password = person
    response = page.goto("/console/login")
    if response is None or response.status != 200:
        raise AssertionError(f"GET /console/login: {response.status if response else 'no response'}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-submit")
    page.wait_for_url("**/console/")


class TempDirs:
    """``tmp_path_factory``'s ``mktemp`` outside pytest (for `make screenshots`)."""

    def __init__(self, root: Path):
        self.root = root
        self._n = 0

    def mktemp(self, name: str) -> Path:
        self._n += 1
        path = self.root / f"{name}{self._n}"
        path.mkdir(parents=True)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
