"""Namespaces of the business payloads.

The four domain namespaces are defined once in :mod:`envelopes.ns` and re-exported here (never
respelled); what only the payloads need, the tax service's EMCHD_1 namespace, lives here.
"""
from envelopes.ns import (LICENSING, POWER_OF_ATTORNEY, REGISTRATION, REPORT_BALANCE,  # noqa: F401
                          REPORTING)

#: The tax service's machine-readable power of attorney, format version EMCHD_1 (xsd/emchd-1.xsd).
EMCHD = "urn://x-artefacts/EMCHD_1"

#: Readable prefixes for XPaths in docs and error reports.
PREFIXES = {
    "reg": REGISTRATION,
    "rep": REPORTING,
    "lic": LICENSING,
    "poa": POWER_OF_ATTORNEY,
    "bal": REPORT_BALANCE,
    "e": EMCHD,
}

#: The XSD (file in xsd/) that defines each payload namespace.
SCHEMA_FILES = {
    REGISTRATION: "organisation-registration-1.0.xsd",
    REPORTING: "reporting-1.0.xsd",
    LICENSING: "licensing-1.0.xsd",
    POWER_OF_ATTORNEY: "power-of-attorney-1.0.xsd",
    REPORT_BALANCE: "report-balance-1.0.xsd",
    EMCHD: "emchd-1.xsd",
}
