"""Notifications of what is coming, found by the hourly housekeeping (gateway/ops/background.py)
or by hand (``gateway notifications scan``) and sent as webhook events through the outbox of
gateway/storage/webhooks.py:

- ``certificate.expiring``: a registered signing certificate of an information system, or the
  certificate of a person (the organisation's head, or a representative under a power of
  attorney) whose PersonalSignature the gateway accepted, ends within a threshold
  (``GATEWAY_NOTIFY_CERTIFICATE_DAYS``, 30 and 15) or has ended (threshold 0);
- ``poa.expiring``: a registered, unrevoked power of attorney's ValidUntil is within
  ``GATEWAY_NOTIFY_POA_DAYS`` (30, 15) or past (0);
- ``deadline.approaching``: a deadline of the reporting calendar
  (gateway/domains/reporting/handler.py) is within ``GATEWAY_NOTIFY_DEADLINE_DAYS`` (10, 3)
  for an organisation with no accepted or processed report of that period.

Each is sent once per subject and threshold, the tightest threshold reached: a scan that first
sees a certificate 10 days before its end sends the 15-day notice, not the 30-day one as well.
The unique key of ``notifications`` makes the once hold across processes and nodes. Lives in
``ops`` because it reads the reporting calendar of ``domains`` and the payloads of stored
envelopes, which the ``webhooks`` wing may not import."""
from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, time, timezone

from cryptography import x509

from gateway.config import days
from gateway.domains.reporting.handler import LIVE, deadline
from gateway.pipeline.powers import live_powers
from gateway.storage import notifications as store
from gateway.storage import webhooks as rows

log = logging.getLogger("gateway.notifications")
KINDS = ("certificate.expiring", "poa.expiring", "deadline.approaching")
PERIODS = ("21", "31", "33", "34")  # the reporting calendar's periods (handler.deadline)
_NAMESPACE = uuid.UUID("6f1c1b0e-5b52-4c39-9a53-3c1f6f0f9e11")  # of the derived event ids


def threshold(left: float, thresholds: tuple[int, ...], ended: bool) -> int | None:
    """The tightest threshold ``left`` days have reached (0 once ``ended``), None if none."""
    if ended:
        return 0
    reached = [t for t in thresholds if left <= t]
    return min(reached) if reached else None


def _send(engine, now: datetime, notice: store.Notice, payload: dict) -> bool:
    event_id = str(uuid.uuid5(_NAMESPACE, f"{notice.kind}/{notice.subject}/{notice.threshold_days}"))
    event = rows.NewEvent(event_id=event_id, type=notice.kind,
                          ordering_key=f"{notice.kind}:{notice.subject}"[:100], created_at=now,
                          organisation_inn=notice.organisation_inn, mnemonic=notice.mnemonic,
                          payload={**payload, "threshold_days": notice.threshold_days,
                                   "due_at": notice.due_at.isoformat()})
    return store.notify_once(engine, notice, event, now)


def _certificate(engine, now, thresholds, fingerprint, ends, subject, payload, **recipient) -> int:
    left = (ends - now).total_seconds() / 86400
    reached = threshold(left, thresholds, ends <= now)
    if reached is None:
        return 0
    return _send(engine, now, store.Notice("certificate.expiring", subject, reached, ends, **recipient),
                 {**payload, "fingerprint": fingerprint, "not_after": ends.isoformat(),
                  "expired": ends <= now})


def scan(engine, settings, now: datetime) -> dict[str, int]:
    """One scan; how many notifications of each kind were new."""
    cert_days, poa_days = days(settings.notify_certificate_days), days(settings.notify_poa_days)
    deadline_days = days(settings.notify_deadline_days)
    new = dict.fromkeys(KINDS, 0)
    for fingerprint, mnemonic, pem in rows.certificates(engine):
        try:
            ends = x509.load_pem_x509_certificate(pem.encode("ascii")).not_valid_after_utc
        except ValueError:
            continue
        new["certificate.expiring"] += _certificate(
            engine, now, cert_days, fingerprint, ends, f"certificate:{fingerprint}",
            {"holder": "system", "system": mnemonic}, mnemonic=mnemonic)
    terms_ = live_powers(engine)
    representatives = {(t.principal.inn, t.representative.inn) for t in terms_}
    for fingerprint, inn, person_inn, subject, ends in store.persons(engine):
        holder = "representative" if (inn, person_inn) in representatives else "head"
        new["certificate.expiring"] += _certificate(
            engine, now, cert_days, fingerprint, ends, f"certificate:{fingerprint}:{inn}",
            {"holder": holder, "organisation_inn": inn, "person_inn": person_inn,
             "subject": subject}, organisation_inn=inn)
    today = now.date()
    for t in terms_:
        left = (t.valid_until - today).days
        reached = threshold(left, poa_days, left < 0)
        if reached is None:
            continue
        ends = datetime.combine(t.valid_until, time.max, tzinfo=timezone.utc)
        new["poa.expiring"] += _send(engine, now, store.Notice(
            "poa.expiring", f"poa:{t.number}:{t.valid_until.isoformat()}", reached, ends,
            organisation_inn=t.principal.inn), {
            "number": t.number, "organisation_inn": t.principal.inn, "valid_until": t.valid_until.isoformat(),
            "representative_inn": t.representative.inn, "expired": left < 0})
    new["deadline.approaching"] = _deadlines(engine, now, today, deadline_days)
    return new


def _deadlines(engine, now: datetime, today: date, thresholds: tuple[int, ...]) -> int:
    new = 0
    organisations = store.organisations(engine)
    for year in (today.year - 1, today.year):
        for period in PERIODS:
            due = deadline(year, period)
            left = (due - today).days
            reached = threshold(left, thresholds, False) if left >= 0 else None
            if reached is None or not organisations:
                continue
            done = store.filed(engine, f"{year}-{period}", LIVE)
            for inn in organisations:
                if inn in done:
                    continue
                new += _send(engine, now, store.Notice(
                    "deadline.approaching", f"deadline:{inn}:{year}-{period}", reached,
                    datetime.combine(due, time.max, tzinfo=timezone.utc), organisation_inn=inn),
                    {"organisation_inn": inn, "year": year, "period": period,
                     "deadline": due.isoformat(), "days_left": left})
    return new


