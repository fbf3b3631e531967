"""The HTML reference of the business schemas (``GET /docs/schemas/``): every element, named
type and attribute with its restrictions (base, enumeration, pattern, lengths, bounds) and its
documentation in Russian and English, read from the XSDs themselves with xmlschema, and the
conformance corpus' valid samples as examples. Built at the first request for a schema and kept
per file digest, so it can never disagree with what ``/ws/xsd/`` serves and needs no build step.
"""
from __future__ import annotations

import hashlib
import html
import json
import threading
from pathlib import Path

import xmlschema
from lxml import etree

from gateway.config import CONTRACT_DIRS
from gateway.qa.corpus import MANIFEST, SHIPPED

XSD_DIR = Path(CONTRACT_DIRS["xsd"])
#: the envelope and the gateway's receipt extension (protocol, not business) and the W3C schema
NOT_BUSINESS = ("smev-message-exchange-", "gateway-receipt-", "xmldsig-")
LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XS = "{http://www.w3.org/2001/XMLSchema}"
_FACETS = {"minLength": "min length", "maxLength": "max length", "length": "length",
           "minInclusive": "≥", "maxInclusive": "≤", "minExclusive": ">", "maxExclusive": "<",
           "totalDigits": "total digits", "fractionDigits": "fraction digits"}
_lock = threading.Lock()
_pages: dict[tuple[str, str], bytes] = {}


def business_schemas() -> list[str]:
    return sorted(p.name for p in XSD_DIR.glob("*.xsd") if not p.name.startswith(NOT_BUSINESS))


def page(name: str) -> bytes | None:
    """The reference page of one business schema (``name`` as in xsd/), or None."""
    if name not in business_schemas():
        return None
    data = (XSD_DIR / name).read_bytes()
    key = (name, hashlib.sha256(data).hexdigest())
    with _lock:
        if key not in _pages:
            _pages[key] = _Render(name, data).html().encode("utf-8")
        return _pages[key]


def index() -> bytes:
    rows = []
    for name in business_schemas():
        root = etree.fromstring((XSD_DIR / name).read_bytes(),
                                etree.XMLParser(resolve_entities=False, no_network=True))
        ru, en = _docs_of(root.find(f"{XS}annotation"))
        roots = [e.get("name") for e in root.findall(f"{XS}element")]
        rows.append(f'<tr><td><a href="{_e(name[:-4])}.html">{_e(name)}</a></td>'
                    f'<td><code>{_e(root.get("targetNamespace") or "")}</code></td>'
                    f'<td>{_e(root.get("version") or "")}</td><td>{_e(", ".join(roots))}</td></tr>')
    body = ("<h1>Business schemas · Бизнес-схемы</h1><p>Generated from <a href=\"/ws/xsd/\">the XSDs "
            "the gateway serves</a>; every element and type with its restrictions and its "
            "documentation in Russian and English, and the conformance corpus' valid samples as "
            "examples.</p><table><tr><th>schema</th><th>namespace</th><th>version</th>"
            f"<th>root elements</th></tr>{''.join(rows)}</table>")
    return _document("Business schemas", body).encode("utf-8")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _docs_of(annotation) -> tuple[str, str]:
    """(Russian, English) documentation of an xs:annotation (lxml element or xmlschema's)."""
    if annotation is None:
        return "", ""
    docs = annotation.documentation if hasattr(annotation, "documentation") else \
        annotation.findall(f"{XS}documentation")
    found = {d.get(LANG) or "en": " ".join("".join(d.itertext()).split()) for d in docs}
    return found.get("ru", ""), found.get("en", "")


