"""The SMEV transform against the specification's vectors, Woodstox's escaping rules and two
independent PyPI implementations (each disagreement decided in docs/smev-transform.md).

Every test runs twice: on the native implementation and on the pure-Python reference."""
from __future__ import annotations

import random

import pytest
from lxml import etree

from signing.errors import SmevTransformError
from signing import smev_transform as smev_module
from signing.smev_transform import escape_attribute, escape_text, escape_texts, smev_transform


@pytest.fixture(autouse=True, params=["native", "reference"])
def implementation(request):
    """Select one implementation for the test (restoring whatever the suite had selected)."""
    previous = smev_module._selected
    smev_module.use(request.param)
    yield request.param
    smev_module._selected = previous


def transform(xml: str | bytes) -> str:
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    parser = etree.XMLParser(strip_cdata=False, remove_blank_text=False)
    return smev_transform(etree.fromstring(xml, parser)).decode("utf-8")


# ------------------------------------------------------------------ specification vectors

def test_spec_vector():
    assert transform('<elementOne xmlns="http://test/1" xmlns:qwe="http://test/2">'
                     '<qwe:elementTwo attB="bbb" attA="aaa"/></elementOne>') == (
        '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo xmlns:ns2="http://test/2" '
        'attA="aaa" attB="bbb"></ns2:elementTwo></ns1:elementOne>')


# The four scenarios of the methodical recommendations (rules 1-8), as also carried by the
# smev3Transform package's own tests.
SCENARIO_1 = """<?xml version="1.0" encoding="UTF-8"?>
<!-- rules 1, 2, 6 -->
<?xml-stylesheet type="text/xsl" href="style.xsl"?>

<elementOne xmlns="http://test/1">
\t<qwe:elementTwo xmlns:qwe="http://test/2">asd</qwe:elementTwo>
</elementOne>"""

SCENARIO_2 = """<?xml version="1.0" encoding="UTF-8"?>
<elementOne xmlns="http://test/1" xmlns:qwe="http://test/2" xmlns:asd="http://test/3">
\t<qwe:elementTwo>
\t\t<asd:elementThree>
\t\t\t<!-- default namespace -->
\t\t\t<elementFour> z x c </elementFour>
\t\t\t<qqq:elementFive xmlns:qqq="http://test/2"> w w w </qqq:elementFive>
\t\t</asd:elementThree>
\t\t<asd:elementSix>eee</asd:elementSix>
\t</qwe:elementTwo>
</elementOne> """

SCENARIO_3 = """<?xml version="1.0" encoding="UTF-8"?>
<elementOne xmlns="http://test/1" xmlns:qwe="http://test/2" xmlns:asd="http://test/3">
\t<qwe:elementTwo>
\t\t<asd:elementThree xmlns:wer="http://test/a" xmlns:zxc="http://test/0" wer:attZ="zzz"
\t\t attB="bbb" attA="aaa" zxc:attC="ccc" asd:attD="ddd" asd:attE="eee" qwe:attF="fff"/>
\t</qwe:elementTwo>
</elementOne>"""

SCENARIO_4 = """<ns2:SenderProvidedRequestData xmlns:ns2="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.0" Id="SIGNED_BY_CONSUMER">
 <MessagePrimaryContent xmlns="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.0">
 <SomeRequest:SomeRequest xmlns:SomeRequest="urn://x-artifacts-it-ru/vs/smev/test/test-business-data/1.0">
 <x xmlns="urn://x-artifacts-it-ru/vs/smev/test/test-business-data/1.0">qweqwe</x>
 </SomeRequest:SomeRequest>
 </MessagePrimaryContent>
</ns2:SenderProvidedRequestData>"""


