"""Validate one document the way the gateway would, without sending it anywhere.

A SOAP envelope is checked against the message-exchange XSD, then its business payload against
the XSD of the payload's namespace, the identifier checksums and the report-kind rules; a signed
envelope also has its signature (and, unless told not to, the signer's certificate path)
verified. A bare business payload is found by its root element. The same stages and codes as
``gateway/pipeline/stages.py``: a problem here is the fault the gateway would answer with.

Nothing is stored and nothing is sent; the only outside call is revocation (CRL/OCSP) when the
certificate path is checked with revocation on.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable

from lxml import etree

from envelopes import ns
from envelopes.payloads.descriptors import REPORT_KINDS
from envelopes.payloads.identifiers import IDENTIFIERS
from envelopes.payloads.ns import REPORTING, SCHEMA_FILES
from gateway import faults
from gateway.exchange.operations import operations
from gateway.pipeline.parse import as_utf8, parse_envelope
from gateway.pipeline.stages import TYPES_XSD
from gateway.pipeline.validate import Schema, SchemaSet, readable_xpath
from gateway.pipeline.validate.fields import field_rule_issues
from gateway.pipeline.verify import Verifier
from signing.errors import SignatureError
from signing.xmldsig import verify_detached

T, B, DS = ns.SMEV_TYPES, ns.SMEV_BASIC, ns.DS
_OPERATIONS = operations()


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong, with the gateway's code and the fault element it would answer with."""

    code: str
    message: str
    fault: str  # the SMEV fault element (InvalidContent, SignatureVerificationFault, …)
    xpath: str | None = None
    line: int | None = None
    column: int | None = None
    rule: str | None = None  # the identifier rule (inn_legal_entity, ogrn, …) of a FIELD_RULE

    def as_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclasses.dataclass
class FileReport:
    """What was found in one document."""

    name: str
    kind: str = "unknown"  # envelope | payload | unknown
    root: str | None = None  # Clark name of the business payload's root, when there is one
    schemas: list[str] = dataclasses.field(default_factory=list)  # the XSDs it was checked against
    signed: bool = False
    signature: str | None = None  # VALID | NOT_CHECKED (no signature) | the fault code
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"file": self.name, "valid": self.valid, "kind": self.kind, "root": self.root,
                "schemas": self.schemas, "signed": self.signed, "signature": self.signature,
                "problems": [p.as_dict() for p in self.problems]}


def _parser() -> etree.XMLParser:
    # the settings of gateway/pipeline/parse.py: no DTD, entities, network, PIs or comments
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_pis=True, remove_comments=True,
                           collect_ids=False, strip_cdata=True)


_PARSER = _parser()


