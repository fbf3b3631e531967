"""Time-driven events: ``certificate.expiring`` for a registered signing certificate of an IS
that runs out within the notice period. Run with the hourly housekeeping of every serving process
(gateway/ops/background.py); the event id is derived from the certificate and its end date, so
however many processes scan, each certificate gives one event.

``poa.expiring`` and ``deadline.approaching`` are not emitted yet (docs/integration.md)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from cryptography import x509

from gateway.storage import webhooks as rows

NOTICE = timedelta(days=30)
_NAMESPACE = uuid.UUID("6f1c1b0e-5b52-4c39-9a53-3c1f6f0f9e11")  # of the derived event ids


def scan_certificates(engine, now: datetime, notice: timedelta = NOTICE) -> int:
    """Store a ``certificate.expiring`` event for each certificate ending before ``now +
    notice`` that has none yet; how many were new."""
    new = 0
    for fingerprint, mnemonic, pem in rows.certificates(engine):
        try:
            ends = x509.load_pem_x509_certificate(pem.encode("ascii")).not_valid_after_utc
        except ValueError:
            continue
        if ends > now + notice:
            continue
        event_id = str(uuid.uuid5(_NAMESPACE, f"certificate.expiring/{fingerprint}/{ends.isoformat()}"))
        new += rows.add_event_once(engine, rows.NewEvent(
            event_id=event_id, type="certificate.expiring", ordering_key=f"certificate:{fingerprint[:16]}",
            created_at=now, mnemonic=mnemonic,
            payload={"system": mnemonic, "fingerprint": fingerprint,
                     "not_after": ends.isoformat(), "expired": ends <= now}))
    return new
