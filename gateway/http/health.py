"""Readiness: may this process take traffic? The database answers, the state registers answer,
and (unless revocation checking is off) the certification authority's CRL/OCSP service answers.
Liveness (``/health/live``) asks nothing: a live process that is not ready is restarted by
nobody, only taken out of the balancer until its dependencies are back."""
from __future__ import annotations

import requests

from gateway.storage.db import ping

TIMEOUT = 1.0  # per dependency: a probe must answer faster than the balancer's own timeout


def _reachable(url: str) -> str:
    try:
        answer = requests.get(url.rstrip("/") + "/health", timeout=TIMEOUT)
        answer.close()
        return "ok" if answer.status_code < 500 else f"HTTP {answer.status_code}"
    except requests.RequestException as exc:
        return f"unreachable: {type(exc).__name__}"


def readiness(engine, settings) -> tuple[bool, dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        ping(engine)
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means the same: not ready
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["registers"] = _reachable(settings.registers_url)
    if settings.revocation != "off":
        checks["ca"] = _reachable(settings.ca_url)
    return all(v == "ok" for v in checks.values()), checks
