"""envelopes.payloads._xml.Fields answers exactly what the look-up functions beside it answer:
the same children, texts and errors, from one pass over the children."""
import pytest
from lxml import etree

from envelopes.payloads import _xml as x

DOC = etree.fromstring(
    b'<a xmlns="urn:x" xmlns:y="urn:y"><!-- c --><?pi x?><y:b>other ns</y:b><b> one </b>'
    b'<b>two</b><c/><d><b>nested</b></d><e>text<f/>tail</e><g></g><h>  </h></a>')
PLAIN = etree.fromstring(b'<a><b>one</b><y:b xmlns:y="urn:y">other</y:b><c/><!-- c --><b>2</b></a>')
NAMES = ["b", "c", "d", "e", "f", "g", "h", "missing", "y:b"]  # local names, as the parsers pass


def _outcome(call):
    try:
        return "ok", call()
    except x.PayloadError as exc:
        return "error", (exc.field, str(exc))


@pytest.mark.parametrize("element", [DOC, PLAIN, DOC.find("{urn:x}d"), DOC.find("{urn:x}e")])
@pytest.mark.parametrize("local", NAMES)
def test_the_same_as_the_look_up_functions(element, local):
    fields = x.Fields(element)
    assert fields.child(local) is x.child(element, local)
    for method in ("need", "text", "text_opt", "texts", "children"):
        assert _outcome(lambda: getattr(fields, method)(local)) == \
            _outcome(lambda: getattr(x, method)(element, local)), method
    assert _outcome(lambda: fields.fields(local).element) == \
        _outcome(lambda: x.need(element, local))


def test_the_first_of_several_and_only_the_element_namespace():
    fields = x.Fields(DOC)
    assert fields.text("b") == "one" and fields.texts("b") == ("one", "two")
    assert fields.fields("d").text("b") == "nested"
    assert x.Fields(PLAIN).texts("b") == ("one", "2")