@pytest.mark.parametrize("source, expected", [
    (SCENARIO_1, '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo '
                 'xmlns:ns2="http://test/2">asd</ns2:elementTwo></ns1:elementOne>'),
    # ns3 was declared in the closed subtree of elementThree: elementSix gets ns4 (one
    # counter for the whole element, a new number per re-declaration)
    (SCENARIO_2, '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo '
                 'xmlns:ns2="http://test/2"><ns3:elementThree xmlns:ns3="http://test/3">'
                 '<ns1:elementFour> z x c </ns1:elementFour><ns2:elementFive> w w w '
                 '</ns2:elementFive></ns3:elementThree><ns4:elementSix xmlns:ns4="http://test/3">'
                 'eee</ns4:elementSix></ns2:elementTwo></ns1:elementOne>'),
    # qualified attributes first (URI, then local name), unqualified after; declarations in
    # that order after the element's own
    (SCENARIO_3, '<ns1:elementOne xmlns:ns1="http://test/1"><ns2:elementTwo '
                 'xmlns:ns2="http://test/2"><ns3:elementThree xmlns:ns3="http://test/3" '
                 'xmlns:ns4="http://test/0" xmlns:ns5="http://test/a" ns4:attC="ccc" '
                 'ns2:attF="fff" ns3:attD="ddd" ns3:attE="eee" ns5:attZ="zzz" attA="aaa" '
                 'attB="bbb"></ns3:elementThree></ns2:elementTwo></ns1:elementOne>'),
    (SCENARIO_4, '<ns1:SenderProvidedRequestData xmlns:ns1="urn://x-artefacts-smev-gov-ru/'
                 'services/message-exchange/types/1.0" Id="SIGNED_BY_CONSUMER">'
                 '<ns2:MessagePrimaryContent xmlns:ns2="urn://x-artefacts-smev-gov-ru/services/'
                 'message-exchange/types/basic/1.0"><ns3:SomeRequest xmlns:ns3="urn://x-artifacts'
                 '-it-ru/vs/smev/test/test-business-data/1.0"><ns3:x>qweqwe</ns3:x>'
                 '</ns3:SomeRequest></ns2:MessagePrimaryContent></ns1:SenderProvidedRequestData>'),
])
def test_methodology_scenarios(source, expected):
    assert transform(source) == expected


def test_subtree_counter_starts_at_the_transformed_element():
    root = etree.fromstring(b'<a:r xmlns:a="urn:a" xmlns:b="urn:b"><b:s><a:t/></b:s></a:r>')
    assert smev_transform(root[0]) == (b'<ns1:s xmlns:ns1="urn:b"><ns2:t xmlns:ns2="urn:a">'
                                       b'</ns2:t></ns1:s>')


# ------------------------------------------------------------------ escaping (Woodstox)

@pytest.mark.parametrize("text, expected", [
    ("a<b&c", "a&lt;b&amp;c"),
    # blocks under 12 UTF-16 units: '>' escaped only first or right after ']'
    (">x", "&gt;x"), ("a>b", "a>b"), ("]>", "]&gt;"), (">>", "&gt;>"), ("&>", "&amp;>"),
    ("&>" + "x" * 9, "&amp;>" + "x" * 9),                 # 11 units
    # 12 units and more: a run restarts after every escaped character
    ("&>" + "x" * 10, "&amp;&gt;" + "x" * 10),             # 12 units
    ("0123456789a>", "0123456789a>"), ("0123456789<>>", "0123456789&lt;&gt;&gt;"),
    ("0123456789]>>", "0123456789]&gt;&gt;"), ("0123456789a>>", "0123456789a>>"),
    (">0123456789ab", "&gt;0123456789ab"),
    ("a" * 512 + ">", "a" * 512 + "&gt;"),                # first of the second 512 chunk
    ("a" * 511 + ">", "a" * 511 + ">"),
    # an astral character counts two units: 11 chars, 12 units -> the large-block rule
    ("\U0001F600&>" + "x" * 8, "\U0001F600&amp;&gt;" + "x" * 8),
    ("\u0401&>" + "x" * 8, "\u0401&amp;>" + "x" * 8),     # BMP: 11 units -> small rule
    # CR and C1 controls as hex character references
    ("a\rb", "a&#xd;b"), ("x\x85y\x9f", "x&#x85;y&#x9f;"),
    ('quote " and apostrophe \' stay', 'quote " and apostrophe \' stay'),
    ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
])
def test_text_escaping(text, expected):
    assert escape_text(text) == expected
    # the same block through the selected implementation, as the text of an element (built
    # with the API: a parser would turn the CR into LF) and as an attribute value
    element = etree.Element("{urn:a}a", v=text)
    element.text = text
    assert smev_transform(element).decode("utf-8") == (
        f'<ns1:a xmlns:ns1="urn:a" v="{escape_attribute(text)}">{expected}</ns1:a>')


@pytest.mark.parametrize("texts", [
    ["plain", "", "a&b<c\rd", "x\x85y\x9f", "   ", "\U0001F600&<"],  # no '>': one pass
    ["a>b", ">x", "&>" + "x" * 10, "]>", "plain"],                  # '>': text by text
    ["ok", "fine & <good>"], [""], [],
])
def test_escaping_several_texts_is_escaping_each(texts):
    assert escape_texts(texts) == [escape_text(text) for text in texts]


