"""Handler of report submissions (DOMAIN.md §2).

Accepted reports get a receipt (квитанция) with a control code, the time of receipt and the
deadline, flagged late after it; refused ones a notice with error codes. The content is
validated against its report kind's XSD. Correction n+1 supersedes correction n (both moves in
one transaction); a second submission of an accepted report, or a correction out of sequence,
is refused.

Accepted reports go on to the tax authority (an external provider holding a ``serve``
permission for ReportSubmission), which takes them with GetRequest and answers with
SendResponse: ``ReportProcessed`` (accepted → processed) or ``ReportRefusal`` naming the report
(accepted → refused). Refused reports are never forwarded.
"""
from __future__ import annotations

import hashlib
from datetime import date

from lxml import etree

from envelopes import ns
from envelopes.payloads.reporting import REPORT_KINDS
from gateway.domains.authorize import authorize
from gateway.pipeline.persist import registration_number
from gateway.domains.reporting.states import MACHINE
from gateway.domains.base import Decision, HandlerContext
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.validate import SchemaSet

R = ns.REPORTING
_SCHEMAS = SchemaSet()
LIVE = ("accepted", "processed")


def deadline(year: int, period: str) -> date:
    """When a report for the period is due: 30 days after a quarter, 31 March for the year."""
    return {"21": date(year, 4, 30), "31": date(year, 7, 30), "33": date(year, 10, 30),
            "34": date(year + 1, 3, 31)}[period]


def _t(element, path):
    node = element.find(path, {"r": R})
    return (node.text or "").strip() if node is not None else ""


def _refusal(errors) -> etree._Element:
    notice = etree.Element(ns.q(R, "ReportRefusal"), nsmap={None: R})
    for code, description in errors:
        error = etree.SubElement(notice, ns.q(R, "Error"))
        etree.SubElement(error, ns.q(R, "Code")).text = code
        etree.SubElement(error, ns.q(R, "Description")).text = description
    return notice


def submit(ctx: HandlerContext) -> Decision:
    p = ctx.payload
    inn, kind = _t(p, "r:OrganisationINN"), _t(p, "r:ReportKind")
    year, period, correction = int(_t(p, "r:Year")), _t(p, "r:Period"), int(_t(p, "r:CorrectionNumber"))
    authorize(ctx, inn, "REPORTS_SUBMIT", _t(p, "r:PowerOfAttorneyNumber") or None)
    key = f"report {kind} {year}-{period} #"
    errors = []
    entity = ctx.registers.legal_entity(inn)
    if entity is not None and entity.status != "active":
        errors.append(("ORGANISATION_NOT_ACTIVE", f"the organisation is {entity.status} in ЕГРЮЛ"))
    if entity is not None and entity.kpp != _t(p, "r:KPP"):
        errors.append(("KPP_MISMATCH", f"КПП {_t(p, 'r:KPP')} is not {entity.kpp} as in ЕГРЮЛ"))
    content = [c for c in p.find(ns.q(R, "Content")) if isinstance(c.tag, str)][0]
    expected = REPORT_KINDS.get(kind)
    if expected is None:
        errors.append(("UNKNOWN_REPORT_KIND", f"report kind {kind} is not accepted; known: "
                                              f"{', '.join(sorted(REPORT_KINDS))}"))
    elif etree.QName(content).namespace != expected.namespace or etree.QName(content).localname != expected.root:
        errors.append(("WRONG_CONTENT", f"a {kind} report holds {{{expected.namespace}}}{expected.root}"))
    else:
        for issue in _SCHEMAS.get(expected.xsd).errors(content):
            errors.append(("CONTENT_INVALID", f"{issue.xpath}: {issue.description}"))

    chain = [a for a in ctx.applications.of_kind(inn, key) if a.state in LIVE]
    current = max((int(a.kind.rsplit("#", 1)[1]) for a in chain), default=None)
    moves = ()
    if correction == 0 and current is not None:
        errors.append(("DUPLICATE", f"this report was already accepted "
                                    f"({chain[-1].registration_number}); send correction {current + 1}"))
    elif correction > 0 and current != correction - 1:
        errors.append(("CORRECTION_OUT_OF_SEQUENCE",
                       f"correction {correction} needs correction {correction - 1} accepted first"
                       if current is None else f"the next correction is {current + 1}"))
    elif correction > 0:
        previous = next(a for a in chain if a.kind == f"{key}{current}")
        moves = ((previous.id, previous.state, MACHINE.next(previous.state, "superseded")),)

    state = MACHINE.next(None, "submit")
    if errors:
        state = MACHINE.next(state, "checks_failed")
        return Decision(f"{key}{correction}", inn, state, response=_refusal(errors), forward=False)
    state = MACHINE.next(state, "checks_passed")
    number = registration_number(ctx.now, ctx.message_id)
    due = deadline(year, period)
    control = hashlib.sha256(f"{number}|{inn}|{kind}|{year}|{period}|{correction}".encode()).hexdigest()
    receipt = etree.Element(ns.q(R, "ReportReceipt"), nsmap={None: R})
    for tag, value in (("RegistrationNumber", number), ("ControlCode", control[:16].upper()),
                       ("ReceivedAt", ctx.now.isoformat()), ("Deadline", due.isoformat()),
                       ("Late", "true" if ctx.now.date() > due else "false"),
                       ("CorrectionNumber", str(correction))):
        etree.SubElement(receipt, ns.q(R, tag)).text = value
    if moves:
        etree.SubElement(receipt, ns.q(R, "Supersedes")).text = previous.registration_number
    return Decision(f"{key}{correction}", inn, state, response=receipt, also_moves=moves)


# -- answers of the tax authority ------------------------------------------------------------

def _answered(ctx: HandlerContext):
    """The accepted report an answer names, which must be the one the answered request opened."""
    number = _t(ctx.payload, "r:RegistrationNumber")
    if not number:
        raise IllegalTransition("the provider's answer must name the report's RegistrationNumber",
                                code="REGISTRATION_NUMBER_REQUIRED")
    return ctx.applications.answered(number, "report ", ctx.message_id, "report")


def provider_processed(ctx: HandlerContext) -> Decision:
    report = _answered(ctx)
    state = MACHINE.next(report.state, "processed")  # only an accepted report
    return Decision(report.kind, report.organisation_inn, state, application_id=report.id,
                    from_state=report.state)


def provider_refused(ctx: HandlerContext) -> Decision:
    report = _answered(ctx)
    state = MACHINE.next(report.state, "provider_refused")
    return Decision(report.kind, report.organisation_inn, state, application_id=report.id,
                    from_state=report.state)
