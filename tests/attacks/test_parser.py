"""Parser attacks over HTTP: DTDs and entities (XXE, billion laughs, quadratic blowup), XInclude,
resource limits (depth, element count, names, attributes, namespace declarations), encodings,
NUL bytes and invalid UTF-8. A canary listener proves that nothing named in the document is ever
fetched; every refusal is a client SOAP fault and stores nothing."""
from __future__ import annotations

import time

import pytest
from lxml import etree

from attacks.kit import (F, T, accepted_once, check_refused, post, refused, signed_bytes, signed_tree,
                         stored)
from envelopes import ns
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration

SOAP = ns.SOAP11_ENV
XI = "http://www.w3.org/2001/XInclude"


def envelope(inner: str, prolog: str = "") -> str:
    return (f'{prolog}<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>{inner}</soap:Body>'
            f'</soap:Envelope>')


def _dtd(prolog: str, inner: str = "<a>&x;</a>", encoding: str = "utf-8") -> bytes:
    return envelope(inner, prolog).encode(encoding)


# ---------------------------------------------------------------- DTDs and entities

def dtd_cases(canary_url: str) -> dict[str, bytes]:
    laughs = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    return {
        "xxe-file": _dtd('<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'),
        "xxe-http": _dtd(f'<!DOCTYPE e [<!ENTITY x SYSTEM "{canary_url}">]>'),
        "xxe-parameter-entity": _dtd(f'<!DOCTYPE e [<!ENTITY % p SYSTEM "{canary_url}"> %p;]>',
                                     "<a/>"),
        "external-dtd": _dtd(f'<!DOCTYPE soap:Envelope SYSTEM "{canary_url}">', "<a/>"),
        "billion-laughs": _dtd(f'<!DOCTYPE e [<!ENTITY l0 "lol">{laughs}]>', "<a>&l9;</a>"),
        "quadratic-blowup": _dtd('<!DOCTYPE e [<!ENTITY x "' + "A" * 50_000 + '">]>',
                                 "<a>" + "&x;" * 5_000 + "</a>"),
        "dtd-without-entities": _dtd("<!DOCTYPE soap:Envelope>", "<a/>"),
        # UTF-16 hides "<!DOCTYPE" from a byte scan; the parsed document's doctype is checked too
        "xxe-utf16": _dtd(f'<!DOCTYPE e [<!ENTITY x SYSTEM "{canary_url}">]>', encoding="utf-16"),
        "xxe-file-utf16": _dtd('<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                               encoding="utf-16"),
        "dtd-utf16-be": _dtd("<!DOCTYPE soap:Envelope>", "<a/>", encoding="utf-16"),
        "dtd-utf32": _dtd("<!DOCTYPE soap:Envelope>", "<a/>", encoding="utf-32"),
        # UTF-7 (libxml2 decodes it through iconv): "<" is "+ADw-", invisible to a byte scan
        "xxe-utf7": (b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE e +AFs-+ADw-!ENTITY x '
                     b'SYSTEM +ACI-' + canary_url.encode() + b'+ACI-+AD4-+AF0-+AD4-'
                     + envelope("<a>&x;</a>").encode()),
    }


DTD_NAMES = list(dtd_cases("http://x").keys())


@pytest.mark.parametrize("name", DTD_NAMES)
def test_dtds_and_entities_are_refused_and_never_resolved(gateway_url, engine, canary, name):
    body = dtd_cases(canary.url)[name]
    fault = refused(gateway_url, engine, body, "InvalidContent", "DTD_FORBIDDEN", status=400)
    assert "root:" not in (fault.description or "") and "lol" not in (fault.description or "")
    assert canary.hits == 0


def test_entity_in_a_signed_envelope_is_refused(gateway_url, engine, demo_client, canary):
    """The realistic XXE: a valid signed request with an internal DTD whose entity would put a
    file into a field. Refused before parsing it at all."""
    body = signed_bytes(demo_client).replace(
        b"<soap:Envelope", b'<!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                           b"<soap:Envelope", 1).replace(b"office@romashka.example", b"&x;")
    refused(gateway_url, engine, body, "InvalidContent", "DTD_FORBIDDEN", status=400)


@pytest.mark.parametrize("href", ["file:///etc/passwd", "CANARY"])
def test_xinclude_as_the_business_root_is_not_processed(gateway_url, engine, demo_client, canary,
                                                        href):
    """An xi:include as the signed business element: the gateway sees the element itself (and
    says it serves no such type), it never includes what the href names."""
    include = etree.Element(f"{{{XI}}}include", nsmap={"xi": XI})
    include.set("href", canary.url if href == "CANARY" else href)
    include.set("parse", "text")
    before = stored(engine)
    answer = post(gateway_url, signed_bytes(demo_client, payload=include))
    fault = check_refused(answer, engine, before, "BusinessDataTypeIsNotSupported")
    assert "root:" not in (fault.description or "")
    detail = answer.root.find(f".//{{{F}}}BusinessDataTypeIsNotSupported")
    assert detail.findtext(f"{{{F}}}RootElementLocalName") == "include"
    assert detail.findtext(f"{{{F}}}RootElementNamespaceURI") == XI
    assert canary.hits == 0


def test_xinclude_inside_the_signed_payload_is_not_processed(gateway_url, engine, demo_client,
                                                             canary):
    """xi:include signed into the registration payload (in place of the e-mail text): the payload
    XSD sees an unexpected element; nothing is fetched or included."""
    payload = build_organisation_registration(ROMASHKA)
    email = payload.find(f"{{{ns.REGISTRATION}}}Email")
    email.text = None
    etree.SubElement(email, f"{{{XI}}}include", href=canary.url, parse="text")
    fault = refused(gateway_url, engine, signed_bytes(demo_client, payload=payload),
                    "InvalidContent", "XSD_VIOLATION")
    assert any("Email" in (e.get("xpath") or "") for e in fault.validation_errors), fault
    assert canary.hits == 0


# ---------------------------------------------------------------- resource limits

def in_signed_header(demo_client, inner: str) -> bytes:
    """A genuine signed request (ROMASHKA's registered certificate passes the cheap screen)
    with ``inner`` in its unsigned SOAP Header: what only the parser's limits can stop."""
    return signed_bytes(demo_client).replace(b"<soap:Header/>",
                                             b"<soap:Header>" + inner.encode() + b"</soap:Header>", 1)


@pytest.mark.parametrize("depth,code", [(65, "TOO_DEEP"), (300, "MALFORMED_XML"),
                                        (100_000, "TOO_MANY_ELEMENTS")])
def test_deep_nesting_is_refused(gateway_url, engine, demo_client, depth, code):
    """Beyond max_depth (64): TOO_DEEP; beyond libxml2's own 256 (huge_tree off): not parsed;
    more start tags than max_elements could hold: refused from a byte count, before parsing.
    (Unsigned, the large ones never reach the parser: NO_SIGNATURE from the byte screen.)"""
    refused(gateway_url, engine, in_signed_header(demo_client, "<a>" * depth + "</a>" * depth),
            "InvalidContent", code, status=400)
    if depth == 100_000:
        refused(gateway_url, engine, envelope("<a>" * depth + "</a>" * depth).encode(),
                "SignatureVerificationFault", "NO_SIGNATURE")


def test_element_count_bomb_is_refused(gateway_url, engine, demo_client):
    refused(gateway_url, engine, in_signed_header(demo_client, "<a>" + "<b/>" * 60_000 + "</a>"),
            "InvalidContent", "TOO_MANY_ELEMENTS", status=400)


@pytest.mark.parametrize("length", [60_000, 1_000_000])
def test_very_long_tag_name_is_refused(gateway_url, engine, demo_client, length):
    fault = refused(gateway_url, engine, in_signed_header(demo_client, "<" + "a" * length + "/>"),
                    "InvalidContent", "MALFORMED_XML", status=400)
    assert "a" * 1000 not in (fault.description or "")  # the name is not echoed back


def test_text_node_over_libxml2_limit_is_refused(gateway_url, engine, demo_client):
    """One text node just over 10,000,000 bytes: over the 5 MiB body cap it never reaches the
    parser (413); given to the parser directly, libxml2 refuses it (huge_tree is off), so no
    stage ever holds a giant string even if the cap were raised."""
    from gateway.faults import MalformedRequest
    from gateway.pipeline.parse import parse_envelope

    body = in_signed_header(demo_client, "<a>" + "A" * 10_000_001 + "</a>")
    refused(gateway_url, engine, body, "InvalidContent", "REQUEST_TOO_LARGE", status=413)
    with pytest.raises(MalformedRequest) as refusal:
        parse_envelope(body)
    assert refusal.value.code == "MALFORMED_XML"


def test_five_megabyte_attribute_is_refused_without_echo(gateway_url, engine, demo_client):
    """A 5 MB attribute value (no entities) on the operation element: parsed under the limits,
    refused by the envelope XSD, and the fault does not echo the value back."""
    body = signed_bytes(demo_client).replace(
        b"<ns:SendRequestRequest ", b'<ns:SendRequestRequest v="' + b"A" * 5_000_000 + b'" ', 1)
    before = stored(engine)
    answer = post(gateway_url, body)
    assert len(answer.body) < 16 * 1024
    check_refused(answer, engine, before, "InvalidContent", "XSD_VIOLATION")


def test_five_megabyte_attribute_in_signed_content_is_a_hash_failure(gateway_url, engine,
                                                                     demo_client):
    body = signed_bytes(demo_client).replace(
        b"<OrganisationRegistrationRequest ",
        b'<OrganisationRegistrationRequest v="' + b"A" * 5_000_000 + b'" ', 1)
    refused(gateway_url, engine, body, "SignatureVerificationFault", "HASH_FAILURE")


def test_many_attributes_outside_the_signed_content_cost_nothing(gateway_url, engine, demo_client):
    """10,000 attributes on a Header element (not validated, not signed): the request is judged
    on its signed content alone (here: changed content, HASH_FAILURE)."""
    attrs = b" ".join(b'a%d=""' % i for i in range(10_000))
    body = (signed_bytes(demo_client).replace(b"<soap:Header/>", b"<soap:Header><h " + attrs + b"/></soap:Header>")
            .replace(b"office@romashka.example", b"evil@example.org"))
    refused(gateway_url, engine, body, "SignatureVerificationFault", "HASH_FAILURE")


def test_many_schema_errors_are_capped(gateway_url, engine, demo_client):
    """3,000 bogus attributes (40 KB) on SendRequestRequest. Uncapped, the report listed one
    error each (xmlschema repr()s every attribute per error: over 30 s of CPU, a huge fault); it
    stops after 100 issues, the last saying there are more."""
    attrs = b" ".join(b'a%d=""' % i for i in range(3000))
    body = signed_bytes(demo_client).replace(b"<ns:SendRequestRequest ",
                                             b"<ns:SendRequestRequest " + attrs + b" ", 1)
    started = time.monotonic()
    fault = refused(gateway_url, engine, body, "InvalidContent", "XSD_VIOLATION")
    assert len(fault.validation_errors) == 100, len(fault.validation_errors)
    assert time.monotonic() - started < 10  # uncapped: over 30 s


def test_namespace_declaration_bomb_is_refused_when_parsed(gateway_url, engine, demo_client):
    """20,000 namespace declarations on the Envelope of a signed request: refused at the parse
    stage, not fed to canonicalization (exc-c14n costs O(n²) there: seconds of CPU)."""
    decls = b" ".join(b'xmlns:p%d="urn:%d"' % (i, i) for i in range(20_000))
    body = (signed_bytes(demo_client).replace(b"<soap:Envelope ", b"<soap:Envelope " + decls + b" ", 1)
            .replace(b"office@romashka.example", b"evil@example.org"))
    refused(gateway_url, engine, body, "InvalidContent", "TOO_MANY_NAMESPACES", status=400)


# ---------------------------------------------------------------- encodings and bytes

@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le-declared", "utf-32"])
def test_other_unicode_encodings_of_a_signed_request_are_accepted(gateway_url, engine, demo_client,
                                                                  encoding):
    """Decided: XML 1.0 §4.3.3 requires UTF-8 and UTF-16 (BOM or declaration) and allows others,
    RFC 7303 lets the BOM win over the charset parameter, and the signature covers the infoset,
    not the octets. So these are the same signed request: accepted, stored byte for byte, and
    read correctly. (UTF-32 is accepted because libxml2 supports it.)"""
    root = signed_tree(demo_client)
    message_id = root.findtext(f".//{{{T}}}MessageID")
    text = etree.tostring(root, encoding="unicode")
    if encoding == "utf-16-le-declared":
        body = ('<?xml version="1.0" encoding="UTF-16"?>' + text).encode("utf-16-le")
    else:
        body = text.encode(encoding)
    accepted_once(gateway_url, engine, body, message_id)


def test_lying_encoding_declaration_changes_the_signed_text(gateway_url, engine, demo_client):
    """UTF-8 octets declared as ISO-8859-1: the Cyrillic names decode to other characters, so the
    signed content differs from what was signed."""
    body = signed_bytes(demo_client).replace(b"encoding='UTF-8'", b"encoding='ISO-8859-1'", 1)
    assert b"ISO-8859-1" in body
    refused(gateway_url, engine, body, "SignatureVerificationFault", "HASH_FAILURE")


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0" encoding="bogus-42"?>' + envelope("<a/>").encode(),
    envelope("<a>\x00</a>").encode(),
    envelope("<a>x</a>").encode().replace(b"x", b"\xc3\x28"),
    envelope("<a>x</a>").encode().replace(b"x", b"\xed\xa0\x80"),      # UTF-8 encoded surrogate
    envelope("<a>x</a>").encode().replace(b"x", b"\xf4\x90\x80\x80"),  # above U+10FFFF
    b"\xfe\xff" + envelope("<a/>").encode(),                            # UTF-16 BOM on UTF-8 octets
    envelope("<a>&#0;</a>").encode(),
    envelope("<a>&#xD800;</a>").encode(),
], ids=["bogus-encoding", "nul", "invalid-utf8", "surrogate", "above-10ffff",
        "wrong-bom", "nul-char-ref", "surrogate-char-ref"])
def test_undecodable_or_illegal_characters_are_malformed(gateway_url, engine, body):
    refused(gateway_url, engine, body, "InvalidContent", "MALFORMED_XML", status=400)


def test_nul_inside_a_signed_value_is_refused(gateway_url, engine, demo_client):
    body = signed_bytes(demo_client).replace(b"office@romashka.example", b"office\x00@romashka.example")
    refused(gateway_url, engine, body, "InvalidContent", "MALFORMED_XML", status=400)
