"""Checksum rules of identifiers (ИНН, ОГРН, ОГРНИП, СНИЛС, settlement account): what an XSD
pattern cannot express, checked right after the XSD on the business payload."""
from __future__ import annotations

from lxml import etree

from envelopes.payloads.identifiers import IDENTIFIERS
from envelopes.payloads.identifiers import NAMESPACES as IDENTIFIER_NAMESPACES
from gateway.faults import ValidationIssue
from gateway.pipeline.validate import column_of, identifiers, readable_xpath

__all__ = ["field_rule_issues", "locate"]


def field_rule_issues(payload: etree._Element, raw: bytes | None = None) -> list[ValidationIssue]:
    """Every identifier of the payload that breaks its checksum, by name, XPath and rule.

    The table is ``envelopes.payloads.identifiers.IDENTIFIERS`` (one place for the SDK, the docs
    and the gateway). An XPath may select several nodes (each is checked) or none (an optional
    field: the XSD decides whether it may be absent); attributes (EMCHD_1) are reported as
    ``…/@name``."""
    issues = []
    for field in IDENTIFIERS.get(payload.tag, ()):
        selected = [_xpath(path)(payload) for path in field.xpaths]
        if any(not nodes for nodes in selected):
            continue
        # one XPath: each node it selects; several (account + БИК): their first nodes together
        combos = [(n,) for n in selected[0]] if len(selected) == 1 else [tuple(n[0] for n in selected)]
        for combo in combos:
            problem = getattr(identifiers, field.rule)(*[_value(n) for n in combo])
            if problem:
                element, where = locate(combo[0])
                issues.append(ValidationIssue("FIELD_RULE", f"{field.name}: {problem}", where,
                                            element.sourceline, column_of(raw, element)))
    return issues


_XPATHS: dict[str, etree.XPath] = {}


def _xpath(path: str) -> etree.XPath:
    compiled = _XPATHS.get(path)
    if compiled is None:
        compiled = _XPATHS[path] = etree.XPath(path, namespaces=IDENTIFIER_NAMESPACES)
    return compiled


def _value(node) -> str:
    return (node if isinstance(node, str) else node.text or "").strip()


def locate(node) -> tuple[etree._Element, str]:
    """The element holding ``node`` and the readable XPath of ``node`` itself."""
    if isinstance(node, str):  # an attribute value (lxml smart string)
        element = node.getparent()
        return element, f"{readable_xpath(element)}/@{node.attrname}"
    return node, readable_xpath(node)
