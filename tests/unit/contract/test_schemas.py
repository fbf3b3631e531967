"""Every contract file is plain XSD 1.0 / WSDL 1.1 that both validators accept, carries no DTD,
and points at its imports with relative locations that resolve on disk and over HTTP."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest
import xmlschema
from lxml import etree

from envelopes import ns

ROOT = Path(__file__).resolve().parents[3]
XSD_DIR = ROOT / "xsd"
WSDL_FILE = ROOT / "wsdl" / "smev-message-exchange-service-1.1.wsdl"
XS = "http://www.w3.org/2001/XMLSchema"

TARGETS = {
    "smev-message-exchange-basic-1.1.xsd": ns.SMEV_BASIC,
    "smev-message-exchange-types-1.1.xsd": ns.SMEV_TYPES,
    "smev-message-exchange-faults-1.1.xsd": ns.SMEV_FAULTS,
    "xmldsig-core-schema.xsd": ns.DS,
}
CONTRACT_FILES = [XSD_DIR / name for name in TARGETS] + [WSDL_FILE]


def _parse(path: Path) -> etree._ElementTree:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(path), parser)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_compiles_with_libxml2(name, lxml_schemas):
    schema = lxml_schemas[name]
    assert isinstance(schema, etree.XMLSchema)
    assert _parse(XSD_DIR / name).getroot().get("targetNamespace") == TARGETS[name]


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_compiles_with_xmlschema_as_xsd_1_0(name, xmlschema_schemas):
    schema = xmlschema_schemas[name]
    assert isinstance(schema, xmlschema.XMLSchema10)
    assert schema.target_namespace == TARGETS[name]
    assert schema.validity == "valid"


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: p.name)
def test_has_no_dtd_and_no_entities(path):
    raw = path.read_bytes()
    assert _parse(path).docinfo.doctype == ""
    assert b"<!DOCTYPE" not in raw and b"<!ENTITY" not in raw


def _locations(path: Path) -> list[str]:
    return _parse(path).xpath("//xs:import/@schemaLocation | //xs:include/@schemaLocation",
                              namespaces={"xs": XS})


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_schema_imports_are_siblings(name):
    """XSD-to-XSD imports name a file in the same folder: they resolve on disk and under
    /ws/xsd/ alike."""
    for location in _locations(XSD_DIR / name):
        assert "/" not in location and ":" not in location, location
        assert (XSD_DIR / location).is_file(), location


@pytest.mark.parametrize("base", ["http://gw.example:8080/ws?wsdl", "https://proxy.example/smev/ws?wsdl"])
def test_wsdl_imports_resolve_to_the_gateway_xsd_route(base):
    """Fetched from <prefix>/ws?wsdl, each WSDL import lands on <prefix>/ws/xsd/<file>, the route
    where the gateway serves xsd/ (docs/contract.md); no dot-segments, which gSOAP mis-resolves."""
    locations = _locations(WSDL_FILE)
    assert len(locations) == 2
    for location in locations:
        name = Path(location).name
        assert ".." not in location and not location.startswith("/") and "://" not in location
        assert urljoin(base, location) == base.replace("/ws?wsdl", f"/ws/xsd/{name}")
        assert (XSD_DIR / name).is_file()


def test_types_schema_declares_every_operation_element(xmlschema_schemas):
    schema = xmlschema_schemas["smev-message-exchange-types-1.1.xsd"]
    operations = ("SendRequest", "SendResponse", "GetRequest", "GetResponse", "Ack", "GetStatus",
                  "GetIncomingQueueStatistics")
    for operation in operations:
        for suffix in ("Request", "Response"):
            assert schema.elements[operation + suffix].target_namespace == ns.SMEV_TYPES


def test_xmldsig_schema_accepts_a_real_signature(lxml_schemas, xmlschema_schemas):
    """A signature made by an independent library (signxml) fits our hand-written ds schema."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from signxml import XMLSigner, methods

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contract test")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    data = etree.Element("{urn://example/payload}Data", Id="DATA")
    data.text = "signed"
    signed = XMLSigner(method=methods.enveloped, signature_algorithm="ecdsa-sha256",
                       digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
        data, key=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()),
        cert=cert.public_bytes(serialization.Encoding.PEM))
    signature = signed.find(ns.q(ns.DS, "Signature"))
    assert signature is not None
    document = etree.ElementTree(etree.fromstring(etree.tostring(signature)))
    assert lxml_schemas["xmldsig-core-schema.xsd"].validate(document), \
        lxml_schemas["xmldsig-core-schema.xsd"].error_log
    assert xmlschema_schemas["xmldsig-core-schema.xsd"].is_valid(document)

    del document.getroot()[0][0]  # SignedInfo without CanonicalizationMethod
    assert not lxml_schemas["xmldsig-core-schema.xsd"].validate(document)
