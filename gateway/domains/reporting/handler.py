"""Handler of report submissions (docs/domains.md).

Accepted reports get a receipt (квитанция) with a control code, the time of receipt and the
deadline, flagged late after it; refused ones a notice with error codes. The content is
validated against its report kind's XSD (from the pipeline's schemas, ``ctx.schemas``). Correction n+1 supersedes correction n (both moves in
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

from envelopes.payloads.reporting import (REPORT_KINDS, ReportError, ReportReceipt, ReportRefusal,
                                          build_report_receipt, build_report_refusal,
                                          parse_report_processed, parse_report_refusal,
                                          parse_report_submission, submission_content)
from gateway.domains.authorize import authorize
from gateway.domains.base import Decision, HandlerContext
from gateway.domains.reporting.states import MACHINE
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.persist import registration_number

LIVE = ("accepted", "processed")


def deadline(year: int, period: str) -> date:
    """When a report for the period is due: 30 days after a quarter, 31 March for the year."""
    return {"21": date(year, 4, 30), "31": date(year, 7, 30), "33": date(year, 10, 30),
            "34": date(year + 1, 3, 31)}[period]


def submit(ctx: HandlerContext) -> Decision:
    report = parse_report_submission(ctx.payload)
    inn, kind, year, period, correction = (report.inn, report.kind, report.year, report.period,
                                           report.correction)
    authorize(ctx, inn, "REPORTS_SUBMIT", report.power_of_attorney or None)
    key = f"report {kind} {year}-{period} #"
    errors: list[ReportError] = []
    if year >= date.max.year:  # xs:gYear has no upper bound; the deadline needs the next year
        errors.append(ReportError("YEAR_OUT_OF_RANGE", f"no report period ends in the year {year}"))
    entity = ctx.registers.legal_entity(inn)
    if entity is not None and entity.status != "active":
        errors.append(ReportError("ORGANISATION_NOT_ACTIVE", f"the organisation is {entity.status} in ЕГРЮЛ"))
    if entity is not None and entity.kpp != report.kpp:
        errors.append(ReportError("KPP_MISMATCH", f"КПП {report.kpp} is not {entity.kpp} as in ЕГРЮЛ"))
    content = submission_content(ctx.payload)  # where it sits: the XSD's findings name its place
    expected = REPORT_KINDS.get(kind)
    if expected is None:
        errors.append(ReportError("UNKNOWN_REPORT_KIND", f"report kind {kind} is not accepted; known: "
                                                         f"{', '.join(sorted(REPORT_KINDS))}"))
    elif content.tag != f"{{{expected.namespace}}}{expected.root}":
        errors.append(ReportError("WRONG_CONTENT",
                                  f"a {kind} report holds {{{expected.namespace}}}{expected.root}"))
    else:
        for issue in ctx.schemas.get(expected.xsd).errors(content):
            errors.append(ReportError("CONTENT_INVALID", f"{issue.xpath}: {issue.description}",
                                      issue.xpath))

    chain = [a for a in ctx.applications.of_kind(inn, key) if a.state in LIVE]
    current = max((int(a.kind.rsplit("#", 1)[1]) for a in chain), default=None)
    moves = ()
    if correction == 0 and current is not None:
        errors.append(ReportError("DUPLICATE", f"this report was already accepted "
                                               f"({chain[-1].registration_number}); send correction "
                                               f"{current + 1}"))
    elif correction > 0 and current != correction - 1:
        errors.append(ReportError("CORRECTION_OUT_OF_SEQUENCE",
                                  f"correction {correction} needs correction {correction - 1} accepted "
                                  "first" if current is None else f"the next correction is {current + 1}"))
    elif correction > 0:
        previous = next(a for a in chain if a.kind == f"{key}{current}")
        moves = ((previous.id, previous.state, MACHINE.next(previous.state, "superseded")),)

    state = MACHINE.next(None, "submit")
    if errors:
        state = MACHINE.next(state, "checks_failed")
        return Decision(f"{key}{correction}", inn, state,
                        response=build_report_refusal(ReportRefusal(tuple(errors))), forward=False)
    state = MACHINE.next(state, "checks_passed")
    number = registration_number(ctx.now, ctx.message_id)
    due = deadline(year, period)  # year < date.max.year: checked above
    control = hashlib.sha256(f"{number}|{inn}|{kind}|{year}|{period}|{correction}".encode()).hexdigest()
    receipt = ReportReceipt(number, control[:16].upper(), ctx.now, due, ctx.now.date() > due, correction,
                            previous.registration_number if moves else None)
    return Decision(f"{key}{correction}", inn, state, response=build_report_receipt(receipt),
                    also_moves=moves)


# -- answers of the tax authority ------------------------------------------------------------

def _answered(ctx: HandlerContext, number: str | None):
    """The accepted report an answer names, which must be the one the answered request opened."""
    if not number:
        raise IllegalTransition("the provider's answer must name the report's RegistrationNumber",
                                code="REGISTRATION_NUMBER_REQUIRED")
    return ctx.applications.answered(number, "report ", ctx.message_id, "report")


def provider_processed(ctx: HandlerContext) -> Decision:
    report = _answered(ctx, parse_report_processed(ctx.payload).registration_number)
    state = MACHINE.next(report.state, "processed")  # only an accepted report
    return Decision(report.kind, report.organisation_inn, state, application_id=report.id,
                    from_state=report.state)


def provider_refused(ctx: HandlerContext) -> Decision:
    report = _answered(ctx, parse_report_refusal(ctx.payload).registration_number)
    state = MACHINE.next(report.state, "provider_refused")
    return Decision(report.kind, report.organisation_inn, state, application_id=report.id,
                    from_state=report.state)
