"""XML namespaces of the SMEV 3 message exchange (version 1.1) and of XMLDSig.

One place for every namespace URI, so that no module spells one by hand.
"""
# XMLDSig is the trust core's namespace: defined in signing/ns.py (signing imports nothing of
# envelopes) and re-exported here, so that envelopes and gateway keep writing ``ns.DS``.
from signing.ns import DS  # noqa: F401

SMEV_TYPES = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1"
SMEV_BASIC = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.1"
SMEV_FAULTS = "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/faults/1.1"
SMEV_SERVICE = "urn://x-artefacts-smev-gov-ru/services/message-exchange/1.1"

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XOP = "http://www.w3.org/2004/08/xop/include"

#: Gateway extension inside MessageMetadata: registration number and digest of what was received.
RECEIPT = "urn://smev-gateway/receipt/1.0"

NSMAP = {
    "ns": SMEV_TYPES,
    "b": SMEV_BASIC,
    "f": SMEV_FAULTS,
    "ds": DS,
}


def q(ns: str, local: str) -> str:
    """Clark notation ``{ns}local`` as lxml uses it."""
    return f"{{{ns}}}{local}"


def __getattr__(name: str) -> str:
    """The business payload namespaces (``ns.REGISTRATION``, ``ns.POWER_OF_ATTORNEY``,
    ``ns.REPORT_BALANCE``, …): each is declared by its payload module and merged in
    :data:`envelopes.payloads.ns.DOMAIN_NAMESPACES`; looked up on first use (PEP 562), since the
    payload modules are not needed by what imports this module only for the SMEV namespaces."""
    from envelopes.payloads.ns import DOMAIN_NAMESPACES

    try:
        namespace = DOMAIN_NAMESPACES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = namespace  # an immutable fact: later reads are plain attribute reads
    return namespace
