"""A structured mutator for signed SOAP envelopes, deterministic for a given ``random.Random``.

Why structured: random bytes die in the XML parser; the stages behind it (XSD, XMLDSig,
certificate paths, routing, the handlers) are reached only by inputs that stay well-formed and
near the contract. So most mutations edit the tree (delete, duplicate, move, rename into other
namespaces, odd text and attribute values, certificate and signature edits) and some edit the
bytes (flips, splices, truncation, markup tokens) for the parser and the HTTP edge.
"""
from __future__ import annotations

import base64
import binascii
import copy
import random
import re
from typing import Callable

from lxml import etree

from envelopes import ns

DS = ns.DS
#: placeholder set as text/attribute value, replaced after serialization by raw bytes (control
#: characters and character references lxml refuses to put into a tree)
RAW = "\ue000RAW\ue000"
RAW_BYTES = [b"\x00", b"\x01", b"\x1f", b"\x7f", b"&#0;", b"&#x1;", b"&#xFFFE;", b"&#xD800;",
             b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"]]>", b"&unknown;", b"&#99999999;"]
ODD_TEXTS = [
    "", " ", "\t\n", "0", "-1", "-0", "00000000000", "9" * 40, "9" * 4000, "-" + "9" * 400,
    "1e309", "-1e309", "NaN", "INF", "0x1F", "1.5", "1,5", "true", "false", "null",
    "Ромашка", "ООО «Ромашка»", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u202eevil", "\u200b", "\ufeff1", "ß" * 300,
    "A" * 70_000, "9999-12-31T23:59:59.999+14:00", "0001-01-01T00:00:00Z", "2026-13-45T25:61:61",
    "2026-02-29", "1970-01-01T00:00:00", "00000000-0000-1000-8000-000000000000",
    "ffffffff-ffff-1fff-bfff-ffffffffffff", "not-a-uuid", "#", "#SIGNED_BY_CALLER", "../../etc",
    "<x/>", "&amp;", "urn:", "http://", "%00", RAW,
]
NAMESPACES = [ns.SMEV_TYPES, ns.SMEV_BASIC, ns.SMEV_FAULTS, ns.DS, ns.SOAP11_ENV, ns.SOAP12_ENV,
              "", "urn://fuzz/unknown", "http://www.w3.org/XML/1998/namespace/x"]
ALGORITHMS = [
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2000/09/xmldsig#hmac-sha1", "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256",
    "urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256",
    "http://www.w3.org/2001/10/xml-exc-c14n#", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315", "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/TR/1999/REC-xpath-19991116", "urn://smev-gov-ru/xmldsig/transform",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature", "", "x", "urn:fuzz",
]
TOKENS = [b"<!--", b"-->", b"<?pi x?>", b"<![CDATA[x]]>", b"<!DOCTYPE x>", b"&#0;", b"&amp;",
          b"xmlns:a=\"urn:a\" ", b"<a>", b"</a>", b"\"", b"'", b"<", b">", b"/>", b"=",
          b"\xef\xbb\xbf", b"\r\n", b"\x00"]


def _elements(root: etree._Element) -> list[etree._Element]:
    return [el for el in root.iter() if isinstance(el.tag, str)]


def _flip_base64(text: str, rng: random.Random) -> str:
    if not text:
        return "AA=="
    chars = list(text.strip())
    i = rng.randrange(len(chars))
    chars[i] = rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!")
    return "".join(chars)


# ------------------------------------------------------------------ tree mutations
def _children_of(root) -> list[etree._Element]:
    return [el for el in _elements(root) if el.getparent() is not None]


def delete_element(root, rng):
    if candidates := _children_of(root):
        el = rng.choice(candidates)
        el.getparent().remove(el)


def duplicate_element(root, rng):
    if candidates := _children_of(root):
        el = rng.choice(candidates)
        el.addnext(copy.deepcopy(el))


def move_element(root, rng):
    candidates = _children_of(root)
    if not candidates:
        return
    elements = _elements(root)
    el = rng.choice(candidates)
    inside = set(el.iter())
    targets = [e for e in elements if e not in inside]
    target = rng.choice(targets)
    target.insert(rng.randint(0, len(target)), el)


