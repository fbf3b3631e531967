"""Unauthenticated junk that costs the most to refuse, one builder per attack class (used by
test_cost.py and by `make fuzz`-style measurements). Each returns (content type, body)."""
from __future__ import annotations

import base64
import uuid

from envelopes import ns

S11 = ns.SOAP11_ENV
T = ns.SMEV_TYPES
XML = "text/xml; charset=utf-8"
MAX_BODY = 5 * 1024 * 1024 - 4096  # just under GATEWAY_MAX_BODY_BYTES


def _envelope(inner: str, env_attrs: str = "") -> str:
    return (f'<soap:Envelope xmlns:soap="{S11}"{env_attrs}><soap:Body>'
            f'<ns:SendRequestRequest xmlns:ns="{T}">{inner}</ns:SendRequestRequest>'
            "</soap:Body></soap:Envelope>")


def billion_laughs():
    entities = '<!ENTITY a "ha">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    return XML, f'<?xml version="1.0"?><!DOCTYPE x [{entities}]>{_envelope("<x>&j;</x>")}'.encode()


def namespace_flood_utf8():
    decls = "".join(f' xmlns:p{i}="urn:{i}"' for i in range(60_000))
    return XML, _envelope("<x/>", decls).encode()


def namespace_flood_utf16():
    decls = "".join(f' xmlns:p{i}="urn:{i}"' for i in range(60_000))
    return "text/xml; charset=utf-16", ('<?xml version="1.0" encoding="UTF-16"?>'
                                        + _envelope("<x/>", decls)).encode("utf-16")


def attribute_flood():
    attrs = "".join(f' a{i}="x"' for i in range(400_000))
    body = _envelope(f"<x{attrs}/>").encode()
    return XML, body[:MAX_BODY] if len(body) > MAX_BODY else body


def deep_tree():
    return XML, _envelope("<a>" * 5000 + "</a>" * 5000).encode()


def wide_tree():
    return XML, _envelope("<a/>" * 1_000_000).encode()[:MAX_BODY]  # cut: not even well-formed


def elements_just_under_the_limit():
    return XML, _envelope("<a>" + "<b/>" * 49_900 + "</a>").encode()


def huge_text():
    return XML, _envelope("<a>" + "A" * (MAX_BODY - 400) + "</a>").encode()


def many_small_texts():
    return XML, _envelope("<a>" + "<b>xxxxxxxxxxxxxxxxxxxx</b>" * 49_000 + "</a>").encode()


def unregistered_signer_with_big_payload():
    """A well-formed, "signed" request whose certificate belongs to nobody, 9 MB of content."""
    cert = base64.b64encode(b"\x30\x82" + uuid.uuid4().bytes * 40).decode()
    inner = ('<ns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER"><ns:MessageID>'
             f'{uuid.uuid1()}</ns:MessageID><ns:MessagePrimaryContent><x>{"A" * (MAX_BODY - 8000)}</x>'
             '</ns:MessagePrimaryContent></ns:SenderProvidedRequestData>'
             '<ns:CallerInformationSystemSignature><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
             '<ds:SignedInfo/><ds:SignatureValue>AAAA</ds:SignatureValue><ds:KeyInfo><ds:X509Data>'
             f'<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>'
             '</ds:Signature></ns:CallerInformationSystemSignature>')
    return XML, _envelope(inner).encode()


def mtom_flood():
    boundary = "b" + uuid.uuid4().hex
    parts = [f"--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\n"
             f"Content-ID: <root>\r\n\r\n{_envelope('<x/>')}\r\n".encode()]
    for i in range(99):
        parts.append(f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
                     f"Content-ID: <p{i}>\r\nContent-Transfer-Encoding: binary\r\n\r\n".encode()
                     + b"\x00" * 95_000 + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    content_type = (f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
                    'start="<root>"; start-info="text/xml"')
    return content_type, b"".join(parts)


CORPUS = {f.__name__: f for f in (
    billion_laughs, namespace_flood_utf8, namespace_flood_utf16, attribute_flood, deep_tree,
    wide_tree, elements_just_under_the_limit, huge_text, many_small_texts,
    unregistered_signer_with_big_payload, mtom_flood)}
