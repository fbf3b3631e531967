"""Handlers of licence applications (docs/domains.md).

Consumers apply, supplement and withdraw; the licensing authority (an external provider holding
a ``serve`` permission for LicenceApplication) takes complete applications with GetRequest and
answers with SendResponse: a status (under_review) or a decision (granted: the decision names
the licence to enter in the licence register, a RegisterWrite carried out after the commit;
refused). An incomplete application gets a checklist of the
missing documents and is held back from the authority until a supplement completes it. The
licence kinds and the documents each requires: ``envelopes.payloads.licensing.licence_kinds()``.
"""
from __future__ import annotations

from envelopes.payloads.licensing import (LicenceApplicationStatus, build_licence_application_status,
                                          build_missing_documents_checklist, checklist_for,
                                          licence_kinds, missing_documents, parse_licence_application,
                                          parse_licence_application_status,
                                          parse_licence_application_supplement,
                                          parse_licence_application_withdrawal, parse_licence_decision)
from gateway.domains.authorize import authorize
from gateway.domains.base import Decision, HandlerContext, RegisterWrite
from gateway.domains.licensing.states import MACHINE
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.persist import registration_number

KIND_PREFIX = "licence "


def _status(number: str, state: str):
    return build_licence_application_status(LicenceApplicationStatus(number, state))


def _checklist(number: str, kind: str, present):
    return build_missing_documents_checklist(checklist_for(number, kind, present))


def _application(ctx, inn: str, number: str):
    application = ctx.applications.by_number(number)
    if application is None or not application.kind.startswith(KIND_PREFIX) \
            or application.organisation_inn != inn:
        raise IllegalTransition(f"no licence application {number} of {inn}", code="UNKNOWN_APPLICATION")
    return application


def _original(ctx: HandlerContext, application):
    """The LicenceApplication that opened ``application``, and its MessageID."""
    element, message_id = ctx.applications.payload_of(application)
    return parse_licence_application(element), message_id


def apply(ctx: HandlerContext) -> Decision:
    request = parse_licence_application(ctx.payload)
    inn, kind = request.inn, request.kind
    authorize(ctx, inn, "LICENCE_APPLY", request.power_of_attorney or None)
    if kind not in licence_kinds():
        raise IllegalTransition(f"licence kind {kind} is not known; known: {', '.join(sorted(licence_kinds()))}",
                                code="UNKNOWN_LICENCE_KIND")
    number = registration_number(ctx.now, ctx.message_id)
    present = [d.kind for d in request.documents]
    if missing_documents(kind, present):
        state = MACHINE.next(None, "submit_incomplete")
        return Decision(f"{KIND_PREFIX}{kind}", inn, state, response=_checklist(number, kind, present),
                        forward=False)
    state = MACHINE.next(None, "submit_complete")
    return Decision(f"{KIND_PREFIX}{kind}", inn, state, response=_status(number, state))


def supplement(ctx: HandlerContext) -> Decision:
    request = parse_licence_application_supplement(ctx.payload)
    inn, number = request.inn, request.application_number
    authorize(ctx, inn, "LICENCE_APPLY", request.power_of_attorney or None)
    application = _application(ctx, inn, number)
    original, original_id = _original(ctx, application)
    kind = application.kind[len(KIND_PREFIX):]
    earlier = [parse_licence_application_supplement(e).documents
               for e in ctx.applications.payloads_moving(application, "LicenceApplicationSupplement")]
    present = [d.kind for documents in [original.documents, *earlier, request.documents]
               for d in documents]
    missing = missing_documents(kind, present)
    state = MACHINE.next(application.state, "supplement_incomplete" if missing else "supplement_complete")
    response = _checklist(number, kind, present) if missing else _status(number, state)
    return Decision(application.kind, inn, state, response=response, application_id=application.id,
                    from_state=application.state, forward=False,
                    forward_original=None if missing else original_id)


def withdraw(ctx: HandlerContext) -> Decision:
    request = parse_licence_application_withdrawal(ctx.payload)
    inn, number = request.inn, request.application_number
    authorize(ctx, inn, "LICENCE_WITHDRAW", request.power_of_attorney or None)
    application = _application(ctx, inn, number)
    state = MACHINE.next(application.state, "withdraw")  # refused once decided
    return Decision(application.kind, inn, state, response=_status(number, state),
                    application_id=application.id, from_state=application.state, forward=False)


# -- answers of the licensing authority ------------------------------------------------------

def _answered(ctx: HandlerContext, number: str):
    return ctx.applications.answered(number, KIND_PREFIX, ctx.message_id, "licence application")


def authority_status(ctx: HandlerContext) -> Decision:
    status = parse_licence_application_status(ctx.payload)
    application = _answered(ctx, status.application_number)
    if status.state != "under_review":
        raise IllegalTransition(f"the authority reports state {status.state}; only under_review is a "
                                "status, decisions come as LicenceDecision", code="BAD_STATUS")
    state = MACHINE.next(application.state, "taken_by_authority")
    return Decision(application.kind, application.organisation_inn, state,
                    application_id=application.id, from_state=application.state)


def authority_decision(ctx: HandlerContext) -> Decision:
    decision = parse_licence_decision(ctx.payload)
    number, granted = decision.application_number, decision.granted
    application = _answered(ctx, number)
    state = MACHINE.next(application.state, "granted" if granted is not None else "refused")
    writes = ()
    if granted is not None:
        existing = ctx.registers.licence(granted.licence_number)
        if existing is not None and existing.holder_inn != application.organisation_inn:
            raise IllegalTransition(f"licence number {granted.licence_number} belongs to another holder",
                                    code="LICENCE_NUMBER_TAKEN")
        original, _ = _original(ctx, application)
        record = {"number": granted.licence_number, "holder_inn": application.organisation_inn,
                  "kind": application.kind[len(KIND_PREFIX):], "activity": original.activity,
                  "address": original.addresses[0], "valid_from": granted.valid_from.isoformat(),
                  "valid_until": granted.valid_until.isoformat() if granted.valid_until else None,
                  "application_number": number, "granted_on": ctx.now.date().isoformat()}
        if existing is None:  # entered already: this very grant, repeated
            writes = (RegisterWrite("enter_licence", {"record": record}),)
    return Decision(application.kind, application.organisation_inn, state,
                    application_id=application.id, from_state=application.state, register_writes=writes)
