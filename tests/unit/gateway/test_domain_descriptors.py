"""Each gateway domain is built on its payload descriptor: the namespace, prefix, XSD and roots
the pipeline uses are the descriptor's, spelled nowhere in gateway/domains/, and a domain must
handle exactly its descriptor's requests."""
from __future__ import annotations

from pathlib import Path

import pytest

from envelopes.payloads.descriptors import DOMAINS, REPORT_KINDS
from gateway.domains.base import Domain, discover
from gateway.domains.registration.states import MACHINE

DOMAINS_DIR = Path(__file__).resolve().parents[3] / "gateway" / "domains"


def test_every_descriptor_is_a_running_domain_built_on_it():
    running = discover()
    assert {d.name for d in running.values()} == set(DOMAINS)
    for namespace, domain in running.items():
        descriptor = DOMAINS[domain.name]
        assert domain.descriptor is descriptor and namespace == descriptor.namespace
        assert (domain.prefix, domain.xsd) == (descriptor.prefix, descriptor.xsd)
        assert domain.response_roots == descriptor.provider_answers
        assert (DOMAINS_DIR / domain.name / "__init__.py").is_file()


def test_no_namespace_or_schema_file_is_spelled_in_the_domains_wing():
    spelled = ({d.namespace for d in DOMAINS.values()} | {d.xsd for d in DOMAINS.values()}
               | {k.namespace for k in REPORT_KINDS.values()} | {k.xsd for k in REPORT_KINDS.values()})
    for path in DOMAINS_DIR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not [s for s in spelled if s in text], path


def test_a_domain_handles_exactly_its_requests():
    d = DOMAINS["registration"]
    handlers = {root: (lambda ctx: None) for root in d.requests}
    Domain(d, MACHINE, handlers)
    with pytest.raises(ValueError, match="handlers for"):
        Domain(d, MACHINE, {**handlers, "RegistrationResult": lambda ctx: None})
    with pytest.raises(ValueError, match="handlers for"):
        Domain(d, MACHINE, dict(list(handlers.items())[1:]))
    with pytest.raises(ValueError, match="not an answer a provider may send"):
        Domain(d, MACHINE, handlers, response_handlers={"OrganisationRegistrationRequest": lambda ctx: None})
