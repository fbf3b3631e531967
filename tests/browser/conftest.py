"""Fixtures of the real-browser tests: one gateway with the demo's data and one Chromium per
session (see tests/console_harness.py), a fresh browser context (no cookies) per test."""
from __future__ import annotations

import pytest

from console_harness import chromium, console

#: how long a page or an element may take; short, so that a missing page fails fast
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def live_console(tmp_path_factory):
    with console(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="session")
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