def swap_siblings(root, rng):
    parents = [el for el in _elements(root) if len(el) >= 2]
    if not parents:
        return
    parent = rng.choice(parents)
    i, j = rng.sample(range(len(parent)), 2)
    a, b = parent[i], parent[j]
    a_copy = copy.deepcopy(a)
    parent.replace(b, a_copy)
    parent.replace(a, b)


def odd_text(root, rng):
    el = rng.choice(_elements(root))
    if len(el) and rng.random() < 0.5:
        for child in list(el):
            el.remove(child)
    el.text = rng.choice(ODD_TEXTS)


_DIGITS = re.compile(r"-?\d+")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT.*")
_DECIMAL = re.compile(r"-?\d+\.\d+")


def odd_like(root, rng):
    """Replace a value by an extreme one of the same lexical kind, which the XSD still accepts
    and only the code behind it has to cope with (overflow, year 9999, zero, negative)."""
    valued = [el for el in _elements(root) if el.text and el.text.strip() and not len(el)]
    if not valued:
        return odd_text(root, rng)
    el = rng.choice(valued)
    text = el.text.strip()
    if _DIGITS.fullmatch(text):
        el.text = rng.choice(["0", "-0", "-1", "9" * 30, "1" + "0" * 19, "18446744073709551616",
                              "2147483648", "-9223372036854775809", "0" * len(text),
                              "9" * len(text), text + "0", text[:-1] or "0"])
    elif _DECIMAL.fullmatch(text):
        el.text = rng.choice(["0.0", "-0.00", "9" * 30 + ".99", "0.000000000000000000001",
                              "-" + "9" * 25 + ".5"])
    elif _DATE.fullmatch(text):
        el.text = rng.choice(["0001-01-01", "9999-12-31", "2000-02-29", "1900-01-01",
                              "2038-01-19", "0001-01-01Z", "9999-12-31+14:00"])
    elif _DATETIME.fullmatch(text):
        el.text = rng.choice(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-14:00",
                              "9999-12-31T23:59:59Z", "0001-01-01T00:00:00", "2026-01-01T24:00:00Z",
                              text.split(".")[0], text[:19] + "+13:59"])
    else:
        el.text = rng.choice([text * 50, text.upper(), text.lower(), " " + text + " ",
                              text[: len(text) // 2], text + "́", " ".join(text)])


def delete_attribute(root, rng):
    with_attrs = [el for el in _elements(root) if el.attrib]
    if with_attrs:
        el = rng.choice(with_attrs)
        del el.attrib[rng.choice(list(el.attrib))]


def odd_attribute(root, rng):
    el = rng.choice(_elements(root))
    names = list(el.attrib) + ["Id", "accepted", "Algorithm", "URI", f"{{{ns.SMEV_TYPES}}}Id",
                               "mustUnderstand", f"{{{ns.SOAP11_ENV}}}mustUnderstand"]
    el.set(rng.choice(names), rng.choice(ODD_TEXTS[:60]).replace("\x00", ""))


def rename_namespace(root, rng):
    el = rng.choice(_elements(root))
    local = etree.QName(el).localname
    if rng.random() < 0.2:
        local = rng.choice(["Envelope", "Body", "Header", "Signature", "MessageID", "Fault", "x"])
    namespace = rng.choice(NAMESPACES)
    el.tag = f"{{{namespace}}}{local}" if namespace else local


def edit_certificate(root, rng):
    certs = root.findall(f".//{{{DS}}}X509Certificate")
    if not certs:
        return odd_text(root, rng)
    cert = rng.choice(certs)
    choice = rng.randrange(6)
    if choice == 0:
        cert.text = _flip_base64(cert.text or "", rng)
    elif choice == 1:
        cert.text = (cert.text or "")[: rng.randrange(1, max(2, len(cert.text or "")))]
    elif choice == 2:
        cert.text = base64.b64encode(rng.randbytes(rng.choice([0, 1, 16, 600]))).decode()
    elif choice == 3:
        other = rng.choice(certs)
        cert.text, other.text = other.text, cert.text
    elif choice == 4:
        cert.addnext(copy.deepcopy(cert))
    else:  # a DER with an odd tail or head: still base64, no longer one certificate
        try:
            der = base64.b64decode((cert.text or "").encode("utf-8"))
        except (ValueError, binascii.Error):  # an earlier mutation left no base64 here
            der = rng.randbytes(64)
        cert.text = base64.b64encode(rng.choice([der + b"\x00", b"\x30\x80" + der, der[::-1]])).decode()


def edit_signature(root, rng):
    candidates = (root.findall(f".//{{{DS}}}SignatureValue") + root.findall(f".//{{{DS}}}DigestValue")
                  + root.findall(f".//{{{DS}}}*[@Algorithm]") + root.findall(f".//{{{DS}}}Reference"))
    if not candidates:
        return odd_text(root, rng)
    el = rng.choice(candidates)
    if el.get("Algorithm") is not None:
        el.set("Algorithm", rng.choice(ALGORITHMS))
    elif etree.QName(el).localname == "Reference":
        el.set("URI", rng.choice(["", "#", "#x", "#SIGNED_BY_CALLER", "#SIGNED_BY_CONSUMER",
                                  "http://127.0.0.1:9/", "#xpointer(/)", el.get("URI", "") * 2]))
    else:
        el.text = rng.choice([_flip_base64(el.text or "", rng), "", "====", "%%%",
                              base64.b64encode(rng.randbytes(rng.choice([1, 32, 64, 512]))).decode()])


TREE_MUTATIONS: list[Callable] = [
    delete_element, duplicate_element, move_element, swap_siblings, odd_text, odd_like,
    delete_attribute, odd_attribute, rename_namespace, edit_certificate, edit_certificate,
    edit_signature, edit_signature,
]


# ------------------------------------------------------------------ byte mutations
def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return rng.choice(TOKENS)
    i = rng.randrange(len(data))
    choice = rng.randrange(6)
    if choice == 0:
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
    if choice == 1:
        return data[:i] + rng.choice(TOKENS) + data[i:]
    if choice == 2:
        return data[:i] + data[i + rng.randint(1, 64):]
    if choice == 3:
        j = min(len(data), i + rng.randint(1, 256))
        return data[:j] + data[i:j] + data[j:]
    if choice == 4:
        return data[:i]
    return data[:i] + rng.randbytes(rng.randint(1, 8)) + data[i:]


#: mutations of content, for inputs that are re-signed afterwards
CONTENT_MUTATIONS: list[Callable] = [
    delete_element, duplicate_element, move_element, swap_siblings, odd_text, odd_like, odd_like,
    odd_like, delete_attribute, odd_attribute, rename_namespace,
]


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True,
                                                  huge_tree=False))


def mutate(seed: bytes, rng: random.Random,
           resign: Callable[[etree._Element], None] | None = None) -> tuple[bytes, bool]:
    """One to three stacked mutations of ``seed``; mostly on the tree, sometimes on the bytes.

    With ``resign`` (which re-signs the operation's signed element in place with the seed's own
    key), half of the inputs have only their content mutated and are then signed again: the
    odd values get past the signature check into XSD, routing and the handlers. Returns the
    input and whether it was re-signed."""
    if resign is not None and rng.random() < 0.5:
        root = _parse(seed)
        for _ in range(rng.choice([1, 1, 2, 3])):
            try:
                rng.choice(CONTENT_MUTATIONS)(root, rng)
            except ValueError:
                continue
        try:
            resign(root)
        except Exception:  # noqa: BLE001 - unsignable now (e.g. the signed element is gone)
            pass
        data = etree.tostring(root)
        return (data.replace(RAW.encode(), rng.choice(RAW_BYTES)) if RAW.encode() in data
                else data), True
    data = seed
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        if rng.random() < 0.8:
            try:
                root = _parse(data)
            except etree.XMLSyntaxError:
                data = mutate_bytes(data, rng)
                continue
            try:
                rng.choice(TREE_MUTATIONS)(root, rng)
            except ValueError:  # lxml refused the edit (e.g. a name it cannot hold): skip it
                continue
            data = etree.tostring(root)
            if RAW.encode() in data:
                data = data.replace(RAW.encode(), rng.choice(RAW_BYTES))
        else:
            data = mutate_bytes(data, rng)
    return data, False