def _document(title: str, body: str) -> str:
    style = ("body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse;"
             "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;"
             "text-align:left}th{background:#f4f4f4}code{font-size:90%}pre{background:#f8f8f8;"
             "padding:.5em;overflow:auto}.ru{color:#333}.en{color:#555}")
    return (f'<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{style}</style></head><body>{body}</body></html>")


class _Render:
    def __init__(self, name: str, data: bytes):
        self.name = name
        self.schema = xmlschema.XMLSchema(str(XSD_DIR / name))
        self.sha256 = hashlib.sha256(data).hexdigest()

    def html(self) -> str:
        s = self.schema
        parts = [f'<p><a href="./">all business schemas</a> · <a href="/ws/xsd/{_e(self.name)}">'
                 f"{_e(self.name)}</a> (SHA-256 <code>{self.sha256}</code>)</p>",
                 f"<h1>{_e(self.name)}</h1><p>namespace <code>{_e(s.target_namespace)}</code>, "
                 f"version {_e(s.version or '')}</p>", "<h2>Elements · Элементы</h2>"]
        for element in s.elements.values():
            parts.append(f'<h3 id="el-{_e(element.local_name)}">{_e(element.local_name)}</h3>')
            parts.append(self._docs(element))
            parts.append(self._table([element]))
        named = [t for t in s.types.values() if t.schema is s]
        if named:
            parts.append("<h2>Types · Типы</h2>")
        for type_ in named:
            parts.append(f'<h3 id="type-{_e(type_.local_name)}">{_e(type_.local_name)}</h3>')
            parts.append(self._docs(type_))
            if type_.is_simple():
                parts.append(f"<p>{self._restrictions(type_)}</p>")
            else:
                parts.append(self._table(list(self._children(type_)), type_))
        parts.append(self._examples())
        return _document(f"{self.name}: reference", "".join(parts))

    @staticmethod
    def _docs(component) -> str:
        ru, en = _docs_of(component.annotation)
        return (f'<p class="ru" lang="ru">{_e(ru)}</p>' if ru else "") + \
               (f'<p class="en" lang="en">{_e(en)}</p>' if en else "")

    def _type_name(self, type_) -> str:
        if type_.name is None:
            return "(anonymous)"
        if type_.target_namespace == self.schema.target_namespace and type_.local_name in self.schema.types:
            return f'<a href="#type-{_e(type_.local_name)}">{_e(type_.local_name)}</a>'
        return f"<code>{_e(type_.prefixed_name or type_.local_name)}</code>"

    def _restrictions(self, type_) -> str:
        """Base, enumeration, patterns and bounds of a simple type (or of a simple content)."""
        if not type_.is_simple():
            type_ = getattr(type_, "content", None) if type_.has_simple_content() else None
            if type_ is None or not hasattr(type_, "facets"):
                return ""
        out = []
        base = getattr(type_, "base_type", None)
        if base is not None:
            out.append(f"base {self._type_name(base)}")
        if getattr(type_, "enumeration", None):
            out.append("enumeration: " + ", ".join(f"<code>{_e(v)}</code>" for v in type_.enumeration))
        patterns = getattr(type_, "patterns", None)
        if patterns:
            out.append("pattern: " + ", ".join(f"<code>{_e(p)}</code>" for p in patterns.regexps))
        for facet, label in _FACETS.items():
            value = type_.facets.get(f"{{http://www.w3.org/2001/XMLSchema}}{facet}") if \
                hasattr(type_, "facets") else None
            if value is not None and getattr(value, "value", None) is not None:
                out.append(f"{label} {_e(value.value)}")
        return "; ".join(out)

    @staticmethod
    def _children(type_):
        content = getattr(type_, "content", None)
        if content is None or type_.is_simple() or type_.has_simple_content():
            return []
        return list(content.iter_elements())

    def _table(self, elements, owner=None) -> str:
        rows: list[str] = []
        if owner is not None:
            self._attributes(owner, 0, rows)
        for element in elements:
            self._rows(element, 0, rows, set())
        return ("<table><tr><th>element / @attribute</th><th>type</th><th>occurs</th>"
                "<th>restrictions</th><th>Русский</th><th>English</th></tr>" + "".join(rows) + "</table>")

    def _rows(self, element, depth: int, rows: list[str], seen: set) -> None:
        type_ = getattr(element, "type", None)
        if type_ is None:  # a wildcard (xs:any): what it admits
            ru, en = _docs_of(element.annotation)
            namespaces = " ".join(element.namespace) if isinstance(element.namespace, (list, tuple)) \
                else str(element.namespace)
            rows.append(f"<tr><td>{'&#160;&#160;' * depth}(any element)</td><td>–</td>"
                        f"<td>{element.min_occurs}..{'∞' if element.max_occurs is None else element.max_occurs}</td>"
                        f"<td>namespace {_e(namespaces or '##any')}, {_e(element.process_contents)}</td>"
                        f"<td lang=\"ru\">{_e(ru)}</td><td lang=\"en\">{_e(en)}</td></tr>")
            return
        occurs = f"{element.min_occurs}..{'∞' if element.max_occurs is None else element.max_occurs}"
        ru, en = _docs_of(element.annotation)
        if not (ru or en) and type_.name is None:
            ru, en = _docs_of(type_.annotation)
        name = ("&#160;&#160;" * depth) + _e(element.local_name)
        rows.append(f"<tr><td>{name}</td><td>{self._type_name(type_)}</td><td>{occurs}</td>"
                    f"<td>{self._restrictions(type_)}</td><td lang=\"ru\">{_e(ru)}</td>"
                    f"<td lang=\"en\">{_e(en)}</td></tr>")
        if type_.name is not None or id(type_) in seen:  # a named type has its own section
            return
        seen = seen | {id(type_)}
        if not type_.is_simple():
            self._attributes(type_, depth + 1, rows)
        for child in self._children(type_):
            self._rows(child, depth + 1, rows, seen)

    def _attributes(self, type_, depth: int, rows: list[str]) -> None:
        for attribute in getattr(type_, "attributes", {}).values():
            if not hasattr(attribute, "local_name") or attribute.local_name is None:
                continue
            ru, en = _docs_of(attribute.annotation)
            required = "1" if attribute.use == "required" else "0..1"
            rows.append(f"<tr><td>{'&#160;&#160;' * depth}@{_e(attribute.local_name)}</td>"
                        f"<td>{self._type_name(attribute.type)}</td><td>{required}</td>"
                        f"<td>{self._restrictions(attribute.type)}</td><td lang=\"ru\">{_e(ru)}</td>"
                        f"<td lang=\"en\">{_e(en)}</td></tr>")

    def _examples(self) -> str:
        samples = examples(self.schema.target_namespace)
        if not samples:
            return "<h2>Examples · Примеры</h2><p>No valid sample of this schema in the corpus.</p>"
        items = "".join(f"<h3>{_e(case_id)}</h3><p>{_e(description)}</p><pre>{_e(text)}</pre>"
                        for case_id, description, text in samples)
        return f"<h2>Examples · Примеры</h2><p>The conformance corpus' valid samples.</p>{items}"


def examples(namespace: str | None, corpus: Path = SHIPPED) -> list[tuple[str, str, str]]:
    """(case id, description, document) of every valid payload of the corpus whose root
    element is in ``namespace``."""
    found = []
    for manifest in sorted(corpus.rglob(MANIFEST)):
        for case in json.loads(manifest.read_text("utf-8")).get("cases", []):
            if case.get("kind", "payload") != "payload" or case.get("expect") != {"valid": True}:
                continue
            data = (manifest.parent / case["file"]).read_bytes()
            root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
            if (etree.QName(root).namespace or None) == (namespace or None):
                found.append((case["id"], case.get("description", ""), data.decode("utf-8")))
    return found
