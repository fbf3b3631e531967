"""Canonicalization helpers: exclusive/inclusive c14n of a subtree in place, enveloped transform."""
from __future__ import annotations

import copy

import pytest
from lxml import etree

from signing import c14n
from signing.errors import FormatError

DOC = (b'<r xmlns="urn:r" xmlns:a="urn:a" xmlns:b="urn:b" xmlns:u="urn:unused">'
       b'<a:x b:at="1">t<!--c--><y/></a:x>tail</r>')


def test_exclusive_renders_visibly_utilized_namespaces_only():
    x = etree.fromstring(DOC)[0]
    assert c14n.exc_c14n(x) == (b'<a:x xmlns:a="urn:a" xmlns:b="urn:b" b:at="1">t'
                                b'<y xmlns="urn:r"></y></a:x>')
    assert c14n.exc_c14n(x, with_comments=True).count(b"<!--c-->") == 1


def test_inclusive_namespaces_prefix_list():
    x = etree.fromstring(DOC)[0]
    assert b'xmlns:u="urn:unused"' in c14n.exc_c14n(x, ["u"])
    with pytest.raises(FormatError):
        c14n.exc_c14n(x, ["#default"])


def test_inclusive_renders_all_in_scope_namespaces():
    x = etree.fromstring(DOC)[0]
    assert c14n.inclusive_c14n(x).startswith(
        b'<a:x xmlns="urn:r" xmlns:a="urn:a" xmlns:b="urn:b" xmlns:u="urn:unused" b:at="1">')
    for uri in (c14n.C14N_10, c14n.C14N_11):
        assert c14n.canonicalize(x, uri) == c14n.inclusive_c14n(x)
    assert b"<!--c-->" in c14n.canonicalize(x, c14n.C14N_11_WITH_COMMENTS)


def test_inherited_xml_attributes_are_refused_for_inclusive():
    x = etree.fromstring(b'<r xml:lang="ru"><x/></r>')[0]
    with pytest.raises(FormatError):
        c14n.inclusive_c14n(x)
    assert c14n.exc_c14n(x) == b"<x></x>"


def test_unknown_method():
    with pytest.raises(FormatError):
        c14n.canonicalize(etree.fromstring(b"<a/>"), "urn:nope")


def test_prefix_list_parsing():
    method = etree.fromstring(
        f'<m xmlns:ec="{c14n.EXC_C14N}"><ec:InclusiveNamespaces PrefixList=" a  b "/></m>')
    assert c14n.inclusive_prefixes_of(method) == ["a", "b"]
    assert c14n.inclusive_prefixes_of(etree.fromstring(b"<m/>")) == []


def test_enveloped_removes_the_signature_and_keeps_its_tail():
    doc = etree.fromstring(
        b'<t xmlns="urn:t" Id="1">a<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        b'<ds:SignedInfo/></ds:Signature>b<c/></t>')
    signature = doc[0]
    expected = copy.deepcopy(doc)
    expected.text = "ab"
    expected.remove(expected[0])
    before = etree.tostring(doc)
    assert c14n.exc_c14n_enveloped(doc, signature) == c14n.exc_c14n(expected)
    assert etree.tostring(doc) == before
    with pytest.raises(FormatError):
        c14n.exc_c14n_enveloped(doc[1], signature)
