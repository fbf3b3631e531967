"""Showing stored XML to a person: pretty-printed, with the element a signature covers marked, and
the certificate path of the signer as the trust store would build it."""
from __future__ import annotations

import base64
import dataclasses
import re
from datetime import datetime
from html import escape
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID
from lxml import etree
from markupsafe import Markup

from envelopes import ns

DS = ns.DS
MAX_SHOWN = 1 << 20  # bytes of XML shown on a page; the rest is cut (the journal keeps it all)
_START, _END = "console-signed-start", "console-signed-end"
# the marker processing instructions as escaped and indented by the pretty printer
_START_MARK = re.compile(rf"&lt;\?{_START} ?\?&gt;\n[ ]*")
_END_MARK = re.compile(rf"\n[ ]*&lt;\?{_END} ?\?&gt;")


def _parser() -> etree.XMLParser:
    # as gateway/pipeline/parse.py: no DTD, no entities, no network
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_blank_text=True)


def parse(data: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None


def signatures(root: etree._Element) -> list[etree._Element]:
    """The ds:Signature elements, the caller's (CallerInformationSystemSignature) first."""
    found = root.findall(f".//{{{DS}}}Signature")
    return sorted(found, key=lambda s: 0 if etree.QName(s.getparent()).localname ==
                  "CallerInformationSystemSignature" else 1)


def signed_element(root: etree._Element) -> etree._Element | None:
    """The element the first (caller's) signature references by ``#Id``."""
    for signature in signatures(root):
        reference = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
        uri = reference.get("URI", "") if reference is not None else ""
        if not uri.startswith("#"):
            continue
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            if any(etree.QName(name).localname.lower() == "id" and value == uri[1:]
                   for name, value in element.attrib.items()):
                return element
    return None


def pretty(data: bytes) -> Markup:
    """The document indented and escaped for a <pre>, the signed element inside
    <mark class="signed">; bytes that do not parse are shown as text."""
    root = parse(data[:MAX_SHOWN]) if len(data) <= MAX_SHOWN else None
    if root is None:
        return Markup(escape(data[:MAX_SHOWN].decode("utf-8", "replace")))
    target = signed_element(root)
    if target is not None:
        target.addprevious(etree.ProcessingInstruction(_START))
        target.addnext(etree.ProcessingInstruction(_END))
    text = etree.tostring(root.getroottree(), pretty_print=True, encoding="unicode")
    text = _START_MARK.sub('<mark class="signed">', escape(text))
    return Markup(_END_MARK.sub("</mark>", text))


@dataclasses.dataclass(frozen=True)
class Link:
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    role: str  # signer | intermediate | anchor
    revocation: tuple[str, ...]  # OCSP responders and CRL distribution points it names


def _revocation(cert: x509.Certificate) -> tuple[str, ...]:
    found = []
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
        found += [f"OCSP {d.access_location.value}" for d in aia
                  if d.access_method == AuthorityInformationAccessOID.OCSP]
    except x509.ExtensionNotFound:
        pass
    try:
        points = cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
        found += [f"CRL {name.value}" for point in points for name in (point.full_name or ())]
    except x509.ExtensionNotFound:
        pass
    return tuple(found)


def _load_dir(directory: Path) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for path in sorted(directory.glob("*.pem")) if directory.is_dir() else []:
        try:
            certs.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        except ValueError:
            continue
    return certs


def certificate_path(root: etree._Element | None, trust_dir: Path) -> list[Link]:
    """Signer first, trust anchor last: the certificates the caller's signature carries, followed
    up by issuer through them and the gateway's trust store (anchors/, intermediates/)."""
    if root is None:
        return []
    found = signatures(root)
    if not found:
        return []
    carried = []
    for element in found[0].iter(f"{{{DS}}}X509Certificate"):
        try:
            carried.append(x509.load_der_x509_certificate(base64.b64decode("".join((element.text or "").split()))))
        except ValueError:
            continue
    if not carried:
        return []
    issuers = {c.issuer for c in carried if c.issuer != c.subject}
    leaf = next((c for c in carried if c.subject not in issuers), carried[0])
    anchors = _load_dir(trust_dir / "anchors")
    pool = carried + _load_dir(trust_dir / "intermediates") + anchors
    path, current = [leaf], leaf
    while current.issuer != current.subject and len(path) < 10:
        parent = next((c for c in pool if c.subject == current.issuer and c not in path), None)
        if parent is None:
            break
        path.append(parent)
        current = parent
    links = []
    for index, cert in enumerate(path):
        anchor = cert in anchors and cert.issuer == cert.subject
        role = "signer" if index == 0 else "anchor" if anchor else "intermediate"
        links.append(Link(cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(),
                          format(cert.serial_number, "x"), cert.not_valid_before_utc,
                          cert.not_valid_after_utc, role, () if anchor else _revocation(cert)))
    return links


def certificate_dates(pem: str) -> tuple[datetime, datetime] | None:
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return None
    return cert.not_valid_before_utc, cert.not_valid_after_utc
