"""The SMEV 3 normalising transform ``urn://smev-gov-ru/xmldsig/transform``, on the lxml tree.

The reference behaviour is the official SMEV 3 client (``SmevTransformSpi``: a StAX event loop
writing through Woodstox) as codified in the methodical recommendations 3.5.0.27; every rule
below, and why, is in docs/smev-transform.md. In short:

* namespace prefixes become ``ns1``, ``ns2``, ... from ONE counter for the whole transformed
  element (a namespace declared in a closed sibling subtree gets a new number when used again);
  a namespace is declared on the first output element that uses it unless an output ancestor
  declared it; unused declarations vanish;
* attributes: qualified ones first (by namespace URI, then local name), unqualified ones after
  (by local name); declarations before attributes: the element's own namespace first, then the
  attributes' namespaces in sorted-attribute order;
* comments and processing instructions vanish; a text block that is only XML whitespace vanishes;
  empty elements are written as start tag + end tag;
* escaping is Woodstox's: text ``&`` ``<`` CR and U+007F..U+009F always, ``>`` only at the start
  of a block or after ``]`` (blocks under 12 UTF-16 units) or at the start of each 512-unit chunk,
  after ``]`` or right after another escaped character (longer blocks); attribute values and
  namespace URIs ``&`` ``<`` ``"`` TAB LF CR.

The signing chain is exc-c14n then this transform, so the transform sees the element's infoset:
CDATA is plain text, comments are gone (text around a comment is ONE block), processing
instructions survive c14n and so split text into separate blocks. Working on the parsed tree
gives the same bytes without serialising and re-parsing.

Two implementations of the same transform (docs/smev-transform.md, «Native implementation»):

* ``native_transform`` (the default, the production path): libxml2's exc-c14n of the element,
  then the C extension ``signing._smev_native`` rewrites those bytes. Built by ``make install``
  (setup.py); when it is missing the import fails loudly, there is no silent fallback.
* ``reference_transform``: this module's pure Python on the lxml tree, the reference the
  differential tests compare the native one against. ``use("reference")`` (or the gateway's
  ``GATEWAY_SMEV_TRANSFORM=reference``) selects it for debugging.
"""
from __future__ import annotations

import functools
import re

from lxml import etree

from signing import _smev_native  # built by `make install`; no silent fallback to the reference

from signing.errors import SmevTransformError
from signing.ns import SMEV_TRANSFORM as ALGORITHM
from signing.ns import XML as _XML_NS

_XML_WS = " \t\n\r"  # Java String.trim() on XML text: the only chars <= U+0020 XML allows

_Comment = etree.Comment
_PI = etree.ProcessingInstruction
_Entity = etree.Entity

# Woodstox BufferingXmlWriter: text characters written as entities (besides '>').
_TEXT_ESCAPES = {"&": "&amp;", "<": "&lt;", "\r": "&#xd;"}
_TEXT_ESCAPES.update({chr(c): f"&#x{c:x};" for c in range(0x7F, 0xA0)})
_TEXT_TABLE = str.maketrans(_TEXT_ESCAPES)
# Woodstox writeAttrValue (double-quoted): '>' and C1 controls stay as they are.
_ATTR_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;",
                             "\n": "&#xa;", "\r": "&#xd;"})
# Whether a text or value holds any character the tables above change. ``translate`` looks each
# character of a non-ASCII string up in its dict (a Cyrillic name costs ~30 ns a character);
# this scan runs in the regex engine's C loop, and most texts need no escaping at all.
_TEXT_SPECIAL = re.compile("[&<\r\x7f-\x9f]")
_ATTR_SPECIAL = re.compile('[&<"\t\n\r]')

_SMALL_BLOCK = 12     # Woodstox BaseStreamWriter.MIN_ARRAYCOPY
_CHUNK = 512          # Woodstox BaseStreamWriter.DEFAULT_COPYBUFFER_LEN


def escape_attribute(value: str) -> str:
    """Attribute value (or namespace URI) escaped as the SMEV client's StAX writer does."""
    return value.translate(_ATTR_TABLE) if _ATTR_SPECIAL.search(value) else value


def escape_text(text: str) -> str:
    """One text block escaped as the SMEV client's StAX writer (Woodstox) does."""
    if ">" not in text:
        return text.translate(_TEXT_TABLE) if _TEXT_SPECIAL.search(text) else text
    return _escape_text_with_gt(text)


def escape_texts(texts: list[str]) -> list[str]:
    """``escape_text`` of each of ``texts`` (none may hold NUL, which XML cannot hold): one
    ``translate`` over them all when none holds a '>' (whose escaping depends on where it sits
    in its block), which is what a receipt's dozen short texts almost always are."""
    joined = "\x00".join(texts)
    if ">" in joined or not texts:
        return [escape_text(text) for text in texts]
    if _TEXT_SPECIAL.search(joined) is None:
        return list(texts)
    return joined.translate(_TEXT_TABLE).split("\x00")


