"""The parse stage: hardened against DTDs, entities, depth and size; shape-checks SOAP."""
import pytest

from gateway.faults import MalformedRequest, VersionMismatch
from gateway.pipeline.parse import parse_envelope

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"


def env(body: str, ns: str = S11) -> bytes:
    return f'<s:Envelope xmlns:s="{ns}"><s:Body>{body}</s:Body></s:Envelope>'.encode()


def test_soap11_and_12_are_recognised():
    assert parse_envelope(env("<a/>")).soap_version == "1.1"
    parsed = parse_envelope(env("<a/>", S12))
    assert parsed.soap_version == "1.2" and parsed.body_child.tag == "a"


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    b'<!DOCTYPE s:Envelope SYSTEM "http://127.0.0.1:1/evil.dtd"><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>',
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
])
def test_dtds_and_entities_are_rejected(doc):
    with pytest.raises(MalformedRequest) as err:
        parse_envelope(doc)
    assert err.value.code == "DTD_FORBIDDEN"


def test_external_entity_in_utf16_is_rejected_too():
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    with pytest.raises(MalformedRequest) as err:
        parse_envelope(doc.encode("utf-16"))
    assert err.value.code in ("DTD_FORBIDDEN", "MALFORMED_XML")


def test_malformed_xml_reports_line_and_column():
    with pytest.raises(MalformedRequest) as err:
        parse_envelope(b"<s:Envelope xmlns:s='x'>\n<oops></s:Envelope>")
    assert err.value.code == "MALFORMED_XML"
    assert err.value.issues[0].line == 2


def test_depth_and_element_limits():
    deep = env("<a>" * 70 + "</a>" * 70)
    with pytest.raises(MalformedRequest) as err:
        parse_envelope(deep, max_depth=64)
    assert err.value.code == "TOO_DEEP"
    parse_envelope(env("<a>" * 10 + "</a>" * 10), max_depth=64)
    wide = env("<a>" + "<b/>" * 200 + "</a>")
    with pytest.raises(MalformedRequest) as err:
        parse_envelope(wide, max_elements=100)
    assert err.value.code == "TOO_MANY_ELEMENTS"


def test_not_an_envelope():
    with pytest.raises(VersionMismatch):
        parse_envelope(b"<Envelope/>")


@pytest.mark.parametrize("body", ["", "<a/><b/>"])
def test_body_must_hold_exactly_one_element(body):
    with pytest.raises(MalformedRequest):
        parse_envelope(env(body))


def test_processing_instructions_are_dropped():
    parsed = parse_envelope(env("<a><?evil x?><b/></a>"))
    assert [c.tag for c in parsed.body_child] == ["b"]


def test_comments_are_dropped_and_text_around_them_merged():
    """What is signed (c14n without comments) and what is read must be the same text."""
    parsed = parse_envelope(env("<INN>77<!-- hidden -->02123454</INN>"))
    assert parsed.body_child.text == "7702123454" and len(parsed.body_child) == 0
