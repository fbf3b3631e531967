"""Fixtures of the handler tests: read-only registers, applications in memory, and a context
factory with the fixed clock (tests/handler_kit.py)."""
from __future__ import annotations

from datetime import datetime

import pytest

from envelopes.payloads import codec
from gateway.domains.base import HandlerContext
from handler_kit import MESSAGE_ID, NOW, SCHEMAS, MemoryApplications, ReadOnlyRegisters, signer


@pytest.fixture
def registers():
    found = ReadOnlyRegisters()
    yield found
    assert found.refused == [], f"handlers tried to write: {found.refused}"


@pytest.fixture
def applications():
    return MemoryApplications()


@pytest.fixture
def context(registers, applications):
    """``context(payload, signed_by=inn, ...)`` → the HandlerContext a handler gets; ``payload``
    is a codec dataclass (built here) or an element."""
    def make(payload, *, signed_by: str | None, organisation: str | None = None, test_message=False,
             message_id: str = MESSAGE_ID, now: datetime = NOW, person=None) -> HandlerContext:
        element = payload if hasattr(payload, "tag") else codec.build(payload)
        return HandlerContext(payload=element, message_id=message_id, sender="ROMASHKA",
                              signer=signer(signed_by, organisation), test_message=test_message,
                              registers=registers, applications=applications, now=now, person=person,
                              schemas=SCHEMAS)
    return make