def _utf16_units(text: str):
    """Index by UTF-16 code unit, as Java does: an astral char is itself plus an empty unit."""
    units: list[str] = []
    for ch in text:
        units.append(ch)
        if ch > "\uffff":
            units.append("")
    return units


_SMALL_SPECIAL = re.compile("[&<>\r\x7f-\x9f]")
_LARGE_SPECIAL = re.compile("[&<\r\x7f-\x9f]|>+")
_RUN_BREAKERS = frozenset("]&<\r" + "".join(chr(c) for c in range(0x7F, 0xA0)))


def _escape_text_with_gt(text: str) -> str:
    if max(text) > "\uffff":
        return _escape_units(_utf16_units(text))
    if len(text) < _SMALL_BLOCK:
        # writeCharacters(String): '>' escaped when first in the block or right after ']'
        def small(m, text=text):
            ch = m.group()
            if ch != ">":
                return _TEXT_ESCAPES[ch]
            i = m.start()
            return "&gt;" if i == 0 or text[i - 1] == "]" else ">"
        return _SMALL_SPECIAL.sub(small, text)
    # writeCharacters(char[]) per 512-unit chunk: '>' escaped when first in the current run
    # (a run restarts after every escaped character) or right after ']'; so a sequence of '>'
    # is escaped whole or not at all, decided by the character before it.
    out = []
    for base in range(0, len(text), _CHUNK):
        chunk = text[base:base + _CHUNK]

        def large(m, chunk=chunk):
            s = m.group()
            if s[0] != ">":
                return _TEXT_ESCAPES[s]
            i = m.start()
            return "&gt;" * len(s) if i == 0 or chunk[i - 1] in _RUN_BREAKERS else s
        out.append(_LARGE_SPECIAL.sub(large, chunk))
    return "".join(out)


def _escape_units(units: list[str]) -> str:
    """Character-by-character Woodstox emulation over UTF-16 units (texts with astral chars)."""
    n = len(units)
    out: list[str] = []
    esc = _TEXT_ESCAPES.get
    if n < _SMALL_BLOCK:
        for i in range(n):
            ch = units[i]
            if ch == ">":
                out.append("&gt;" if i == 0 or units[i - 1] == "]" else ">")
            else:
                out.append(esc(ch, ch))
        return "".join(out)
    for base in range(0, n, _CHUNK):
        chunk = units[base:base + _CHUNK]
        run = 0
        for i in range(len(chunk)):
            ch = chunk[i]
            if ch == ">":
                if i == run or chunk[i - 1] == "]":
                    out.append("&gt;")
                    run = i + 1
                else:
                    out.append(">")
            else:
                rep = esc(ch)
                if rep is None:
                    out.append(ch)
                else:
                    out.append(rep)
                    run = i + 1
    return "".join(out)


def _attr_sort_key(ascii_only: bool):
    """Java String.compareTo order (UTF-16 units): str order when all names are ASCII."""
    def units(s: str):
        return s if ascii_only else s.encode("utf-16-be")

    def key(item):
        name = item[0]
        if name[0] == "{":
            uri, _, local = name[1:].partition("}")
            return (0, units(uri), units(local))
        return (1, units(""), units(name))
    return key


_ASCII_KEY = _attr_sort_key(True)
_UTF16_KEY = _attr_sort_key(False)


