"""What every serving process does besides answering requests: take over register writes
whose lease ran out (the outbox), hourly housekeeping — announce what is coming (certificates,
powers of attorney and report deadlines: gateway/ops/notifications.py), drop journal bytes and
delivered webhooks past their retention and forget replay memory that freshness alone now refuses —
and, in a second daemon thread so that a slow receiver never holds up register writes, deliver
webhook events (gateway/webhooks/dispatcher.py). Every job is safe to run in several processes
and nodes at once."""
from __future__ import annotations

import logging
import random
import threading
import time
from datetime import timedelta

from gateway.ops import notifications
from gateway.ops.timestamps import revocation_evidence, stamp_round
from gateway.storage import journal, seen, webhooks
from gateway.storage.db import write_transaction

log = logging.getLogger("gateway.ops.background")
HOUSEKEEPING_SECONDS = 3600.0


def housekeeping(engine, settings, now) -> dict[str, int]:
    """One round of housekeeping; what it removed."""
    done = {"seen_forgotten": seen.forget_expired(engine, now), "journal_pruned": 0,
            **{f"notified {kind}": n for kind, n in notifications.scan(engine, settings, now).items()}}
    done["webhooks_pruned"] = webhooks.prune(
        engine, now - timedelta(days=settings.webhook_retention_days)
        if settings.webhook_retention_days > 0 else None,
        now - timedelta(days=settings.webhook_dead_retention_days)
        if settings.webhook_dead_retention_days > 0 else None)
    if settings.journal_content_retention_days > 0:
        with write_transaction(engine) as conn:
            done["journal_pruned"] = journal.prune_content(
                conn, now - timedelta(days=settings.journal_content_retention_days))
    return done


class Background:
    def __init__(self, engine, settings, outbox, clock, webhooks=None):
        self.engine, self.settings, self.outbox, self.clock = engine, settings, outbox, clock
        self.webhooks = webhooks  # gateway/webhooks/dispatcher.py: Dispatcher, or None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hooks_thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="gateway-background", daemon=True)
            self._thread.start()
            if self.webhooks is not None:  # a thread of its own: slow receivers delay only webhooks
                self._hooks_thread = threading.Thread(target=self._webhooks_loop,
                                                      name="gateway-webhooks", daemon=True)
                self._hooks_thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._hooks_thread):
            if thread is not None:
                thread.join(timeout=5)

    def _webhooks_loop(self) -> None:
        while not self._stop.wait(self.settings.outbox_poll_seconds * random.uniform(0.8, 1.2)):
            try:
                self.webhooks.dispatch_due()
            except Exception:  # the database is away: try again next round
                log.exception("webhook round failed")

    def _loop(self) -> None:
        # the first housekeeping at a random moment in the first hour: workers do not all start it at once
        next_housekeeping = time.monotonic() + random.uniform(0, HOUSEKEEPING_SECONDS)
        next_stamp = time.monotonic()
        evidence = revocation_evidence(self.settings)   # keeps its validator's cache across rounds
        wait = min(self.settings.outbox_poll_seconds, self.settings.timestamp_interval_seconds) \
            if self.settings.tsa_url else self.settings.outbox_poll_seconds
        while not self._stop.wait(wait * random.uniform(0.8, 1.2)):
            if self.settings.tsa_url and time.monotonic() >= next_stamp:
                next_stamp = time.monotonic() + self.settings.timestamp_interval_seconds
                try:  # a TSA that is down delays the proof, never a receipt
                    stamp_round(self.engine, self.settings.tsa_url, self.clock(),
                                evidence=evidence)
                except Exception:
                    log.exception("time-stamping round failed; the receipts wait for the next")
            try:
                self.outbox.dispatch_due()
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_SECONDS
                    log.info("housekeeping: %s", housekeeping(self.engine, self.settings, self.clock()))
            except Exception:  # the database is away: try again next round
                log.exception("background round failed")
