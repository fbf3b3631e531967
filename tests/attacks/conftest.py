"""Fixtures of the attack corpus (the gateway, database and demo client come from tests/conftest.py)."""
from __future__ import annotations

import pytest

from attacks.kit import Canary


@pytest.fixture()
def canary():
    """A listener that must never be contacted; the test fails if the gateway connected to it."""
    listener = Canary()
    yield listener
    listener.close()
    assert listener.hits == 0, f"the gateway connected {listener.hits} time(s) to an attacker's URL"
