"""The business domains' descriptors (namespace, readable prefix, XSD, request and answer roots)
and the report kinds, merged from what each payload module declares (``PAYLOADS``,
:mod:`envelopes.payloads._declare`). :mod:`envelopes.payloads.ns` derives ``PREFIXES`` and
``SCHEMA_FILES`` from them, and each gateway domain (``gateway/domains/<name>``) is built on its
descriptor. docs/payloads.md shows the same table.

Each descriptor is also importable as ``<NAME>_DOMAIN`` (``REGISTRATION_DOMAIN``, ``POA_DOMAIN``, …),
derived from its name, so this module needs no edit for a new domain.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from envelopes.payloads._declare import DomainDescriptor, ReportKind, discover

__all__ = ["DomainDescriptor", "ReportKind", "DOMAINS", "REPORT_KINDS"]

#: every domain, by name
DOMAINS: Mapping[str, DomainDescriptor] = MappingProxyType(
    {m.domain.name: m.domain for m in discover() if m.domain is not None})

#: report kind code → kind
REPORT_KINDS: Mapping[str, ReportKind] = MappingProxyType(
    {k.code: k for m in discover() for k in m.report_kinds})

for _descriptor in DOMAINS.values():
    globals()[f"{_descriptor.name.upper()}_DOMAIN"] = _descriptor
    __all__.append(f"{_descriptor.name.upper()}_DOMAIN")
del _descriptor
