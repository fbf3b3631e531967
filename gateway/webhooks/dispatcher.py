"""Deliver webhook events (stored by gateway/storage/webhooks.py) to the subscribers' URLs.

Run by the background thread of every serving process (gateway/ops/background.py): each pass
fans new events out into deliveries, claims the due ones under a lease and POSTs them. A 2xx
answer settles a delivery; anything else (a refused connection, a timeout, a 5xx or 4xx) is
retried with exponential backoff and jitter until the delivery is older than its maximum age or
has used its attempts, and is then dead-lettered (listed, and replayable by hand). A dispatcher
killed mid-way leaves the delivery pending; another takes it over when the lease has run out, so
a receiver may see an event twice — at least once, with the event id as idempotency key.

The body is JSON ``{"id", "type", "created_at", "data"}``. ``X-Webhook-Timestamp`` holds the
Unix time of the attempt and ``X-Signature`` ``sha256=<hex HMAC-SHA256(secret, timestamp + "." +
body)>``: a receiver recomputes it and refuses old timestamps, so a captured request cannot be
replayed later.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
from datetime import datetime, timedelta, timezone
from typing import Callable

import requests

from gateway.storage import webhooks as rows
from gateway.webhooks import destinations

log = logging.getLogger("gateway.webhooks")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, now: float,
           tolerance: float = 300.0) -> bool:
    """What a receiver does (and the tests): the signature matches and the timestamp is fresh."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), header)


def body_of(item: rows.Due) -> bytes:
    created = item.event_created_at
    created = created if created.tzinfo else created.replace(tzinfo=timezone.utc)
    return json.dumps({"id": item.event_id, "type": item.type, "created_at": created.isoformat(),
                       "data": item.payload}, ensure_ascii=False, sort_keys=True).encode("utf-8")


class Dispatcher:
    def __init__(self, engine, *, lease: timedelta = timedelta(seconds=30),
                 timeout: float = 5.0, max_age: timedelta = timedelta(hours=24),
                 max_attempts: int = 15, backoff_base: float = 2.0, backoff_cap: float = 3600.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 session: requests.Session | None = None, allowed_networks: tuple = ()):
        """``allowed_networks``: where besides public addresses deliveries may connect
        (gateway/webhooks/destinations.py); a given ``session`` is used as it is."""
        self.engine, self.lease, self.timeout, self.max_age = engine, lease, timeout, max_age
        self.max_attempts, self.backoff_base, self.backoff_cap = max_attempts, backoff_base, backoff_cap
        self.clock = clock
        self.session = session or destinations.session(allowed_networks)

    def dispatch_due(self) -> int:
        """One pass: fan out new events, attempt the due deliveries; how many were attempted."""
        now = self.clock()
        rows.fan_out(self.engine, now, self.max_age)
        if not rows.due_count(self.engine, now):  # a cheap read; no write lock when idle
            return 0
        attempted = 0
        # no more per claim than can be attempted, all timing out, before the lease runs out:
        # otherwise another dispatcher would take over deliveries this one is about to send
        batch = max(1, min(20, int(self.lease.total_seconds() // (self.timeout + 1))))
        while True:  # claim again: a settled delivery may unblock the next of its application
            items = rows.claim(self.engine, self.clock(), self.lease, limit=batch)
            for item in items:
                self._attempt(item)
            attempted += len(items)
            if not items or attempted >= 200:
                return attempted

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt ``attempts + 1``: exponential, capped, with full jitter on the
        upper half (receivers coming back are not hit by every delivery at once)."""
        return min(self.backoff_cap, self.backoff_base * 2.0 ** attempts) * random.uniform(0.5, 1.0)

    def _attempt(self, item: rows.Due) -> None:
        body = body_of(item)
        stamp = str(int(self.clock().timestamp()))
        status: int | None = None
        try:
            answer = self.session.post(item.url, data=body, timeout=self.timeout,
                                       allow_redirects=False, headers={
                                           "Content-Type": "application/json",
                                           "X-Webhook-Id": item.event_id,
                                           "X-Webhook-Event": item.type,
                                           "X-Webhook-Timestamp": stamp,
                                           "X-Signature": signature(item.secret, stamp, body)})
            status = answer.status_code
            answer.close()
            if 200 <= status < 300:
                rows.finish(self.engine, item.id, self.clock(), status)
                return
            error = f"HTTP {status}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        now = self.clock()
        expires = item.expires_at if item.expires_at.tzinfo else item.expires_at.replace(tzinfo=timezone.utc)
        retry_at = now + timedelta(seconds=self.backoff(item.attempts))
        if item.attempts + 1 >= self.max_attempts or retry_at > expires:
            log.error("webhook %s (%s) to %s: dead-lettered after %d attempts: %s", item.event_id,
                      item.type, item.url, item.attempts + 1, error)
            rows.bury(self.engine, item.id, now, status, error)
            return
        log.warning("webhook %s (%s) to %s: %s; retry at %s", item.event_id, item.type, item.url,
                    error, retry_at.isoformat())
        rows.retry(self.engine, item.id, retry_at, status, error)
