"""The powers of attorney the gateway registered and did not revoke since, read back from the
stored requests (their terms are in the requests; the register keeps its own copy). Read by the
notifications scan (``poa.expiring``) and the console's dashboard."""
from __future__ import annotations

import logging

from lxml import etree

from envelopes import ns
from envelopes.payloads.poa import (PowerOfAttorney, parse_power_of_attorney_registration,
                                    parse_power_of_attorney_revocation, terms)
from gateway.storage import notifications as store

log = logging.getLogger("gateway.powers")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def stored_payload(envelope: bytes) -> etree._Element | None:
    """The business element of a stored request (None if it cannot be read)."""
    try:
        root = etree.fromstring(envelope, _PARSER)
    except etree.XMLSyntaxError:  # an MTOM request is stored as its multipart body
        start = envelope.find(b"<")
        end = envelope.rfind(b"Envelope>")
        try:
            root = etree.fromstring(envelope[start:end + len("Envelope>")], _PARSER)
        except (etree.XMLSyntaxError, ValueError):
            return None
    content = root.find(f".//{{{ns.SMEV_BASIC}}}MessagePrimaryContent")
    children = [c for c in content if isinstance(c.tag, str)] if content is not None else []
    return children[0] if len(children) == 1 else None


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
