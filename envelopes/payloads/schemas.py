"""Validate a payload element against the XSD of its namespace, with every problem named.

The fast check is libxml2 (lxml); only an invalid payload pays for xmlschema's detailed report,
which names the element (and attribute) at fault — what a sender needs to fix it. Schemas are
parsed with DTDs, entities and network access off.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import xmlschema
from lxml import etree

from envelopes.payloads.ns import PREFIXES, SCHEMA_FILES

XSD_DIR = Path(__file__).resolve().parents[2] / "xsd"
_PREFIX_OF = {uri: prefix for prefix, uri in PREFIXES.items()}
#: how xmlschema names the attribute at fault: "attribute X='v': ...", "missing required
#: attribute 'X'", "'X' attribute not allowed ..."
_ATTRIBUTE = re.compile(r"^attribute ([^\s=]+)=|required attribute '([^']+)'|^'([^']+)' attribute not allowed")


@dataclasses.dataclass(frozen=True)
class SchemaIssue:
    field: str  # local name of the element at fault, or "@name" of its attribute
    xpath: str  # readable absolute path, prefixes as in ns.PREFIXES
    message: str


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@functools.cache
def lxml_schema(filename: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / filename), _parser()))


@functools.cache
def detailed_schema(filename: str) -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(str(XSD_DIR / filename))


def schema_file(element: etree._Element) -> str:
    namespace = etree.QName(element).namespace
    try:
        return SCHEMA_FILES[namespace]
    except KeyError:
        raise ValueError(f"no payload schema for namespace {namespace!r}") from None


def readable_xpath(element: etree._Element, prefixes: dict[str, str] | None = None) -> str:
    """An absolute XPath with readable prefixes (``prefixes``: namespace → prefix, default the
    payloads' own) and positions only where siblings repeat. A namespace without a known prefix
    keeps the document's, or gets a ``*[local-name()=… and namespace-uri()=…]`` step, so the
    path always selects the element."""
    prefixes = _PREFIX_OF if prefixes is None else prefixes
    steps = []
    node: etree._Element | None = element
    while node is not None:
        qname = etree.QName(node)
        prefix = prefixes.get(qname.namespace or "") or node.prefix
        if not qname.namespace:
            step = qname.localname
        elif prefix:
            step = f"{prefix}:{qname.localname}"
        else:
            step = f"*[local-name()='{qname.localname}' and namespace-uri()='{qname.namespace}']"
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                step += f"[{same.index(node) + 1}]"
        steps.append(step)
        node = parent
    return "/" + "/".join(reversed(steps))


def field_node(element: etree._Element, path: str):
    """The first node ``path`` selects relative to ``element`` (an element, or an attribute's
    value as lxml's smart string), prefixes of :data:`~envelopes.payloads.ns.PREFIXES`; None if
    it selects nothing. For naming a field at fault, e.g. with the tables ``FIELD_XPATHS`` of
    the payload modules."""
    found = element.xpath(path, namespaces=PREFIXES)
    return found[0] if found else None


def issues(element: etree._Element, filename: str | None = None) -> list[SchemaIssue]:
    """Every violation of ``element`` against its schema; empty when valid."""
    filename = filename or schema_file(element)
    if lxml_schema(filename).validate(element):
        return []
    found = []
    for error in detailed_schema(filename).iter_errors(element):
        node = error.elem if isinstance(error.elem, etree._Element) else element
        reason = error.reason or str(error.message)
        attribute = _ATTRIBUTE.search(reason)
        name = next((g for g in attribute.groups() if g), None) if attribute else None
        field = f"@{name}" if name else etree.QName(node).localname
        found.append(SchemaIssue(field, readable_xpath(node), reason))
    if not found:  # libxml2 and xmlschema disagree: report libxml2's words
        found = [SchemaIssue("", "", entry.message) for entry in lxml_schema(filename).error_log]
    return found


def is_valid(element: etree._Element) -> bool:
    return lxml_schema(schema_file(element)).validate(element)
