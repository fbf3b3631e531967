"""The powers of attorney the gateway registered and did not revoke since, read back from the
stored requests (their terms are in the requests; the register keeps its own copy). Read by the
notifications scan (``poa.expiring``) and the console's dashboard."""
from __future__ import annotations

import logging

from envelopes.payloads.poa import (PowerOfAttorney, parse_power_of_attorney_registration,
                                    parse_power_of_attorney_revocation, terms)
from gateway.faults import GatewayFault
from gateway.pipeline.views import business_element
from gateway.storage import notifications as store

log = logging.getLogger("gateway.powers")


def stored_payload(envelope: bytes):
    """The business element of a stored request (None if it cannot be read): the same hardened
    parse as a handler's ``payload_of`` (views.business_element), tolerant here because a
    scan over every stored request must not stop at one."""
    try:
        return business_element(envelope)
    except (GatewayFault, IndexError, StopIteration):
        return None


def live_powers(engine) -> list[PowerOfAttorney]:
    """The terms of every registered power of attorney not revoked since."""
    registered, revoked = [], set()
    for kind, state, inn, envelope in store.poa_requests(engine):
        payload = stored_payload(bytes(envelope))
        if payload is None:
            continue
        try:
            if kind == "power-of-attorney" and state == "registered":
                registered.append(terms(parse_power_of_attorney_registration(payload).document))
            elif state == "revoked":
                revoked.add((inn, parse_power_of_attorney_revocation(payload).number))
        except Exception:  # stored and accepted once; a later reader change must not stop a scan
            log.warning("a stored power-of-attorney request of %s could not be read", inn)
    return [t for t in registered if (t.principal.inn, t.number) not in revoked]
