"""``GET /docs/schemas/``: the HTML reference of the business schemas, generated from the XSDs
the gateway serves — every element and named type, restrictions, both languages, and the
corpus' valid samples as examples; linked from ``GET /``."""
from __future__ import annotations

import html
from pathlib import Path

import pytest
import requests
from lxml import etree

from gateway.qa.reference import business_schemas

XSD = Path(__file__).resolve().parents[2] / "xsd"
XS = "http://www.w3.org/2001/XMLSchema"


@pytest.fixture(scope="module")
def base(gateway_url):
    return gateway_url[:-len("/ws")]


def get(url: str) -> str:
    reply = requests.get(url, timeout=60)
    assert reply.status_code == 200, (url, reply.status_code)
    assert reply.headers["Content-Type"].startswith("text/html")
    return html.unescape(reply.text)


def test_the_index_lists_every_business_schema_and_only_those(base):
    page = get(f"{base}/docs/schemas/")
    assert set(business_schemas()) == {"emchd-1.xsd", "licensing-1.0.xsd", "organisation-details-1.0.xsd",
                                       "organisation-registration-1.0.xsd", "power-of-attorney-1.0.xsd",
                                       "report-balance-1.0.xsd", "reporting-1.0.xsd"}
    for name in business_schemas():
        assert f'href="{name[:-4]}.html"' in page
    assert "smev-message-exchange-types" not in page and "xmldsig" not in page
    assert 'href="/docs/schemas/"' in requests.get(f"{base}/", timeout=10).text  # linked from GET /


@pytest.mark.parametrize("name", sorted(p.name for p in XSD.glob("*.xsd")
                                        if p.name in set(business_schemas())))
def test_every_element_and_named_type_appears_with_both_languages(base, name):
    page = get(f"{base}/docs/schemas/{name[:-4]}.html")
    tree = etree.parse(str(XSD / name))
    for declaration in tree.iter(f"{{{XS}}}element", f"{{{XS}}}complexType", f"{{{XS}}}simpleType"):
        if declaration.get("name"):
            assert declaration.get("name") in page, declaration.get("name")
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    for doc in tree.iter(f"{{{XS}}}documentation"):  # the Russian and the English, as written
        if doc.getparent().getparent().tag in (f"{{{XS}}}element", f"{{{XS}}}complexType"):
            assert " ".join("".join(doc.itertext()).split()) in page, (name, doc.get(lang))


def test_restrictions_and_examples(base):
    page = get(f"{base}/docs/schemas/licensing-1.0.html")
    assert "<code>ALCOHOL_RETAIL</code>" in page and "<code>PHARMACY</code>" in page  # an enumeration
    assert "[0-9]{10}" in page  # a pattern (the ИНН)
    sample = (Path(__file__).resolve().parents[2] / "conformance/licensing/lic-valid-withdrawal.xml").read_text("utf-8")
    assert "lic-valid-withdrawal" in page and sample.strip() in page  # a corpus sample, verbatim
    registration = get(f"{base}/docs/schemas/organisation-registration-1.0.html")
    assert "max length 1000" in registration and "Полное наименование." in registration


def test_an_unknown_or_non_business_schema_is_404(base):
    for path in ("smev-message-exchange-types-1.1.html", "nothing.html", "..%2Fsetup.cfg", "x.xsd"):
        assert requests.get(f"{base}/docs/schemas/{path}", timeout=10).status_code == 404, path
