"""envelopes.tree's look-ups answer exactly what lxml's find/findtext answer for a Clark name."""
import pytest
from lxml import etree

from envelopes.tree import Children, child, child_text

DOC = etree.fromstring(
    b'<a xmlns="urn:x" xmlns:y="urn:y"><!-- c --><?pi x?><b>one</b><b>two</b><c/>'
    b'<y:b>other ns</y:b><d><b>nested</b></d><e>text<f/>tail</e><g></g></a>')


@pytest.mark.parametrize("tag", ["{urn:x}b", "{urn:y}b", "{urn:x}c", "{urn:x}d", "{urn:x}e",
                                 "{urn:x}f", "{urn:x}g", "{urn:x}missing", "b", "{urn:z}b"])
def test_the_same_as_find_and_findtext(tag):
    assert child(DOC, tag) is DOC.find(tag)
    assert child_text(DOC, tag) == DOC.findtext(tag)


@pytest.mark.parametrize("tag", ["{urn:x}b", "{urn:y}b", "{urn:x}c", "{urn:x}d", "{urn:x}e",
                                 "{urn:x}f", "{urn:x}g", "{urn:x}missing", "b", "{urn:z}b"])
def test_children_read_in_one_pass_answer_the_same(tag):
    for parent in (DOC, DOC.find("{urn:x}e"), DOC.find("{urn:x}c")):
        children = Children(parent)
        assert children.child(tag) is child(parent, tag)
        assert children.text(tag) == child_text(parent, tag)
