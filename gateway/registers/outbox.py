"""Carry out the register writes that decisions stored in the outbox (gateway/storage/outbox.py).

The process that committed a decision runs its writes at once (:meth:`Outbox.run`); the
background thread of every serving process (:meth:`Outbox.dispatch_due`) takes over rows whose
lease ran out — the committing process died, or the register was down — and retries them with
exponential backoff. Every call carries the row's idempotency key, which the register honours,
so a write repeated after a crash is carried out once. A register that refuses a write (4xx) gets
the row buried with the reason (``gateway outbox`` lists them)."""
from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta, timezone
from typing import Callable

from gateway.registers.client import RegisterRejected, Registers, RegisterUnavailable, write_methods
from gateway.storage import outbox as rows

log = logging.getLogger("gateway.registers.outbox")

#: the writes a decision may name (``RegisterWrite.action``): the methods of Registers marked
#: ``@register_write`` (gateway/registers/client.py), each with what its answer may mean
WRITES = write_methods(Registers)
ACTIONS = frozenset(WRITES)


class Conflict(Exception):
    """The register holds something else under the key the write needs (e.g. a number taken by
    another power of attorney between the decision and the write)."""


class Outbox:
    def __init__(self, engine, registers: Registers, *, lease: timedelta = timedelta(seconds=30),
                 max_attempts: int = 20,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.engine = engine
        self.registers = registers
        self.lease = lease
        self.max_attempts = max_attempts
        self.clock = clock

    # -- the committing process -------------------------------------------------------------
    def run(self, ids: tuple[int, ...] | list[int]) -> None:
        """Carry out the rows just committed (still under this process's lease). Never raises:
        what fails stays pending for the dispatcher."""
        if not ids:
            return
        try:
            for item in rows.get(self.engine, list(ids)):
                self._attempt(item)
        except Exception:
            log.exception("outbox rows %s stay pending for the dispatcher", list(ids))

    # -- the dispatcher (run by gateway/ops/background.py) ----------------------------------
    def dispatch_due(self) -> int:
        """One pass: take over the due rows and attempt each; how many were attempted."""
        now = self.clock()
        if not rows.due_count(self.engine, now):  # a cheap read; no write lock when idle
            return 0
        items = rows.claim(self.engine, now, self.lease)
        for item in items:
            self._attempt(item)
        return len(items)

    # -- one write ---------------------------------------------------------------------------
    def _attempt(self, item: rows.Item) -> None:
        try:
            self._call(item)
        except (RegisterUnavailable, OSError) as exc:
            if item.attempts + 1 >= self.max_attempts:
                log.error("outbox %s (%s): giving up after %d attempts: %s", item.idempotency_key,
                          item.action, item.attempts + 1, exc)
                rows.bury(self.engine, item.id, self.clock(), f"unavailable: {exc}")
                return
            delay = min(600.0, 2.0 ** item.attempts) * random.uniform(0.5, 1.0)
            log.warning("outbox %s (%s): %s; retry in %.1f s", item.idempotency_key, item.action,
                        exc, delay)
            rows.retry(self.engine, item.id, self.clock() + timedelta(seconds=delay), str(exc))
        except (RegisterRejected, Conflict, ValueError, TypeError) as exc:
            log.error("outbox %s (%s): refused: %s", item.idempotency_key, item.action, exc)
            rows.bury(self.engine, item.id, self.clock(), f"refused: {exc}")
        else:
            rows.finish(self.engine, item.id, self.clock())

    def _call(self, item: rows.Item) -> None:
        carry_out(self.registers, item.action, item.args, item.idempotency_key)


def carry_out(registers: Registers, action: str, args: dict, idempotency_key: str) -> None:
    """One write as the outbox carries it out: the client's marked method with the stored
    arguments and the row's key; :class:`Conflict` when the answer says it could not be done as
    meant. tests/handler_kit.py carries handlers' writes out through this too."""
    write = WRITES.get(action)
    if write is None:
        raise ValueError(f"unknown register write {action!r}")
    answer = getattr(registers, action)(**args, idempotency_key=idempotency_key)
    problem = write.conflict(args, answer) if write.conflict is not None else None
    if problem is not None:
        raise Conflict(problem)
