"""What a payload module declares about its payloads, and how the package finds the modules.

Each payload module of ``envelopes/payloads/`` (``registration``, ``reporting``, …) ends with one
``PAYLOADS = PayloadModule(...)``: its namespace(s), its domain descriptor, its report kinds, its
codec rows, its identifier rows and its samples. :func:`discover` imports every such module (as
``gateway/domains/base.py`` discovers domain packages), and the shared tables — ``DOMAINS`` and
``REPORT_KINDS`` (descriptors.py), ``PREFIXES`` and ``SCHEMA_FILES`` (ns.py), ``CODECS``
(codec.py), ``IDENTIFIERS`` (identifiers.py), the samples (samples.py) — are merged from them,
so a new domain adds its module and edits none of those. docs/adding-a-domain.md.

This module imports no payload module until :func:`discover` is called, so every payload module
can import it without a cycle.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from types import MappingProxyType, ModuleType
from typing import Any, Callable, Mapping

#: Modules of the package that merge the declarations (or help them); discovery skips them, and
#: every module whose name starts with ``_``.
AGGREGATORS = frozenset({"codec", "descriptors", "identifiers", "ns", "samples", "schemas"})


@dataclasses.dataclass(frozen=True)
class DomainDescriptor:
    """A business domain's payloads. ``name`` is the gateway's name for the domain (its package
    or module in ``gateway/domains/`` and the ``domain`` of its applications); ``constant`` the
    name of its namespace in :mod:`envelopes.ns` and :mod:`envelopes.payloads.ns` (default:
    ``name`` in upper case). ``descriptors.<NAME>_DOMAIN`` is the descriptor itself."""

    name: str
    namespace: str
    prefix: str  # readable prefix in XPaths of error reports and docs
    xsd: str  # file in xsd/
    requests: tuple[str, ...]  # roots a consumer sends (SendRequest)
    answers: tuple[str, ...]  # roots that answer them, the gateway's and providers'
    #: request root → the answer roots an external provider may send for it (SendResponse);
    #: any other root is IncorrectResponseContentType
    provider_answers: Mapping[str, frozenset[str]]
    constant: str = ""

    def __post_init__(self):
        object.__setattr__(self, "provider_answers", MappingProxyType(dict(self.provider_answers)))
        object.__setattr__(self, "constant", self.constant or self.name.upper())
        if set(self.requests) & set(self.answers):
            raise ValueError(f"{self.name}: a root is both a request and an answer")
        for request, answers in self.provider_answers.items():
            if request not in self.requests or not answers <= set(self.answers):
                raise ValueError(f"{self.name}: {request} → {sorted(answers)} is not a request and its answers")

    @property
    def roots(self) -> tuple[str, ...]:
        """Every global element of the domain's XSD."""
        return self.requests + self.answers

    def qname(self, root: str) -> str:
        """Clark name ``{namespace}root`` of one of the domain's roots."""
        if root not in self.roots:
            raise KeyError(f"{root} is not a root of the {self.name} domain")
        return f"{{{self.namespace}}}{root}"


@dataclasses.dataclass(frozen=True)
class ReportKind:
    """A report kind: the root element of its content (inside ``ReportSubmission/Content``), in
    its own namespace, and the XSD (in xsd/) that defines it. ``constant``: the namespace's name
    in :mod:`envelopes.ns` (default ``REPORT_<code>``)."""

    code: str
    namespace: str
    prefix: str
    root: str
    xsd: str
    constant: str = ""

    def __post_init__(self):
        object.__setattr__(self, "constant", self.constant or f"REPORT_{self.code}")


@dataclasses.dataclass(frozen=True)
class Schema:
    """A payload namespace that is neither a domain's nor a report kind's (EMCHD_1): its name in
    :mod:`envelopes.payloads.ns`, readable prefix and XSD."""

    constant: str
    namespace: str
    prefix: str
    xsd: str


@dataclasses.dataclass(frozen=True)
class Codec:
    """One payload root: its dataclass, Clark name, builder and parser (codec.py merges them)."""

    type: type
    root: str
    build: Callable[[Any], Any]
    parse: Callable[[Any], Any]


@dataclasses.dataclass(frozen=True)
class IdentifierField:
    name: str  # as reported to the sender
    rule: str  # inn_legal_entity | inn_person | ogrn | ogrnip | snils | settlement_account
    xpaths: tuple[str, ...]


def identifier(name: str, rule: str, *xpaths: str) -> IdentifierField:
    """One identifier row: ``rule`` is a function of identifiers.py, ``xpaths`` its arguments."""
    return IdentifierField(name, rule, xpaths)


@dataclasses.dataclass(frozen=True)
class PayloadModule:
    """Everything a payload module declares, as its ``PAYLOADS``.

    ``identifiers``: Clark name of a request root → the identifier fields it carries (checked by
    the gateway right after the XSD). ``samples``: a function giving file name under
    ``envelopes/samples/`` → sample dataclass (a function, as samples use the demo data, which
    imports the payload modules)."""

    domain: DomainDescriptor | None = None
    report_kinds: tuple[ReportKind, ...] = ()
    schemas: tuple[Schema, ...] = ()
    codecs: tuple[Codec, ...] = ()
    identifiers: Mapping[str, tuple[IdentifierField, ...]] = dataclasses.field(default_factory=dict)
    samples: Callable[[], Mapping[str, Any]] | None = None

    def __post_init__(self):
        object.__setattr__(self, "identifiers", MappingProxyType(dict(self.identifiers)))


@functools.cache
def discover() -> tuple[PayloadModule, ...]:
    """Every payload module's declaration, in module-name order (imported once: the declarations
    are immutable facts)."""
    import envelopes.payloads

    found = []
    for info in pkgutil.iter_modules(envelopes.payloads.__path__):
        if info.name.startswith("_") or info.name in AGGREGATORS:
            continue
        module: ModuleType = importlib.import_module(f"envelopes.payloads.{info.name}")
        declared = getattr(module, "PAYLOADS", None)
        if isinstance(declared, PayloadModule):
            found.append(declared)
    return tuple(found)
