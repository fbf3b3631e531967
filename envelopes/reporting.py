"""Payload builder for report submissions (xsd/reporting-1.0.xsd) with a BALANCE report."""
from __future__ import annotations

from lxml import etree

from envelopes import ns

R, BAL = ns.REPORTING, ns.REPORT_BALANCE


def balance(non_current: int, current: int, equity: int, liabilities: int) -> etree._Element:
    root = etree.Element(ns.q(BAL, "Balance"), nsmap={None: BAL})
    for tag, value in (("NonCurrentAssets", non_current), ("CurrentAssets", current),
                       ("Equity", equity), ("Liabilities", liabilities)):
        etree.SubElement(root, ns.q(BAL, tag)).text = str(value)
    return root


def submission(inn: str, kpp: str, year: int, period: str, content: etree._Element, *,
               kind: str = "BALANCE", correction: int = 0,
               power_of_attorney: str | None = None) -> etree._Element:
    root = etree.Element(ns.q(R, "ReportSubmission"), nsmap={None: R})
    for tag, value in (("OrganisationINN", inn), ("KPP", kpp), ("ReportKind", kind),
                       ("Year", str(year)), ("Period", period), ("CorrectionNumber", str(correction))):
        etree.SubElement(root, ns.q(R, tag)).text = value
    if power_of_attorney:
        etree.SubElement(root, ns.q(R, "PowerOfAttorneyNumber")).text = power_of_attorney
    etree.SubElement(root, ns.q(R, "Content")).append(content)
    return root
