"""Namespaces of the business payloads, merged from what each payload module declares
(:mod:`envelopes.payloads._declare`): every domain's and report kind's namespace under its
constant name (``REGISTRATION``, ``POWER_OF_ATTORNEY``, ``REPORT_BALANCE``, …; the domain ones are
also :mod:`envelopes.ns`'s), the tax service's ``EMCHD``, the readable ``PREFIXES`` and the XSD of
each namespace (``SCHEMA_FILES``). Each string is spelled once, in its payload module.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from envelopes.payloads._declare import discover
from envelopes.payloads.descriptors import DOMAINS, REPORT_KINDS

_SCHEMAS = tuple(s for m in discover() for s in m.schemas)

#: constant name → namespace of every domain and report kind (what :mod:`envelopes.ns` re-exports)
DOMAIN_NAMESPACES: Mapping[str, str] = MappingProxyType({
    **{d.constant: d.namespace for d in DOMAINS.values()},
    **{k.constant: k.namespace for k in REPORT_KINDS.values()},
})

#: Readable prefixes for XPaths in docs and error reports: reg, rep, lic, poa, det, bal, e.
PREFIXES = {
    **{d.prefix: d.namespace for d in DOMAINS.values()},
    **{k.prefix: k.namespace for k in REPORT_KINDS.values()},
    **{s.prefix: s.namespace for s in _SCHEMAS},
}

#: The XSD (file in xsd/) that defines each payload namespace.
SCHEMA_FILES = {
    **{d.namespace: d.xsd for d in DOMAINS.values()},
    **{k.namespace: k.xsd for k in REPORT_KINDS.values()},
    **{s.namespace: s.xsd for s in _SCHEMAS},
}

globals().update(DOMAIN_NAMESPACES)
globals().update({s.constant: s.namespace for s in _SCHEMAS})
