"""Canonicalization of an lxml element in place (no re-parse), plus the enveloped transform.

libxml2 does the work through ``etree.tostring(method="c14n")``: for a subtree lxml builds a
fake root that carries the element's in-scope namespaces, so exclusive c14n renders exactly the
visibly utilized ones and inclusive c14n all in-scope ones, as the specifications require. Two
limits of that route are refused instead of silently producing different bytes:

* ``#default`` in an InclusiveNamespaces PrefixList: libxml2 does not render the default
  namespace on the apex (it should), so a signature made by Santuario/.NET would not verify;
* inclusive c14n (1.0 and 1.1) of a subtree whose ancestors carry ``xml:*`` attributes: the
  specifications inherit them onto the apex (1.1 with xml:base fix-up), libxml2 via lxml does
  not. lxml has no C14N 1.1 mode; without inherited xml:* attributes 1.1 equals 1.0 for a
  subtree, which is the only case accepted.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

from lxml import etree

from signing.errors import FormatError
from signing.ns import DS
from signing.ns import XML as _XML_NS

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_10_WITH_COMMENTS = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
C14N_11_WITH_COMMENTS = "http://www.w3.org/2006/12/xml-c14n11#WithComments"
ENVELOPED_SIGNATURE = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

#: Every canonicalization this module implements, by URI: (exclusive, with_comments).
C14N_METHODS: dict[str, tuple[bool, bool]] = {
    EXC_C14N: (True, False),
    EXC_C14N_WITH_COMMENTS: (True, True),
    C14N_10: (False, False),
    C14N_10_WITH_COMMENTS: (False, True),
    C14N_11: (False, False),
    C14N_11_WITH_COMMENTS: (False, True),
}

_INCLUSIVE_NAMESPACES = f"{{{EXC_C14N}}}InclusiveNamespaces"


def exc_c14n(element: etree._Element, inclusive_prefixes: Sequence[str] = (),
             with_comments: bool = False) -> bytes:
    """Exclusive XML Canonicalization 1.0 of ``element``'s subtree."""
    prefixes = list(inclusive_prefixes) or None
    if prefixes and ("#default" in prefixes or "" in prefixes):
        raise FormatError("InclusiveNamespaces PrefixList '#default' is not supported "
                          "(libxml2 would not render the default namespace on the apex)")
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=with_comments,
                          inclusive_ns_prefixes=prefixes)


def inclusive_c14n(element: etree._Element, with_comments: bool = False) -> bytes:
    """Canonical XML 1.0 (equal to 1.1 here) of ``element``'s subtree; see the module note."""
    for ancestor in element.iterancestors():
        for name in ancestor.attrib:
            if name.startswith(f"{{{_XML_NS}}}"):
                raise FormatError(f"inclusive c14n of a subtree under an ancestor with xml:"
                                  f"{name.split('}')[1]} is not supported")
    return etree.tostring(element, method="c14n", exclusive=False, with_comments=with_comments)


def canonicalize(element: etree._Element, algorithm: str,
                 inclusive_prefixes: Sequence[str] = ()) -> bytes:
    """Canonicalize by algorithm URI; FormatError for a URI this module does not implement."""
    try:
        exclusive, with_comments = C14N_METHODS[algorithm]
    except KeyError:
        raise FormatError(f"unknown canonicalization method {algorithm!r}") from None
    if exclusive:
        return exc_c14n(element, inclusive_prefixes, with_comments)
    if inclusive_prefixes:
        raise FormatError("InclusiveNamespaces is only defined for exclusive c14n")
    return inclusive_c14n(element, with_comments)


def inclusive_prefixes_of(method: etree._Element) -> list[str]:
    """The PrefixList of an ``ec:InclusiveNamespaces`` child of a c14n method/transform element."""
    found = method.findall(_INCLUSIVE_NAMESPACES)
    if not found:
        return []
    if len(found) > 1:
        raise FormatError("more than one InclusiveNamespaces element")
    return (found[0].get("PrefixList") or "").split()


def exc_c14n_enveloped(target: etree._Element, signature: etree._Element,
                       inclusive_prefixes: Sequence[str] = ()) -> bytes:
    """Enveloped-signature transform then exc-c14n: ``target`` without ``signature`` in it.

    The caller's tree is never modified: the subtree is copied (a C-level copy that keeps the
    in-scope namespaces, not a re-parse), the copy's Signature is removed keeping its tail text
    (the transform removes the element node only), and the copy is canonicalized.
    """
    path: list[int] = []
    node = signature
    while node is not target:
        parent = node.getparent()
        if parent is None:
            raise FormatError("enveloped-signature transform: the signature is not inside the "
                              "signed element")
        path.append(parent.index(node))
        node = parent
    clone = copy.deepcopy(target)
    clone.tail = None
    sig = clone
    for index in reversed(path):
        sig = sig[index]
    if sig.tag != f"{{{DS}}}Signature":
        raise FormatError("enveloped-signature transform: internal path mismatch")
    parent = sig.getparent()
    tail = sig.tail
    if tail:
        previous = sig.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(sig)
    return exc_c14n(clone, inclusive_prefixes)


__all__ = [
    "EXC_C14N", "EXC_C14N_WITH_COMMENTS", "C14N_10", "C14N_10_WITH_COMMENTS", "C14N_11",
    "C14N_11_WITH_COMMENTS", "ENVELOPED_SIGNATURE", "C14N_METHODS", "exc_c14n",
    "inclusive_c14n", "canonicalize", "inclusive_prefixes_of", "exc_c14n_enveloped",
]