def test_the_scans_that_skip_escaping_cover_exactly_the_escaped_characters():
    """escape_text/escape_texts/escape_attribute return a text unchanged when their scan finds
    nothing: a character the tables escape but the scan misses would go out unescaped."""
    from signing import smev_transform as t
    for scan, escaped in ((t._TEXT_SPECIAL, set(t._TEXT_ESCAPES)),
                          (t._ATTR_SPECIAL, {chr(code) for code in t._ATTR_TABLE})):
        assert {chr(c) for c in range(0x110000) if scan.search(chr(c))} == escaped


def test_attribute_escaping():
    assert escape_attribute("x&<>\"'\t\n\r\x85") == "x&amp;&lt;>&quot;'&#x9;&#xa;&#xd;\x85"


def test_escaping_in_documents():
    assert transform('<a xmlns="urn:a" v="1 &lt; 2 &gt; 0 &amp; &quot;q&quot; &#9;&#10;&#13;">'
                     '&lt;tag&gt; &amp; <![CDATA[<b>]]>&#13;</a>') == (
        '<ns1:a xmlns:ns1="urn:a" v="1 &lt; 2 > 0 &amp; &quot;q&quot; &#x9;&#xa;&#xd;">'
        '&lt;tag> &amp; &lt;b>&#xd;</ns1:a>')


# ------------------------------------------------------------------ blocks and whitespace

@pytest.mark.parametrize("source, expected", [
    # comments vanish in c14n: the text around one is ONE block ('>' not first, so raw)
    ('<a xmlns="urn:a">x<!--c-->></a>', '<ns1:a xmlns:ns1="urn:a">x></ns1:a>'),
    # processing instructions survive c14n and end a block ('>' first in its block)
    ('<a xmlns="urn:a">x<?p d?>></a>', '<ns1:a xmlns:ns1="urn:a">x&gt;</ns1:a>'),
    ('<a xmlns="urn:a">  <!--c-->\n\t </a>', '<ns1:a xmlns:ns1="urn:a"></ns1:a>'),
    ('<a xmlns="urn:a">  <?p?> y </a>', '<ns1:a xmlns:ns1="urn:a"> y </ns1:a>'),
    # only XML whitespace counts as whitespace (Java trim); NBSP is content
    ('<a xmlns="urn:a">\u00a0</a>', '<ns1:a xmlns:ns1="urn:a">\u00a0</ns1:a>'),
    # newlines inside text are content, kept as they are
    ('<a xmlns="urn:a">line 1\nline 2</a>', '<ns1:a xmlns:ns1="urn:a">line 1\nline 2</ns1:a>'),
    ('<a xmlns="urn:a"> <b>t</b> mixed <b/>\n</a>',
     '<ns1:a xmlns:ns1="urn:a"><ns1:b>t</ns1:b> mixed <ns1:b></ns1:b></ns1:a>'),
])
def test_text_blocks(source, expected):
    assert transform(source) == expected


@pytest.mark.parametrize("source", [
    '<a xmlns="urn:a"><b xmlns="">unqualified</b></a>',
    '<a xmlns="urn:a" xml:lang="ru">x</a>',
])
def test_content_the_official_client_cannot_transform(source):
    with pytest.raises(SmevTransformError) as caught:
        transform(source)
    assert caught.value.code == "FORMAT_FAILURE"


def test_entity_reference_nodes_are_refused():
    parser = etree.XMLParser(resolve_entities=False)
    root = etree.fromstring(b'<!DOCTYPE a [<!ENTITY e "v">]><a xmlns="urn:a">x&e;</a>', parser)
    with pytest.raises(SmevTransformError):
        smev_transform(root)


def test_unused_declarations_vanish_and_prefixes_are_irrelevant():
    one = transform('<p:a xmlns:p="urn:a" xmlns:q="urn:unused" xmlns:r="urn:r" r:x="1">'
                    '<p:b/></p:a>')
    two = transform('<a xmlns="urn:a"><b xmlns:z="urn:r" z:x="1"/></a>'.replace(
        '<a xmlns="urn:a"><b xmlns:z="urn:r" z:x="1"/>',
        '<a xmlns="urn:a" xmlns:z="urn:r" z:x="1"><b/>'))
    assert one == two == ('<ns1:a xmlns:ns1="urn:a" xmlns:ns2="urn:r" ns2:x="1"><ns1:b></ns1:b>'
                          '</ns1:a>')


