"""Namespaces of the business payloads.

The domain namespaces are defined once in :mod:`envelopes.ns` and re-exported here (never
respelled); what only the payloads need, the tax service's EMCHD_1 namespace, lives here. The
readable prefixes and the XSD of each namespace come from the domain descriptors
(:mod:`envelopes.payloads.descriptors`), so each is spelled once.
"""
from envelopes.ns import (DETAILS, LICENSING, POWER_OF_ATTORNEY, REGISTRATION,  # noqa: F401
                          REPORT_BALANCE, REPORTING)
from envelopes.payloads.descriptors import DOMAINS, REPORT_KINDS

#: The tax service's machine-readable power of attorney, format version EMCHD_1 (xsd/emchd-1.xsd).
EMCHD = "urn://x-artefacts/EMCHD_1"

#: Readable prefixes for XPaths in docs and error reports: reg, rep, lic, poa, det, bal, e.
PREFIXES = {
    **{d.prefix: d.namespace for d in DOMAINS.values()},
    **{k.prefix: k.namespace for k in REPORT_KINDS.values()},
    "e": EMCHD,
}

#: The XSD (file in xsd/) that defines each payload namespace.
SCHEMA_FILES = {
    **{d.namespace: d.xsd for d in DOMAINS.values()},
    **{k.namespace: k.xsd for k in REPORT_KINDS.values()},
    EMCHD: "emchd-1.xsd",
}
