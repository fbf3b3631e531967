"""Prometheus metrics at ``/metrics`` and one JSON log line per SOAP request.

Counted per request (in the serving process): requests by operation and outcome, faults by
code, and the request's duration by operation. Under gunicorn every worker counts in files of
its own under ``PROMETHEUS_MULTIPROC_DIR`` (``<data dir>/prometheus``, set and emptied by
gateway/http/server.py before the workers start), and ``/metrics`` sums them, so whichever
worker answers the scrape reports the whole server. Without that variable (tests, one process)
the process's own registry is used.

Counted per write transaction (gateway/storage/db.py calls back): how many, and how long
they held the write lock (``make bench`` divides one by the other).

Read at scrape time from the database (gateway/storage/gauges.py), hence right with any number
of processes: undelivered messages by kind and the age of the oldest, pending register writes,
pending webhook deliveries and the age of the oldest.

The metric objects are module globals, as prometheus-client requires; they only ever count.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from typing import Callable

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram,
                               generate_latest)
from prometheus_client.core import GaugeMetricFamily

from gateway.storage import db, gauges

access_log = logging.getLogger("gateway.requests")
log = logging.getLogger("gateway.http.metrics")

REQUESTS = Counter("gateway_requests", "SOAP requests answered, by operation and outcome",
                   ["operation", "outcome"])
FAULTS = Counter("gateway_faults", "SOAP faults answered, by fault code", ["code"])
DURATION = Histogram("gateway_request_duration_seconds",
                     "time from the request's body read to its answer, by operation",
                     ["operation"],
                     buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


WRITE_TRANSACTIONS = Counter("gateway_write_transactions",
                             "write transactions committed or rolled back (all operations)")
WRITE_LOCK_SECONDS = Counter("gateway_write_lock_seconds",
                             "time the write transactions held the write lock: SQLite from "
                             "taking the lock to COMMIT, PostgreSQL from BEGIN to COMMIT")


def _count_write_transaction(seconds: float) -> None:
    WRITE_TRANSACTIONS.inc()
    WRITE_LOCK_SECONDS.inc(seconds)


db.observe_write_transactions(_count_write_transaction)


#: ``json.dumps(..., ensure_ascii=False)`` builds a new encoder per call; one is kept
_JSON_LINE = json.JSONEncoder(ensure_ascii=False).encode

#: labelled children by label values: ``labels()`` checks its arguments, builds a tuple of
#: strings and takes a lock on every call; the children never change once made
_CHILDREN: dict[tuple, object] = {}


def _child(metric, *values):
    key = (metric, *values)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN.setdefault(key, metric.labels(*values))
    return child


def observe(facts, status: int, seconds: float) -> None:
    """Count one answered SOAP request (or REST exchange request) and log it as one JSON line."""
    operation = facts.operation if facts else "unknown"
    outcome = "ok" if status == 200 else ("fault" if facts and facts.fault != "INTERNAL_ERROR"
                                          else "error")
    _child(REQUESTS, operation, outcome).inc()
    _child(DURATION, operation).observe(seconds)
    if facts and facts.fault:
        _child(FAULTS, facts.fault).inc()
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(_JSON_LINE({
            "message_id": facts.message_id if facts else None,
            "participant": facts.participant if facts else None,
            "operation": operation, "outcome": outcome, "status": status,
            "fault": facts.fault if facts else None, "duration_ms": round(seconds * 1000, 2)}))


class BacklogCollector:
    """The database-derived gauges, collected at scrape time."""

    def __init__(self, engine, clock: Callable[[], datetime]):
        self.engine, self.clock = engine, clock

    def collect(self):
        try:
            b = gauges.backlog(self.engine, self.clock())
        except Exception:  # the database is away: the request counters still answer
            log.exception("backlog gauges unavailable")
            return
        depth = GaugeMetricFamily("gateway_queue_depth",
                                  "messages queued or taken and not yet acknowledged, by kind",
                                  labels=["kind"])
        for kind in ("REQUEST", "RESPONSE", "STATUS"):
            depth.add_metric([kind], b.queued.get(kind, 0))
        yield depth
        yield GaugeMetricFamily("gateway_oldest_undelivered_message_age_seconds",
                                "age of the oldest message not yet acknowledged",
                                value=b.oldest_queued_age)
        yield GaugeMetricFamily("gateway_outbox_pending", "register writes not yet carried out",
                                value=b.outbox_pending)
        yield GaugeMetricFamily("gateway_webhook_backlog", "webhook deliveries pending",
                                value=b.webhooks_pending)
        yield GaugeMetricFamily("gateway_webhook_oldest_pending_age_seconds",
                                "age of the oldest pending webhook delivery",
                                value=b.oldest_webhook_age)


def render(engine, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> tuple[str, bytes]:
    """(content type, the exposition text) of every worker's counters plus the backlog."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # set by gateway/http/server.py for gunicorn
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in (REQUESTS, FAULTS, DURATION, WRITE_TRANSACTIONS, WRITE_LOCK_SECONDS):
            registry.register(_Forward(metric))
    registry.register(BacklogCollector(engine, clock))
    return CONTENT_TYPE_LATEST, generate_latest(registry)


class _Forward:
    """One metric of the process's default registry, exposed through another registry."""

    def __init__(self, metric):
        self.metric = metric

    def collect(self):
        return self.metric.collect()