# ------------------------------------------------------------------ generated corpus

URIS = ["urn:a", "urn:b", "http://test/1", "http://test/0",
        "urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1",
        "urn:org:reestr"]
PREFIXES = [None, "a", "b", "ns1", "ns2", "x"]
LOCALS = ["Root", "Item", "Name", "value", "\u0418\u041d\u041d", "Data", "x"]
ATTR_LOCALS = ["Id", "attA", "attB", "code", "z", "a1"]
TEXT_PIECES = ["abc", "Hello world", "12345", "\u041e\u041e\u041e \u00ab\u0420\u043e\u043c"
               "\u0430\u0448\u043a\u0430\u00bb", " ", "\n", "\t", "&amp;", "&lt;", "&gt;",
               "]", "]]&gt;", "&#13;", "&quot;", "'", "&#x85;", "\u00a0", ">", "a>b",
               "<![CDATA[<x> & y]]>", "<![CDATA[]]]]><![CDATA[>]]>", "<!-- note -->",
               "&#x1F600;", "\u2003"]
ATTR_PIECES = ["v", "1", " ", "&amp;", "&lt;", "&gt;", "&quot;", "'", "&#9;", "&#10;",
               "&#13;", "\u0436", "x y"]
UNQUALIFIED = "unqualified"
XML_ATTR = "xml-attribute"


def _generate(rnd: random.Random) -> tuple[str, set[str]]:
    """One random document as text, and the special classes it contains."""
    classes: set[str] = set()

    def text(pieces, n):
        return "".join(rnd.choice(pieces) for _ in range(n))

    def element(depth: int, scope: dict) -> str:
        decls = {}
        for _ in range(rnd.choice([0, 0, 1, 1, 2, 3])):
            decls[rnd.choice(PREFIXES)] = rnd.choice(URIS)
        here = {**scope, **decls}
        if depth > 0 and rnd.random() < 0.02:
            classes.add(UNQUALIFIED)
            decls[None] = ""
            here[None] = ""
            prefix = None
        else:
            bound = [p for p, u in here.items() if u]
            if not bound:
                prefix = rnd.choice(PREFIXES)
                decls[prefix] = here[prefix] = rnd.choice(URIS)
            else:
                prefix = rnd.choice(bound)
        name = f"{prefix}:{rnd.choice(LOCALS)}" if prefix else rnd.choice(LOCALS)
        attrs = {}
        seen = set()
        for _ in range(rnd.choice([0, 0, 1, 2, 3, 4])):
            local = rnd.choice(ATTR_LOCALS)
            qualified = [p for p, u in here.items() if p and u]
            p = rnd.choice(qualified) if qualified and rnd.random() < 0.5 else None
            key = (here[p] if p else "", local)
            if key in seen:
                continue
            seen.add(key)
            attrs[f"{p}:{local}" if p else local] = text(ATTR_PIECES, rnd.randint(0, 4))
        if rnd.random() < 0.02:
            classes.add(XML_ATTR)
            attrs["xml:lang"] = "ru"
        head = "".join(f' xmlns:{p}="{u}"' if p else f' xmlns="{u}"' for p, u in decls.items())
        head += "".join(f' {k}="{v}"' for k, v in attrs.items())
        if depth < 4 and rnd.random() < 0.55:
            body = text(TEXT_PIECES, rnd.randint(0, 2))
            for _ in range(rnd.randint(1, 4)):
                body += element(depth + 1, here) + text(TEXT_PIECES, rnd.randint(0, 2))
        elif rnd.random() < 0.8:
            body = text(TEXT_PIECES, rnd.choice([0, 1, 3, 6, 12, 40]))
        else:
            return f"<{name}{head}/>"
        return f"<{name}{head}>{body}</{name}>"

    return element(0, {}), classes


def corpus(count: int = 300, seed: int = 20240517):
    rnd = random.Random(seed)
    return [_generate(rnd) for _ in range(count)]


