"""Business payloads of the domains: typed dataclasses, ``build_*`` (dataclass → lxml
element, the element that travels in ``MessagePrimaryContent``) and ``parse_*`` (element →
dataclass) for every request and answer, one module per domain, plus the EMCHD_1 power of
attorney format. Each module declares its namespace, descriptor, codecs, identifier rows and
samples (``PAYLOADS``); the shared tables are merged from them (:mod:`envelopes.payloads._declare`).
Schemas: ``xsd/``; namespaces: :mod:`envelopes.payloads.ns`; docs/payloads.md.

Parsers read elements that already passed their XSD (the gateway validates first); they still
raise :class:`PayloadError` naming the field when something they need is missing.
"""
from envelopes.payloads._xml import PayloadError

__all__ = ["PayloadError"]
