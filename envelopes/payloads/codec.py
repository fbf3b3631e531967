"""One entry point over every payload: :func:`build` picks the builder by the dataclass's type,
:func:`parse` picks the parser by the element's root (Clark name). The rows are declared by the
payload modules themselves (:mod:`envelopes.payloads._declare`)."""
from __future__ import annotations

from typing import Any, Callable

from lxml import etree

from envelopes.payloads._declare import discover
from envelopes.payloads._xml import PayloadError

#: dataclass type → (root Clark name, builder, parser), merged from every payload module's
#: declared codec rows (``PAYLOADS.codecs``)
CODECS: dict[type, tuple[str, Callable[[Any], etree._Element], Callable[[etree._Element], Any]]] = {
    c.type: (c.root, c.build, c.parse) for m in discover() for c in m.codecs}

_PARSERS = {root: parser for root, _, parser in CODECS.values()}


def build(payload: Any) -> etree._Element:
    try:
        return CODECS[type(payload)][1](payload)
    except KeyError:
        raise TypeError(f"no payload builder for {type(payload).__name__}") from None


def parse(element: etree._Element) -> Any:
    try:
        parser = _PARSERS[element.tag]
    except KeyError:
        raise PayloadError(etree.QName(element).localname, "not a known payload root") from None
    return parser(element)