def reference_transform(element: etree._Element) -> bytes:
    """Apply ``urn://smev-gov-ru/xmldsig/transform`` to ``element`` (and its subtree): UTF-8 bytes.

    Raises SmevTransformError for content the official client cannot transform: an element in
    no namespace, an attribute in the ``xml:`` namespace, an unexpanded entity reference.
    """
    if not isinstance(element, etree._Element) or not isinstance(element.tag, str):
        raise SmevTransformError("the SMEV transform applies to an element")
    parts: list[str] = []
    append = parts.append
    scope: dict[str, str] = {}   # namespace URI -> prefix declared by an output ancestor
    names: dict[str, tuple] = {}  # Clark name -> (uri, local), per call: names repeat a lot
    counter = 0
    ws = _XML_WS
    table = _TEXT_TABLE
    atable = _ATTR_TABLE

    def split(name: str) -> tuple:
        if name[0] != "{":
            raise SmevTransformError(
                f"element <{name}> has no namespace; the SMEV transform (and the official "
                f"SMEV 3 client) supports qualified elements only")
        uri, _, local = name[1:].partition("}")
        if uri == _XML_NS:
            raise SmevTransformError(
                f"attribute xml:{local}: the official SMEV 3 client cannot rebind the xml "
                f"namespace, so such content cannot be signed")
        names[name] = pair = (uri, local)
        return pair

    def walk(el):
        nonlocal counter
        tag = el.tag
        uri, local = names.get(tag) or split(tag)
        declared = None
        prefix = scope.get(uri)
        if prefix is None:
            counter += 1
            prefix = scope[uri] = f"ns{counter}"
            declared = [uri]
        qname = f"{prefix}:{local}"
        items = el.items()
        if items:
            if len(items) > 1:
                items.sort(key=_ASCII_KEY if all([n.isascii() for n, _ in items]) else _UTF16_KEY)
            chunks = []
            for name, value in items:
                if name[0] == "{":
                    auri, alocal = names.get(name) or split(name)
                    aprefix = scope.get(auri)
                    if aprefix is None:
                        counter += 1
                        aprefix = scope[auri] = f"ns{counter}"
                        if declared is None:
                            declared = [auri]
                        else:
                            declared.append(auri)
                    chunks.append(f' {aprefix}:{alocal}="{value.translate(atable)}"')
                else:
                    chunks.append(f' {name}="{value.translate(atable)}"')
            attr_out = "".join(chunks)
        else:
            attr_out = ""
        if declared is None:
            append(f"<{qname}{attr_out}>")
        else:
            decl = "".join([f' xmlns:{scope[u]}="{u.translate(atable)}"' for u in declared])
            append(f"<{qname}{decl}{attr_out}>")
        pending = el.text
        for child in el:
            ctag = child.tag
            if ctag.__class__ is str:
                if pending and pending.strip(ws):
                    append(pending.translate(table) if ">" not in pending
                           else _escape_text_with_gt(pending))
                walk(child)
                pending = child.tail
            elif ctag is _Comment:  # removed by c14n: the text around it is one block
                tail = child.tail
                if tail:
                    pending = pending + tail if pending else tail
            elif ctag is _PI:     # kept by c14n, dropped here: it ends a text block
                if pending and pending.strip(ws):
                    append(escape_text(pending))
                pending = child.tail
            else:
                raise SmevTransformError(f"unexpanded entity reference in <{local}>")
        if pending and pending.strip(ws):
            append(pending.translate(table) if ">" not in pending
                   else _escape_text_with_gt(pending))
        append(f"</{qname}>")
        if declared is not None:
            for u in declared:
                del scope[u]

    try:
        walk(element)
    except RecursionError:
        raise SmevTransformError("element nesting too deep for the SMEV transform") from None
    finally:
        # ``walk`` calls itself through its closure cell: a reference cycle, left to the
        # garbage collector with everything it refers to, unless the cell lets go of it
        walk = None
    return "".join(parts).encode("utf-8")


_exc_c14n = functools.partial(etree.tostring, method="c14n", exclusive=True, with_comments=False)


def native_transform(element: etree._Element) -> bytes:
    """The same transform as ``reference_transform``: C over libxml2's exc-c14n of ``element``.

    libxml2's c14n refuses two things the reference handles itself: a relative namespace URI
    (which it transforms) and an entity reference node (which it refuses); those elements go to
    the reference, so both implementations answer alike on every element.
    """
    return _native(element)[1]


def _native(element: etree._Element) -> tuple[bytes | None, bytes]:
    """``native_transform``'s exc-c14n of ``element`` (None when libxml2 refused it and the
    reference transformed the element) and its result."""
    if not isinstance(element, etree._Element) or not isinstance(element.tag, str):
        raise SmevTransformError("the SMEV transform applies to an element")
    try:
        data = _exc_c14n(element)
    except etree.C14NError:
        return None, reference_transform(element)
    try:
        return data, _smev_native.transform(data)
    except ValueError as exc:
        if exc.args and exc.args[0] == "refuse":
            raise SmevTransformError(exc.args[1]) from None
        raise


#: an implementation may carry ``and_c14n``: the same transform, returning also the exc-c14n
#: it started from (:func:`smev_transform_and_c14n`)
native_transform.and_c14n = _native  # type: ignore[attr-defined]

IMPLEMENTATIONS = {"native": native_transform, "reference": reference_transform}
_selected = native_transform


def use(implementation: str) -> None:
    """Select the transform for the whole process: "native" (default) or "reference"."""
    global _selected
    try:
        _selected = IMPLEMENTATIONS[implementation]
    except KeyError:
        raise ValueError(f"SMEV transform implementation must be one of "
                         f"{', '.join(IMPLEMENTATIONS)}, not {implementation!r}") from None


def implementation() -> str:
    """The name of the selected implementation ("custom": one the test suite put in)."""
    return next((name for name, f in IMPLEMENTATIONS.items() if f is _selected), "custom")


def smev_transform(element: etree._Element) -> bytes:
    """Apply the SMEV transform to ``element`` with the selected implementation: UTF-8 bytes.

    Raises SmevTransformError for content the official client cannot transform: an element in
    no namespace, an attribute in the ``xml:`` namespace, an unexpanded entity reference.
    """
    return _selected(element)


def smev_transform_and_c14n(element: etree._Element) -> tuple[bytes | None, bytes]:
    """``smev_transform(element)``, with the exclusive c14n of ``element`` (no prefix list, no
    comments) when the selected implementation made it on the way (the native one does; None
    otherwise): a verifier hands it on, so its caller need not canonicalize the element again."""
    both = getattr(_selected, "and_c14n", None)
    return both(element) if both is not None else (None, _selected(element))


__all__ = ["ALGORITHM", "smev_transform", "smev_transform_and_c14n", "native_transform",
           "reference_transform", "use", "implementation", "escape_text", "escape_attribute"]
