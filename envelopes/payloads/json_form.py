"""The JSON form of every business payload, derived from its dataclass (no second model).

REST clients submit the same requests as SOAP clients, as JSON (docs/integration.md, «REST and
JSON»). Rather than a hand-written JSON schema per payload, which would drift from the XSDs, the
JSON form is read off the typed dataclasses of this package: field names as in Python, dates as
ISO 8601 strings, tuples as arrays, optional fields may be left out; a report's content (bytes of
canonical XML in the dataclass) is an object named after its root (``{"Balance": {...}}``) or
the XML as a string. :func:`from_json` is strict — an unknown or missing field, a wrong type or a
value outside a ``Literal`` raises :class:`PayloadError` naming the field's path — so what reaches
the codec's builder is a dataclass a Python client could have built. The XSD and the field rules
then judge the XML, exactly as for SOAP.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import date, datetime
from typing import Any

from lxml import etree

from envelopes.payloads._xml import PayloadError

MAX_DEPTH = 12  # the deepest payload (EMCHD document) is 5 levels; more is not a payload


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _codecs():
    from envelopes.payloads.codec import CODECS
    return CODECS


def roots() -> dict[str, type]:
    """Local name of every payload root → its dataclass (local names are unique across domains)."""
    return {etree.QName(root).localname: cls for cls, (root, _, _) in _codecs().items()}


def to_json(value: Any) -> Any:
    """A payload dataclass (or any value inside one) as JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) is not None}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bytes):  # report content: its typed form when a codec knows the root
        from envelopes.payloads import codec
        element = etree.fromstring(value, etree.XMLParser(resolve_entities=False, no_network=True))
        try:
            return {etree.QName(element).localname: to_json(codec.parse(element))}
        except (PayloadError, TypeError):
            return value.decode("utf-8")
    return value


def from_json(cls: type, data: Any, path: str = "payload") -> Any:
    """``data`` (parsed JSON) as an instance of the dataclass ``cls``; strict."""
    return _convert(cls, data, path, 0)


def _convert(kind: Any, data: Any, path: str, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise PayloadError(path, "nested too deeply")
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if data is None:
            if type(None) in options:
                return None
            raise PayloadError(path, "must not be null")
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, data, path, depth + 1)
            except PayloadError as exc:
                errors.append(exc)
        raise errors[0] if len(errors) == 1 else PayloadError(
            path, "matches none of its forms: " + "; ".join(str(e) for e in errors))
    if origin is typing.Literal:
        allowed = typing.get_args(kind)
        if data not in allowed or isinstance(data, bool):
            raise PayloadError(path, f"must be one of {', '.join(map(str, allowed))}")
        return data
    if origin is tuple:
        args = typing.get_args(kind)
        if not isinstance(data, list):
            raise PayloadError(path, "must be an array")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{path}[{i}]", depth + 1) for i, v in enumerate(data))
        if len(data) != len(args):
            raise PayloadError(path, f"must be an array of {len(args)} items")
        return tuple(_convert(a, v, f"{path}[{i}]", depth + 1)
                     for i, (a, v) in enumerate(zip(args, data)))
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind, data, path, depth)
    if data is None:
        raise PayloadError(path, "must not be null")
    if kind is bool:
        if not isinstance(data, bool):
            raise PayloadError(path, "must be true or false")
        return data
    if kind is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise PayloadError(path, "must be an integer")
        return data
    if kind is str:
        if not isinstance(data, str):
            raise PayloadError(path, "must be a string")
        return data
    if kind is datetime or kind is date:
        if not isinstance(data, str):
            raise PayloadError(path, f"must be an ISO 8601 {kind.__name__} string")
        try:
            return kind.fromisoformat(data) if kind is datetime else date.fromisoformat(data)
        except ValueError:
            raise PayloadError(path, f"is not an ISO 8601 {kind.__name__}") from None
    if kind is bytes:
        return _content(data, path, depth)
    raise PayloadError(path, f"has a type the JSON form does not support ({kind!r})")


def _dataclass(cls: type, data: Any, path: str, depth: int) -> Any:
    if not isinstance(data, dict):
        raise PayloadError(path, "must be an object")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise PayloadError(f"{path}.{unknown[0]}", f"is not a field of {cls.__name__}")
    hints = _hints(cls)
    values = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                optional = type(None) in typing.get_args(hints[name])
                if not optional:
                    raise PayloadError(f"{path}.{name}", "is missing")
                values[name] = None
            continue
        values[name] = _convert(hints[name], data[name], f"{path}.{name}", depth + 1)
    return cls(**values)


def _content(data: Any, path: str, depth: int) -> bytes:
    """A report's content: ``{"Balance": {...}}`` built by its codec, or XML text."""
    from envelopes.payloads import codec
    from envelopes.payloads.reporting import canonical

    if isinstance(data, str):
        try:
            element = etree.fromstring(data.encode("utf-8"), etree.XMLParser(
                resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False))
        except etree.XMLSyntaxError as exc:
            raise PayloadError(path, f"is not well-formed XML: {exc}") from None
        return canonical(element)
    if not isinstance(data, dict) or len(data) != 1:
        raise PayloadError(path, 'must be one object named after its root ({"Balance": {...}}) '
                                 "or the content's XML as a string")
    [(name, value)] = data.items()
    cls = roots().get(name)
    if cls is None:
        raise PayloadError(f"{path}.{name}", "is not a known payload root")
    return canonical(codec.build(_dataclass(cls, value, f"{path}.{name}", depth + 1)))
