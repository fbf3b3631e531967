"""Stage: route a payload to its business domain by the payload's root element QName.

Domains are discovered: every sub-package of ``gateway.domains`` that exposes a ``DOMAIN`` object
is a domain. Adding a domain means adding its XSD, its descriptor and payload codecs in
``envelopes/payloads/`` and one package here (docs/domains.md).
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from types import MappingProxyType, ModuleType
from typing import Callable, Mapping

from lxml import etree

from envelopes.payloads.descriptors import DomainDescriptor
from gateway.domains.statemachine import StateMachine


@dataclasses.dataclass(frozen=True)
class HandlerContext:
    """What a handler may read: the verified payload element and who signed it.

    A handler is a pure function of this context: it reads the payload (through the codecs of
    ``envelopes.payloads``), the caller, the registers and the applications (reads only, before
    the transaction) and the clock ``now``, and returns a :class:`Decision`. It never writes:
    register changes are :class:`RegisterWrite` items of the decision, carried out after the
    commit; it never asks the system clock (``date.today()``), only ``now``; and it keeps no state
    between calls."""

    payload: etree._Element
    message_id: str
    sender: str
    signer: object  # signing.identity.SignerIdentity
    test_message: bool
    registers: object = None  # gateway.registers.Registers: read BEFORE the transaction, never written
    applications: object = None  # gateway.storage.applications.Applications: current states, read-only
    now: object = None  # datetime (UTC) of the request, from the gateway's clock
    person: object = None  # SignerIdentity of a verified PersonalSignature over the payload
    #: gateway.pipeline.validate.SchemaSet: the pipeline's compiled XSDs, for content a payload's
    #: own XSD leaves unchecked (a report kind's content)
    schemas: object = None

    @property
    def acting_person(self):
        """Who acts: the person who signed the content, else the signer of the envelope."""
        return self.person or self.signer


@dataclasses.dataclass(frozen=True)
class RegisterWrite:
    """A change to an external register that a decision needs. The handler only names it; the
    pipeline stores it in the outbox in the same transaction as the state change, and it is
    carried out after the commit, retried until done, with an idempotency key the register
    honours, so a failed commit never leaves a register changed and a retry never writes twice.

    ``action`` names a method of :class:`gateway.registers.Registers` that writes, one of
    ``gateway.registers.outbox.ACTIONS``; ``args`` are its JSON-able keyword arguments."""

    action: str
    args: Mapping


@dataclasses.dataclass(frozen=True)
class Decision:
    """What a handler decided: the application's kind, organisation and new state, and what
    the consumer gets back through GetResponse: a business ``response`` element, or
    ``rejections`` ((code, description), ...), or else a status naming the new state."""

    kind: str
    organisation_inn: str
    state: str
    response: etree._Element | None = None
    rejections: tuple[tuple[str, str], ...] = ()
    #: an existing application moving on (its id and the state it must still be in), instead
    #: of a new one
    application_id: int | None = None
    from_state: str | None = None
    #: other applications moved in the same transaction: (id, from state, to state), e.g. the
    #: report a correction supersedes
    also_moves: tuple[tuple[int, str, str], ...] = ()
    #: deliver the request to the type's external providers (False: held back, e.g. incomplete)
    forward: bool = True
    #: instead, deliver this earlier request (its MessageID) to them now, e.g. once supplemented
    forward_original: str | None = None
    #: register changes carried out after the commit (through the outbox), never by the handler
    register_writes: tuple[RegisterWrite, ...] = ()


@dataclasses.dataclass(frozen=True)
class Domain:
    """A business domain as the gateway runs it: the payloads' descriptor (name, namespace,
    prefix, XSD, roots; :mod:`envelopes.payloads.descriptors`), its transition table and its
    handlers."""

    descriptor: DomainDescriptor
    machine: StateMachine
    handlers: Mapping[str, Callable[[HandlerContext], Decision]]  # request root -> handler
    #: answer root -> handler of a provider's answer (drives the state machine onwards)
    response_handlers: Mapping[str, Callable[[HandlerContext], Decision]] = dataclasses.field(
        default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "handlers", MappingProxyType(dict(self.handlers)))
        object.__setattr__(self, "response_handlers", MappingProxyType(dict(self.response_handlers)))
        d = self.descriptor
        if set(self.handlers) != set(d.requests):
            raise ValueError(f"{d.name}: handlers for {sorted(self.handlers)}, requests are {sorted(d.requests)}")
        provider_answers = set().union(*d.provider_answers.values())
        if not set(self.response_handlers) <= provider_answers:
            raise ValueError(f"{d.name}: {sorted(set(self.response_handlers) - provider_answers)} "
                             "is not an answer a provider may send")

    @property
    def name(self) -> str:
        return self.descriptor.name

    @property
    def namespace(self) -> str:
        return self.descriptor.namespace

    @property
    def prefix(self) -> str:
        return self.descriptor.prefix

    @property
    def xsd(self) -> str:
        return self.descriptor.xsd

    @property
    def response_roots(self) -> Mapping[str, frozenset[str]]:
        """request root -> business roots a provider may answer it with (any other root is
        IncorrectResponseContentType)."""
        return self.descriptor.provider_answers


def discover(package: ModuleType | None = None) -> dict[str, Domain]:
    """All domains of ``package`` (default ``gateway.domains``), keyed by namespace URI: every
    sub-package or module with a ``DOMAIN`` — a small domain may be one file ``<name>.py``."""
    found: dict[str, Domain] = {}
    if package is None:
        import gateway.domains as package

    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        domain = getattr(module, "DOMAIN", None)
        if isinstance(domain, Domain):
            found[domain.namespace] = domain
    return found


class Router:
    def __init__(self, domains: Mapping[str, Domain]):
        self.domains = dict(domains)

    def route(self, payload: etree._Element) -> tuple[Domain | None, Callable[[HandlerContext], Decision] | None]:
        """The built-in domain and handler for a payload, or (None, None)."""
        qname = etree.QName(payload)
        domain = self.domains.get(qname.namespace)
        handler = domain.handlers.get(qname.localname) if domain else None
        return (domain, handler) if handler is not None else (domain, None)
