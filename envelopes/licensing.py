"""Payload builders for licence applications (xsd/licensing-1.0.xsd)."""
from __future__ import annotations

import hashlib

from lxml import etree

from envelopes import ns

L = ns.LICENSING


def _sub(parent, tag, text=None):
    element = etree.SubElement(parent, ns.q(L, tag))
    if text is not None:
        element.text = text
    return element


def _document(parent, kind: str, file_name: str, data: bytes) -> None:
    doc = _sub(parent, "Document")
    _sub(doc, "Kind", kind)
    _sub(doc, "FileName", file_name)
    _sub(doc, "SHA256", hashlib.sha256(data).hexdigest())


def application(inn: str, kind: str, activity: str, addresses: list[str],
                documents: dict[str, bytes], power_of_attorney: str | None = None) -> etree._Element:
    root = etree.Element(ns.q(L, "LicenceApplication"), nsmap={None: L})
    _sub(root, "OrganisationINN", inn)
    _sub(root, "LicenceKind", kind)
    _sub(root, "Activity", activity)
    for address in addresses:
        _sub(root, "Address", address)
    if power_of_attorney:
        _sub(root, "PowerOfAttorneyNumber", power_of_attorney)
    for doc_kind, data in documents.items():
        _document(root, doc_kind, f"{doc_kind.lower()}.pdf", data)
    return root


def supplement(inn: str, number: str, documents: dict[str, bytes]) -> etree._Element:
    root = etree.Element(ns.q(L, "LicenceApplicationSupplement"), nsmap={None: L})
    _sub(root, "OrganisationINN", inn)
    _sub(root, "ApplicationNumber", number)
    for doc_kind, data in documents.items():
        _document(root, doc_kind, f"{doc_kind.lower()}.pdf", data)
    return root


def withdrawal(inn: str, number: str, reason: str) -> etree._Element:
    root = etree.Element(ns.q(L, "LicenceApplicationWithdrawal"), nsmap={None: L})
    _sub(root, "OrganisationINN", inn)
    _sub(root, "ApplicationNumber", number)
    _sub(root, "Reason", reason)
    return root


def status(number: str, state: str, comment: str | None = None) -> etree._Element:
    root = etree.Element(ns.q(L, "LicenceApplicationStatus"), nsmap={None: L})
    _sub(root, "ApplicationNumber", number)
    _sub(root, "State", state)
    if comment:
        _sub(root, "Comment", comment)
    return root


def decision_granted(number: str, licence_number: str, valid_from: str) -> etree._Element:
    root = etree.Element(ns.q(L, "LicenceDecision"), nsmap={None: L})
    _sub(root, "ApplicationNumber", number)
    granted = _sub(root, "Granted")
    _sub(granted, "LicenceNumber", licence_number)
    _sub(granted, "ValidFrom", valid_from)
    return root
