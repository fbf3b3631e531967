"""The long-lived objects every operation uses: plain wiring, built once per process by
``gateway/wiring.py``. Nothing here does work; the stages do."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Callable, Mapping

from gateway.config import Settings
from gateway.domains.base import Router
from gateway.pipeline.participants import Participants
from gateway.pipeline.receipt import ReceiptSigner
from gateway.pipeline.validate import SchemaSet
from gateway.pipeline.verify import Verifier


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclasses.dataclass
class Services:
    settings: Settings
    engine: object
    schemas: SchemaSet
    router: Router
    verifier: Verifier
    participants: Participants
    signer: ReceiptSigner
    registers: object = None  # gateway.registers.Registers
    clock: Callable[[], datetime] = utc_now
    #: operation element (Clark name) -> gateway.pipeline.sequence.Operation
    operations: Mapping[str, object] = dataclasses.field(default_factory=dict)
    #: carries out register writes after commit (gateway.registers.outbox.Outbox), or None
    outbox: object = None
    #: the REST fronts by name (gateway/exchange/rest_request.py: RestSendRequest, ...)
    rest_operations: Mapping[str, object] = dataclasses.field(default_factory=dict)
