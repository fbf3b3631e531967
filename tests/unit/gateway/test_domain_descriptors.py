"""Each gateway domain is built on its payload descriptor: the namespace, prefix, XSD and roots
the pipeline uses are the descriptor's, spelled nowhere in gateway/domains/, and a domain must
handle exactly its descriptor's requests."""
from __future__ import annotations

import sys
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
        assert (DOMAINS_DIR / domain.name / "__init__.py").is_file() or (DOMAINS_DIR / f"{domain.name}.py").is_file()


def test_a_domain_may_be_one_module(tmp_path, monkeypatch):
    """Discovery takes a module file with a DOMAIN as it takes a package (and skips modules
    without one, like base.py)."""
    (tmp_path / "toydomains").mkdir()
    (tmp_path / "toydomains" / "__init__.py").write_text("")
    (tmp_path / "toydomains" / "helpers.py").write_text("X = 1\n")
    (tmp_path / "toydomains" / "toy.py").write_text(
        "from envelopes.payloads._declare import DomainDescriptor\n"
        "from gateway.domains.base import Decision, Domain\n"
        "from gateway.domains.statemachine import StateMachine\n"
        "DESCRIPTOR = DomainDescriptor('toy', 'urn:toy', 'toy', 'toy.xsd', ('Ask',), ('Answer',), {})\n"
        "def ask(ctx):\n"
        "    return Decision(kind='toy', organisation_inn='7702123454', state='done')\n"
        "DOMAIN = Domain(DESCRIPTOR, StateMachine('toy', {(None, 'ask'): 'done'}), handlers={'Ask': ask})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import toydomains

    found = discover(toydomains)
    assert list(found) == ["urn:toy"] and found["urn:toy"].name == "toy"
    assert found["urn:toy"].handlers["Ask"] is sys.modules["toydomains.toy"].ask


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
