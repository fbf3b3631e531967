"""Stage 2: XSD validation of the envelope and of the business payload, plus field rules.

Hot path: libxml2 (lxml ``XMLSchema``, ~11 µs a document). Only when it says "invalid" do we
ask ``xmlschema`` for the detailed report (every error with its element, expected/actual),
which is ~100x slower but only paid by bad requests.
"""
from __future__ import annotations

import threading
from types import MappingProxyType
from pathlib import Path
from typing import Iterable

import xmlschema
from lxml import etree

from envelopes import ns
from envelopes.payloads.ns import PREFIXES as PAYLOAD_PREFIXES
from envelopes.payloads.schemas import readable_xpath as payload_xpath
from gateway.config import CONTRACT_DIRS
from gateway.faults import InvalidContent, ValidationIssue

XSD_DIR = CONTRACT_DIRS["xsd"]
MAX_ISSUES = 100  # a rejection lists at most this many violations (the last says there are more)
DETAILED_REPORT_UP_TO = 20  # more libxml2 errors than this: its own (cheap) messages are reported

#: readable prefixes of error XPaths: the envelope's, and every payload's (docs/payloads.md)
_PREFIXES = MappingProxyType({
    ns.SOAP11_ENV: "soap", ns.SOAP12_ENV: "soap12", ns.SMEV_TYPES: "ns", ns.SMEV_BASIC: "b",
    ns.SMEV_FAULTS: "f", ns.DS: "ds",
    **{namespace: prefix for prefix, namespace in PAYLOAD_PREFIXES.items()}})


def readable_xpath(element: etree._Element) -> str:
    """An absolute XPath with readable prefixes (the envelope's and the payloads') and positions
    only where siblings repeat."""
    return payload_xpath(element, _PREFIXES)


def column_of(source: bytes | None, node: etree._Element) -> int | None:
    """1-based column of ``node``'s start tag on its line in the raw request, if found."""
    if source is None or not node.sourceline:
        return None
    lines = source.split(b"\n", node.sourceline)
    if len(lines) < node.sourceline:
        return None
    tag = (f"{node.prefix}:" if node.prefix else "") + etree.QName(node).localname
    at = lines[node.sourceline - 1].find(b"<" + tag.encode("utf-8"))
    return at + 1 if at >= 0 else None


class Schema:
    """One XSD file: a fast libxml2 validator, and an xmlschema one built lazily for reports."""

    def __init__(self, path: Path):
        self.path = path
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        self._fast = etree.XMLSchema(etree.parse(str(path), parser))
        self._detailed: xmlschema.XMLSchema10 | None = None
        self._lock = threading.Lock()

    def _report_schema(self) -> xmlschema.XMLSchema10:
        with self._lock:
            if self._detailed is None:
                self._detailed = xmlschema.XMLSchema10(str(self.path))
            return self._detailed

    def errors(self, element: etree._Element, source: bytes | None = None) -> list[ValidationIssue]:
        """Every violation in ``element``'s subtree; empty when valid.

        ``source`` (the raw request) lets the report give the column of the offending tag.
        """
        if self._fast.validate(element):
            return []
        log = self._fast.error_log
        issues: list[ValidationIssue] = []
        if len(log) <= DETAILED_REPORT_UP_TO:
            # xmlschema's messages are the clearer ones, but each error costs it a repr() of the
            # element with all its attributes: thousands of bogus attributes would cost minutes.
            try:
                for error in self._report_schema().iter_errors(element):
                    node = error.elem if isinstance(getattr(error, "elem", None), etree._Element) else element
                    issues.append(ValidationIssue(
                        code="XSD_VIOLATION",
                        description=error.reason or str(error.message),
                        xpath=readable_xpath(node),
                        line=node.sourceline,
                        column=column_of(source, node)))
                    if len(issues) == MAX_ISSUES:
                        break
            except Exception:  # the report tool failed: fall back to libxml2's own messages
                issues = []
        if not issues:
            for entry in log:
                issues.append(ValidationIssue("XSD_VIOLATION", entry.message, entry.path or None,
                                              entry.line or None, entry.column or None))
                if len(issues) == MAX_ISSUES:
                    break
        if len(issues) == MAX_ISSUES and len(log) > MAX_ISSUES:  # bounded work, bounded fault
            issues[-1] = ValidationIssue("TOO_MANY_ERRORS", f"{len(log)} violations; the report "
                                         f"stops after {MAX_ISSUES - 1}", None, None, None)
        return issues


class SchemaSet:
    """All XSDs of ``xsd/``, loaded once per process (loading is the slow part)."""

    def __init__(self, directory: Path = XSD_DIR):
        self.directory = directory
        self._schemas: dict[str, Schema] = {}
        self._lock = threading.Lock()

    def get(self, filename: str) -> Schema:
        schema = self._schemas.get(filename)
        if schema is None:
            with self._lock:
                schema = self._schemas.get(filename)
                if schema is None:
                    schema = self._schemas[filename] = Schema(self.directory / filename)
        return schema


def raise_if_invalid(issues: Iterable[ValidationIssue], what: str) -> None:
    issues = list(issues)
    if issues:
        first = issues[0]
        where = f" at {first.xpath}" if first.xpath else ""
        raise InvalidContent(f"{what} is not valid: {first.description}{where}"
                             + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""),
                             code="XSD_VIOLATION" if first.code == "XSD_VIOLATION" else first.code,
                             issues=issues)