class Validator:
    """Reusable across documents and threads: the XSDs are loaded once (``SchemaSet``).

    ``verifier`` checks signatures with the certificate path (trust anchors, revocation); None
    checks the signature alone (``--no-trust``). ``schema`` forces one XSD for bare payloads.
    ``require_signature``: an unsigned envelope is a problem (``NO_SIGNATURE``), as at the
    gateway."""

    def __init__(self, schemas: SchemaSet | None = None, verifier: Verifier | None = None, *,
                 schema: Path | None = None, require_signature: bool = False):
        self.schemas = schemas or SchemaSet()
        self.verifier = verifier
        self.forced = Schema(Path(schema)) if schema is not None else None
        self.forced_name = Path(schema).name if schema is not None else None
        self.require_signature = require_signature

    def validate(self, data: bytes, name: str = "-") -> FileReport:
        report = FileReport(name)
        try:
            envelope = parse_envelope(data)
        except faults.VersionMismatch:
            self._bare(as_utf8(data), report)  # not SOAP: a business payload on its own
            return report
        except faults.GatewayFault as fault:
            report.problems.extend(_from_fault(fault))
            return report
        report.kind = "envelope"
        self._envelope(envelope.body_child, data, report)
        return report

    # -- a bare business payload ------------------------------------------------------------

    def _bare(self, data: bytes, report: FileReport) -> None:
        try:
            root = etree.fromstring(data, _PARSER)
        except etree.XMLSyntaxError as exc:
            line, column = exc.position if exc.position else (None, None)
            report.problems.append(Problem("MALFORMED_XML", f"not well-formed XML: {exc.msg}",
                                           "InvalidContent", None, line, column))
            return
        report.kind = "payload"
        self._payload(root, data, report)

    # -- an envelope --------------------------------------------------------------------------

    def _envelope(self, request: etree._Element, raw: bytes, report: FileReport) -> None:
        operation = _OPERATIONS.get(request.tag)
        if operation is None:
            report.problems.append(Problem(
                "UNKNOWN_OPERATION", f"{request.tag} is not one of the seven SMEV operations",
                "InvalidContent", readable_xpath(request), request.sourceline))
            return
        report.schemas.append(TYPES_XSD)
        report.problems.extend(_issues(self.schemas.get(TYPES_XSD).errors(request, raw), "InvalidContent"))
        signed = request.find(operation.signed)
        self._signature(request, signed, report)
        if signed is None:
            return
        content = signed.find(ns.q(B, "MessagePrimaryContent"))
        if content is None:
            return  # a read operation, or a SendResponse with a status: no business payload
        business = [c for c in content if isinstance(c.tag, str)]
        if len(business) != 1:
            report.problems.append(Problem(
                "XSD_VIOLATION", "MessagePrimaryContent must hold exactly one business element",
                "InvalidContent", readable_xpath(content), content.sourceline))
            return
        self._personal_signature(signed, business[0], report)
        self._payload(business[0], raw, report, in_envelope=True)

    def _signature(self, request, signed, report: FileReport) -> None:
        holder = request.find(ns.q(T, "CallerInformationSystemSignature"))
        found = [c for c in holder if isinstance(c.tag, str)] if holder is not None else []
        if not found:
            report.signature = "NOT_CHECKED"
            if self.require_signature:
                report.problems.append(Problem(
                    "NO_SIGNATURE", "the request is not signed: CallerInformationSystemSignature/"
                    "ds:Signature is missing", "SignatureVerificationFault"))
            return
        report.signed = True
        if len(found) > 1 or found[0].tag != ns.q(DS, "Signature"):
            problem = Problem("FORMAT_FAILURE", "CallerInformationSystemSignature must hold exactly "
                              "one ds:Signature", "SignatureVerificationFault",
                              readable_xpath(holder), holder.sourceline)
        elif signed is None:
            return  # the XSD has already said the signed element is missing
        else:
            problem = self._verify(found[0], signed)
        report.signature = problem.code if problem else "VALID"
        if problem:
            report.problems.append(problem)

    def _personal_signature(self, signed, payload, report: FileReport) -> None:
        holder = signed.find(ns.q(T, "PersonalSignature"))  # inside the signed element (stages.py)
        if holder is None:
            return
        found = [c for c in holder if isinstance(c.tag, str)]
        if len(found) != 1 or found[0].tag != ns.q(DS, "Signature"):
            report.problems.append(Problem("FORMAT_FAILURE", "PersonalSignature must hold exactly "
                                           "one ds:Signature", "SignatureVerificationFault",
                                           readable_xpath(holder), holder.sourceline))
            return
        problem = self._verify(found[0], payload)
        if problem:
            report.problems.append(dataclasses.replace(problem, message="PersonalSignature: " + problem.message))

    def _verify(self, signature, target) -> Problem | None:
        where = readable_xpath(signature)
        try:
            if self.verifier is not None:
                self.verifier.verify(signature, target)
            else:
                verified = verify_detached(signature, target)
                if verified.element is not target:
                    return Problem("REFERENCE_FAILURE", "the signature does not cover the "
                                   "processed element", "SignatureVerificationFault", where)
        except faults.GatewayFault as fault:
            return Problem(fault.code, fault.description, fault.element, where, signature.sourceline)
        except SignatureError as exc:
            return Problem(exc.code, f"TOTAL-FAILED/{exc.code}: {exc.message}",
                           "SignatureVerificationFault", where, signature.sourceline)
        except (ValueError, TypeError, UnicodeError, OverflowError) as exc:
            return Problem("FORMAT_FAILURE", f"the signature or a certificate does not decode "
                           f"({type(exc).__name__})", "SignatureVerificationFault", where,
                           signature.sourceline)
        return None

    # -- the business payload -----------------------------------------------------------------

    def _payload(self, payload: etree._Element, raw: bytes, report: FileReport,
                 in_envelope: bool = False) -> None:
        report.root = payload.tag
        namespace = etree.QName(payload).namespace or ""
        if self.forced is not None and not in_envelope:
            schema, filename = self.forced, self.forced_name
        elif namespace in SCHEMA_FILES:
            filename = SCHEMA_FILES[namespace]
            schema = self.schemas.get(filename)
        else:
            if not in_envelope:  # an envelope may carry any provider's business type
                report.problems.append(Problem(
                    "NO_SCHEMA", f"no XSD in xsd/ defines {{{namespace}}}"
                    f"{etree.QName(payload).localname}; name one with --schema",
                    "BusinessDataTypeIsNotSupported", readable_xpath(payload), payload.sourceline))
            return
        report.schemas.append(filename)
        issues = schema.errors(payload, raw)
        if issues:  # as at the gateway: the checksums are checked on an XSD-valid payload
            report.problems.extend(_issues(issues, "InvalidContent"))
            return
        rules = {f.name: f.rule for f in IDENTIFIERS.get(payload.tag, ())}
        for issue in field_rule_issues(payload, raw):
            report.problems.append(Problem(issue.code, issue.description, "InvalidContent",
                                           issue.xpath, issue.line, issue.column,
                                           rules.get(issue.description.split(":", 1)[0])))
        if payload.tag == ns.q(REPORTING, "ReportSubmission"):
            self._report_content(payload, raw, report)

    def _report_content(self, payload, raw: bytes, report: FileReport) -> None:
        """The content against its report kind, as gateway/domains/reporting/handler.py judges it
        (the gateway answers these with a ReportRefusal, not a fault)."""
        kind = (payload.findtext(ns.q(REPORTING, "ReportKind")) or "").strip()
        holder = payload.find(ns.q(REPORTING, "Content"))
        content = [c for c in holder if isinstance(c.tag, str)][0]
        expected = REPORT_KINDS.get(kind)
        where = readable_xpath(content)
        if expected is None:
            report.problems.append(Problem(
                "UNKNOWN_REPORT_KIND", f"report kind {kind} is not accepted; known: "
                f"{', '.join(sorted(REPORT_KINDS))}", "ReportRefusal",
                readable_xpath(payload.find(ns.q(REPORTING, "ReportKind"))), content.sourceline))
        elif content.tag != f"{{{expected.namespace}}}{expected.root}":
            report.problems.append(Problem(
                "WRONG_CONTENT", f"a {kind} report holds {{{expected.namespace}}}{expected.root}",
                "ReportRefusal", where, content.sourceline))
        else:
            report.schemas.append(expected.xsd)
            report.problems.extend(dataclasses.replace(p, code="CONTENT_INVALID", fault="ReportRefusal")
                                   for p in _issues(self.schemas.get(expected.xsd).errors(content, raw), ""))


def _issues(issues: Iterable[faults.ValidationIssue], fault: str) -> list[Problem]:
    return [Problem(i.code, i.description, fault, i.xpath, i.line, i.column) for i in issues]


def _from_fault(fault: faults.GatewayFault) -> list[Problem]:
    if fault.issues:
        return [Problem(fault.code, i.description, fault.element, i.xpath, i.line, i.column)
                for i in fault.issues]
    return [Problem(fault.code, fault.description, fault.element)]
