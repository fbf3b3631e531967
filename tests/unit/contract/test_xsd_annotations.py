"""Every element declaration and named type of the gateway's own schemas (business payloads,
the SMEV envelope as the gateway publishes it, the receipt extension) says what it is in Russian
and in English (xs:annotation/xs:documentation xml:lang="ru" / "en"). The W3C XMLDSig schema is
third-party and left as published."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

XSD = Path(__file__).resolve().parents[3] / "xsd"
XS = "http://www.w3.org/2001/XMLSchema"
LANG = "{http://www.w3.org/XML/1998/namespace}lang"
THIRD_PARTY = {"xmldsig-core-schema.xsd"}
OWN = sorted(p.name for p in XSD.glob("*.xsd") if p.name not in THIRD_PARTY)
CYRILLIC = re.compile("[А-Яа-яЁё]")


def declarations(tree):
    for e in tree.iter(f"{{{XS}}}element", f"{{{XS}}}complexType", f"{{{XS}}}simpleType"):
        if e.get("name"):
            yield e


def test_the_scope_is_every_schema_but_the_w3c_one():
    assert {"organisation-registration-1.0.xsd", "reporting-1.0.xsd", "licensing-1.0.xsd",
            "power-of-attorney-1.0.xsd", "organisation-details-1.0.xsd", "emchd-1.xsd",
            "report-balance-1.0.xsd", "smev-message-exchange-types-1.1.xsd",
            "smev-message-exchange-basic-1.1.xsd", "smev-message-exchange-faults-1.1.xsd",
            "gateway-receipt-1.0.xsd"} <= set(OWN)


@pytest.mark.parametrize("name", OWN)
def test_every_declaration_is_documented_in_russian_and_english(name):
    tree = etree.parse(str(XSD / name))
    undocumented = []
    found = 0
    for e in declarations(tree):
        found += 1
        annotation = e.find(f"{{{XS}}}annotation")
        docs = {} if annotation is None or e.index(annotation) != 0 else {
            d.get(LANG): (d.text or "").strip() for d in annotation.findall(f"{{{XS}}}documentation")}
        if not docs.get("en") or not CYRILLIC.search(docs.get("ru", "")):
            undocumented.append(f"{etree.QName(e).localname} {e.get('name')} (line {e.sourceline})")
    assert found > 0
    assert undocumented == []
