"""Fixtures of the real-browser tests: one gateway with the demo's data and one Chromium per
package (see tests/console_harness.py), a fresh browser context per test: without cookies
(``page``), or carrying the session of a person who logged in once through the login page
(``as_person``: a password hash per test would cost more than the test)."""
from __future__ import annotations

import pytest

from console_harness import chromium, console, log_in

#: how long a page or an element may take; short, so that a missing page fails fast
TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def live_console(tmp_path_factory):
    with console(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="package")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture
def context(browser, live_console):
    ctx = browser.new_context(base_url=live_console.base, accept_downloads=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(scope="package")
def signed_in(browser, live_console):
    """person -> the cookies of their session, each opened once through the login page."""
    states: dict[str, dict] = {}

    def state(person) -> dict:
        if person[0] not in states:
            ctx = browser.new_context(base_url=live_console.base)
            ctx.set_default_timeout(TIMEOUT_MS)
            try:
                log_in(ctx.new_page(), person)
                states[person[0]] = ctx.storage_state()
            finally:
                ctx.close()
        return states[person[0]]

    return state


@pytest.fixture
def as_person(browser, live_console, signed_in):
    """as_person(PERSON, **context_options) -> a new page already logged in as PERSON."""
    opened = []

    def page_of(person, **options):
        ctx = browser.new_context(base_url=live_console.base, accept_downloads=True,
                                  storage_state=signed_in(person), **options)
        ctx.set_default_timeout(TIMEOUT_MS)
        opened.append(ctx)
        return ctx.new_page()

    yield page_of
    for ctx in opened:
        ctx.close()