# smev-transform 2.0.0 with each settled disagreement replaced by the decision of the spec
# (docs/smev-transform.md, section "Disagreements"):
#  D1 it writes text and attribute values without any escaping -> Woodstox escaping;
#  D2 it deletes line feeds inside text ("C# style") -> they are content and stay;
#  D3 it tests "whitespace only" with Python's str.strip() (NBSP, EM SPACE count) -> XML
#     whitespace only (Java String.trim() on XML text).
# Its parser (xml.etree) merges the text around comments, as c14n does; the corpus has no
# processing instructions (their block split is covered by test_text_blocks).
_KEEP = {"\n": "\ue000", "\u00a0": "\ue001", "\u2003": "\ue002"}
_RESTORE = {v: k for k, v in _KEEP.items()}


def _protect(text: str) -> str:
    for raw, mark in _KEEP.items():
        text = text.replace(raw, mark)
    return text


def oracle_smev_transform(source: bytes) -> str:
    from smev_transform import Transform

    class SpecAdapted(Transform):
        def _transform_element(self, element):
            if element.text is not None:
                element.text = (None if not element.text.strip(" \t\n\r")
                                else _protect(escape_text(element.text)))
            for child in element:
                if child.tail is not None:
                    child.tail = (None if not child.tail.strip(" \t\n\r")
                                  else _protect(escape_text(child.tail)))
            for name, value in list(element.attrib.items()):
                element.attrib[name] = escape_attribute(value)
            return super()._transform_element(element)

    out = SpecAdapted().process(source.decode("utf-8"))
    for mark, raw in _RESTORE.items():
        out = out.replace(mark, raw)
    return out


def test_corpus_is_varied():
    docs = corpus()
    assert len(docs) >= 200
    joined = "".join(doc for doc, _ in docs)
    for feature in ('xmlns="', "xmlns:a=", "<![CDATA[", "&amp;", "&#13;", "<!--", "\u00a0"):
        assert feature in joined, feature
    assert sum(1 for _, classes in docs if UNQUALIFIED in classes) >= 2
    assert sum(1 for _, classes in docs if XML_ATTR in classes) >= 2


def test_corpus_against_smev_transform_package():
    compared = refused = 0
    for source, classes in corpus():
        parser = etree.XMLParser(strip_cdata=False)
        element = etree.fromstring(source.encode("utf-8"), parser)
        serialized = etree.tostring(element, encoding="utf-8")
        oracle = oracle_smev_transform(serialized)
        if classes:
            # D4 unqualified elements / D5 xml:* attributes: the oracle writes them unprefixed
            # or binds the xml namespace to nsN; the official client fails, and so do we.
            with pytest.raises(SmevTransformError):
                smev_transform(element)
            assert ("http://www.w3.org/XML/1998/namespace" in oracle
                    if XML_ATTR in classes else True)
            refused += 1
            continue
        assert smev_transform(element).decode("utf-8") == oracle, source
        compared += 1
    assert compared >= 200 and refused >= 4


# smev3Transform 1.0 deviates by construction on: mixed content (text beside children is
# dropped), text without a word character (dropped), text with '>' or CR (its c14n writes
# &gt; / &#xD;), attribute values with &, <, ", TAB, LF, CR (written raw), elements without a
# namespace (crash), xml:* attributes, and '&' in text (&amp; ... fine) -- so it is asked only
# about documents free of those features, where it must agree exactly.
def _smev3_applicable(element: etree._Element) -> bool:
    import re
    for el in element.iter():
        if not isinstance(el.tag, str):
            return False
        texts = [el.text] + [child.tail for child in el]
        has_children = len(el) > 0
        for t in texts:
            if t and t.strip(" \t\n\r"):
                if has_children or not re.search(r"\w", t) or ">" in t or "\r" in t:
                    return False
                if t != t.strip(" \t\n\r") and "\n" in t:
                    return False
        for value in el.attrib.values():
            if any(c in value for c in '&<"\t\n\r'):
                return False
        if any(k.startswith("{http://www.w3.org/XML/1998/namespace}") for k in el.attrib):
            return False
    return True


def test_corpus_against_smev3transform_where_it_applies():
    from smev3Transform.transform import Smev3Transform

    agreed = ran = 0
    for source, classes in corpus():
        if classes:
            continue
        element = etree.fromstring(source.encode("utf-8"), etree.XMLParser(strip_cdata=False))
        if not _smev3_applicable(element):
            continue
        try:
            theirs = Smev3Transform(etree.tostring(element)).run()
        except Exception:  # noqa: BLE001 -- it fails on most inputs; counted, never hidden
            continue
        ran += 1
        assert smev_transform(element).decode("utf-8") == theirs, source
        agreed += 1
    assert agreed == ran and agreed >= 20
