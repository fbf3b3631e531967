"""The native SMEV transform (C over libxml2's exc-c14n) against the pure-Python reference:
the same bytes, or the same refusal, on every element of every document we have and on
hypothesis-generated trees (docs/smev-transform.md, «Native implementation»)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from signing import _smev_native
from signing.errors import SmevTransformError
from signing.smev_transform import native_transform, reference_transform

_spec = importlib.util.spec_from_file_location(  # the reference tests' vectors and corpus
    "smev_transform_vectors", Path(__file__).with_name("test_smev_transform.py"))
_vectors = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_vectors)
SCENARIO_1, SCENARIO_2, SCENARIO_3, SCENARIO_4 = (
    _vectors.SCENARIO_1, _vectors.SCENARIO_2, _vectors.SCENARIO_3, _vectors.SCENARIO_4)
corpus = _vectors.corpus

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).parent / "data"
PARSER = etree.XMLParser(strip_cdata=False, remove_blank_text=False, resolve_entities=False)


def outcome(transform, element):
    try:
        return transform(element)
    except SmevTransformError as exc:
        return ("refused", str(exc))


def assert_same_on_every_element(root: etree._Element) -> int:
    """Both implementations on the root and on every element below it; returns how many."""
    count = 0
    for element in root.iter():
        if isinstance(element.tag, str):
            native = outcome(native_transform, element)
            assert native == outcome(reference_transform, element), etree.tostring(element)
            count += 1
    return count


def test_the_production_path_is_native_by_default():
    code = ("from signing import smev_transform as s; import signing._smev_native as n; "
            "print(s.implementation(), n.__file__.endswith('.so'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split()
    assert out == ["native", "True"]


def test_conformance_corpus():
    files = sorted(p for p in (ROOT / "conformance").rglob("*.xml"))
    assert len(files) > 100
    elements = 0
    for path in files:
        try:
            root = etree.fromstring(path.read_bytes(), PARSER)
        except etree.XMLSyntaxError:   # the corpus holds deliberately malformed cases
            continue
        elements += assert_same_on_every_element(root)
    assert elements > 1000


def test_seeded_random_corpus():
    assert sum(assert_same_on_every_element(etree.fromstring(source.encode("utf-8"), PARSER))
               for source, _ in corpus()) > 2000


@pytest.mark.parametrize("source", [SCENARIO_1, SCENARIO_2, SCENARIO_3, SCENARIO_4])
def test_methodology_scenarios(source):
    assert_same_on_every_element(etree.fromstring(source.encode("utf-8"), PARSER))


def test_real_smev_message():
    root = etree.parse(str(DATA / "smev3_gost2012_get_response.xml"), PARSER).getroot()
    assert assert_same_on_every_element(root) > 10


@pytest.mark.parametrize("source", [
    b'<a xmlns="relative"><b x="1">t</b></a>',      # libxml2's c14n refuses relative URIs
    b'<!DOCTYPE a [<!ENTITY e "v">]><a xmlns="urn:a">x&e;y</a>',  # an entity reference node
    b'<a xmlns="urn:a">x<?pi d?>&gt;<b/></a>',
    b'<a xmlns="urn:a"><b xmlns="">t</b></a>',
    b'<a xmlns="urn:a" xml:lang="ru" xml:base="x"/>',
])
def test_what_libxml2_c14n_refuses_or_the_client_cannot_sign(source):
    assert_same_on_every_element(etree.fromstring(source, PARSER))


def test_input_that_is_not_c14n_output_is_an_error_not_a_crash():
    for data in (b"", b"<", b"<a", b'<a:b xmlns:a="urn:a" x="1', b"<a:b xmlns:a='urn:a'></a:b>x",
                 b"text", b'<a:b xmlns:a="urn:a">&#xZZ;</a:b>', b"</a>", b"<!-- c -->",
                 b'<a:b xmlns:a="urn:a"></a:b><a:b xmlns:a="urn:a"></a:b>', b"<?p"):
        with pytest.raises(ValueError):
            _smev_native.transform(data)


# ------------------------------------------------------------------ hypothesis-generated trees

# lxml refuses namespace URIs that are not URIs (non-ASCII, '<', '"', spaces)
URIS = ["urn:a", "urn:b", "urn:aa", "urn:B", "http://test/1", "http://test/2",
        "urn://x-artefacts/%D0%B0/1.1", "urn:a&b", "urn:q?x=1;y='2'#f", "relative"]
PREFIXES = [None, "a", "b", "ns1", "ns2", "x", "\u044f"]
LOCALS = ["a", "b", "B", "z", "aa", "Id", "\u0438\u043c\u044f", "\ufb01x", "\U00010000x", "r-1"]
CHARS = st.sampled_from(list("ab ]>&<\"'\t\n\r\x7f\x85\x9f\xa0\u2003\u0416\ufb01")
                        + ["\U0001F600", "\U00010000", "]>", ">>", "]]>"])
TEXT = st.one_of(
    st.none(),
    st.lists(CHARS, max_size=14).map("".join),
    # long blocks: the 12-unit threshold and the 512-unit chunk grid
    st.tuples(st.integers(0, 1030), st.lists(CHARS, max_size=6)).map(
        lambda t: "".join(t[1][:3]) + "x" * t[0] + "".join(t[1][3:])),
)
ATTRIBUTE = st.tuples(st.sampled_from([None, *URIS[:-1], "http://www.w3.org/XML/1998/namespace"]),
                      st.sampled_from(LOCALS), TEXT.map(lambda t: t or ""))


def build(draw, parent, depth=0):
    """One element under ``parent`` (built top-down, so lxml picks collision-free prefixes)."""
    uri = draw(st.sampled_from(URIS + [None] if draw(st.integers(0, 30)) == 0 else URIS))
    nsmap = {}
    for _ in range(draw(st.integers(0, 2))):
        nsmap[draw(st.sampled_from(PREFIXES))] = draw(st.sampled_from(URIS))
    name = f"{{{uri}}}{draw(st.sampled_from(LOCALS))}" if uri else draw(st.sampled_from(LOCALS))
    if not uri:
        nsmap.pop(None, None)
    el = etree.SubElement(parent, name, nsmap=nsmap)
    for auri, local, value in draw(st.lists(ATTRIBUTE, max_size=5)):
        if auri == "http://www.w3.org/XML/1998/namespace" and draw(st.integers(0, 5)):
            continue  # rare: such an element is refused
        el.set(f"{{{auri}}}{local}" if auri else local, value)
    el.text = draw(TEXT)
    if depth < 4:
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.integers(0, 9))
            if kind == 0:
                child = etree.Comment(draw(st.sampled_from(["c", " x ", ""])))
                el.append(child)
            elif kind == 1:
                child = etree.ProcessingInstruction("p", draw(st.sampled_from(["", "d"])))
                el.append(child)
            else:
                child = build(draw, el, depth + 1)
            child.tail = draw(TEXT)
    return el


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_trees(data):
    """Trees built with lxml's API, serialised and parsed again (what the gateway transforms:
    lxml's API can build trees a parser never yields, e.g. with a duplicate attribute after
    prefix reconciliation), compared on every element."""
    wrapper = etree.Element("{urn:w}w", nsmap={"w": "urn:w", "y": "urn:unused"})
    build(data.draw, wrapper)
    root = etree.fromstring(etree.tostring(wrapper, encoding="utf-8"), PARSER)
    assert_same_on_every_element(root)


def test_the_suite_runs_every_transform_on_both():
    """tests/conftest.py puts its checking implementation in for the whole session."""
    from signing import smev_transform as st
    assert st.implementation() == "custom"
    element = etree.fromstring(b'<a xmlns="urn:a"><b>x</b></a>')
    assert st.smev_transform(element) == reference_transform(element)
