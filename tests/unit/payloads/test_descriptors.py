"""The domain descriptors are the one place naming each domain's namespace, prefix, XSD and
roots: they agree with the XSDs, and the prefix and schema tables are derived from them."""
from __future__ import annotations

import pytest
from lxml import etree

from envelopes.payloads import codec, ns, schemas
from envelopes.payloads.descriptors import DOMAINS, REPORT_KINDS, DomainDescriptor

XS = "http://www.w3.org/2001/XMLSchema"


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_roots_are_the_global_elements_of_the_domains_xsd(name):
    d = DOMAINS[name]
    xsd = etree.parse(str(schemas.XSD_DIR / d.xsd)).getroot()
    assert xsd.get("targetNamespace") == d.namespace
    assert sorted(d.roots) == sorted(e.get("name") for e in xsd.findall(f"{{{XS}}}element"))
    assert len(set(d.roots)) == len(d.roots)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_every_root_has_its_codec(name):
    d = DOMAINS[name]
    assert {d.qname(root) for root in d.roots} <= {root for root, _, _ in codec.CODECS.values()}


def test_prefixes_and_schema_files_come_from_the_descriptors():
    for d in DOMAINS.values():
        assert ns.PREFIXES[d.prefix] == d.namespace and ns.SCHEMA_FILES[d.namespace] == d.xsd
    for kind in REPORT_KINDS.values():
        assert ns.PREFIXES[kind.prefix] == kind.namespace and ns.SCHEMA_FILES[kind.namespace] == kind.xsd
    assert len(set(ns.PREFIXES.values())) == len(ns.PREFIXES)
    assert set(ns.SCHEMA_FILES) == set(ns.PREFIXES.values())


def test_a_descriptor_refuses_roots_that_do_not_fit():
    with pytest.raises(ValueError, match="both a request and an answer"):
        DomainDescriptor("x", "urn:x", "x", "x.xsd", ("A",), ("A",), {})
    with pytest.raises(ValueError, match="is not a request and its answers"):
        DomainDescriptor("x", "urn:x", "x", "x.xsd", ("A",), ("B",), {"A": frozenset({"C"})})
    with pytest.raises(ValueError, match="is not a request and its answers"):
        DomainDescriptor("x", "urn:x", "x", "x.xsd", ("A",), ("B",), {"B": frozenset({"B"})})
    with pytest.raises(KeyError):
        DOMAINS["poa"].qname("RegistrationResult")
    with pytest.raises(TypeError):
        DOMAINS["poa"].provider_answers["PowerOfAttorneyRevocation"] = frozenset()


def test_the_shared_tables_are_merged_from_what_the_payload_modules_declare():
    """Each payload module's PAYLOADS is the one place; the public names others import are
    derived from it (docs/adding-a-domain.md)."""
    import envelopes.ns
    from envelopes.payloads import descriptors, identifiers, samples
    from envelopes.payloads._declare import discover

    assert set(DOMAINS) == {"registration", "reporting", "licensing", "poa", "details"}
    for d in DOMAINS.values():
        assert getattr(descriptors, f"{d.name.upper()}_DOMAIN") is d
        assert getattr(envelopes.ns, d.constant) == getattr(ns, d.constant) == d.namespace
    assert (ns.POWER_OF_ATTORNEY, ns.REPORT_BALANCE, ns.EMCHD) == (
        DOMAINS["poa"].namespace, REPORT_KINDS["BALANCE"].namespace, "urn://x-artefacts/EMCHD_1")
    declared = discover()
    assert codec.CODECS == {c.type: (c.root, c.build, c.parse) for m in declared for c in m.codecs}
    assert identifiers.IDENTIFIERS == {root: f for m in declared for root, f in m.identifiers.items()}
    assert sum(len(m.samples()) for m in declared if m.samples) == len(samples.payloads())
    with pytest.raises(AttributeError):
        envelopes.ns.NO_SUCH_NAMESPACE
