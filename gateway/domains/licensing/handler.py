"""Handlers of licence applications (docs/domains.md).

Consumers apply, supplement and withdraw; the licensing authority (an external provider holding
a ``serve`` permission for LicenceApplication) takes complete applications with GetRequest and
answers with SendResponse: a status (under_review) or a decision (granted: the licence is
entered in the licence register; refused). An incomplete application gets a checklist of the
missing documents and is held back from the authority until a supplement completes it.
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from lxml import etree

from envelopes import ns
from gateway.domains.authorize import authorize
from gateway.domains.licensing.states import MACHINE
from gateway.pipeline.persist import registration_number
from gateway.domains.base import Decision, HandlerContext
from gateway.domains.statemachine import IllegalTransition

L = ns.LICENSING
KINDS = json.loads((Path(__file__).with_name("kinds.json")).read_text(encoding="utf-8"))
KIND_PREFIX = "licence "


def _t(element, path):
    node = element.find(path, {"l": L})
    return (node.text or "").strip() if node is not None else ""


def _documents(element) -> set[str]:
    return {(d.findtext(ns.q(L, "Kind")) or "").strip() for d in element.findall(ns.q(L, "Document"))}


def _status(number: str, state: str, comment: str | None = None) -> etree._Element:
    status = etree.Element(ns.q(L, "LicenceApplicationStatus"), nsmap={None: L})
    etree.SubElement(status, ns.q(L, "ApplicationNumber")).text = number
    etree.SubElement(status, ns.q(L, "State")).text = state
    if comment:
        etree.SubElement(status, ns.q(L, "Comment")).text = comment
    return status


def _checklist(number: str, kind: str, missing: set[str]) -> etree._Element:
    checklist = etree.Element(ns.q(L, "MissingDocumentsChecklist"), nsmap={None: L})
    etree.SubElement(checklist, ns.q(L, "ApplicationNumber")).text = number
    for code in sorted(missing):
        item = etree.SubElement(checklist, ns.q(L, "MissingDocument"))
        etree.SubElement(item, ns.q(L, "Kind")).text = code
        etree.SubElement(item, ns.q(L, "Description")).text = KINDS[kind]["documents"][code]
    return checklist


def _application(ctx, inn: str, number: str):
    application = ctx.applications.by_number(number)
    if application is None or not application.kind.startswith(KIND_PREFIX) \
            or application.organisation_inn != inn:
        raise IllegalTransition(f"no licence application {number} of {inn}", code="UNKNOWN_APPLICATION")
    return application


def apply(ctx: HandlerContext) -> Decision:
    p = ctx.payload
    inn, kind = _t(p, "l:OrganisationINN"), _t(p, "l:LicenceKind")
    authorize(ctx, inn, "LICENCE_APPLY", _t(p, "l:PowerOfAttorneyNumber") or None)
    if kind not in KINDS:
        raise IllegalTransition(f"licence kind {kind} is not known; known: {', '.join(sorted(KINDS))}",
                                code="UNKNOWN_LICENCE_KIND")
    number = registration_number(ctx.now, ctx.message_id)
    missing = set(KINDS[kind]["documents"]) - _documents(p)
    if missing:
        state = MACHINE.next(None, "submit_incomplete")
        return Decision(f"{KIND_PREFIX}{kind}", inn, state, response=_checklist(number, kind, missing),
                        forward=False)
    state = MACHINE.next(None, "submit_complete")
    return Decision(f"{KIND_PREFIX}{kind}", inn, state, response=_status(number, state))


def supplement(ctx: HandlerContext) -> Decision:
    p = ctx.payload
    inn, number = _t(p, "l:OrganisationINN"), _t(p, "l:ApplicationNumber")
    authorize(ctx, inn, "LICENCE_APPLY", _t(p, "l:PowerOfAttorneyNumber") or None)
    application = _application(ctx, inn, number)
    original, original_id = ctx.applications.payload_of(application)
    kind = application.kind[len(KIND_PREFIX):]
    missing = set(KINDS[kind]["documents"]) - _documents(original) - _documents(p)
    event = "supplement_incomplete" if missing else "supplement_complete"
    state = MACHINE.next(application.state, event)
    response = _checklist(number, kind, missing) if missing else _status(number, state)
    return Decision(application.kind, inn, state, response=response, application_id=application.id,
                    from_state=application.state, forward=False,
                    forward_original=None if missing else original_id)


def withdraw(ctx: HandlerContext) -> Decision:
    p = ctx.payload
    inn, number = _t(p, "l:OrganisationINN"), _t(p, "l:ApplicationNumber")
    authorize(ctx, inn, "LICENCE_WITHDRAW", _t(p, "l:PowerOfAttorneyNumber") or None)
    application = _application(ctx, inn, number)
    state = MACHINE.next(application.state, "withdraw")  # refused once decided
    return Decision(application.kind, inn, state, response=_status(number, state),
                    application_id=application.id, from_state=application.state, forward=False)


# -- answers of the licensing authority ------------------------------------------------------

def _answered(ctx: HandlerContext):
    number = _t(ctx.payload, "l:ApplicationNumber")
    return number, ctx.applications.answered(number, KIND_PREFIX, ctx.message_id, "licence application")


def authority_status(ctx: HandlerContext) -> Decision:
    number, application = _answered(ctx)
    wanted = _t(ctx.payload, "l:State")
    if wanted != "under_review":
        raise IllegalTransition(f"the authority reports state {wanted}; only under_review is a "
                                "status, decisions come as LicenceDecision", code="BAD_STATUS")
    state = MACHINE.next(application.state, "taken_by_authority")
    return Decision(application.kind, application.organisation_inn, state,
                    application_id=application.id, from_state=application.state)


def authority_decision(ctx: HandlerContext) -> Decision:
    number, application = _answered(ctx)
    granted = ctx.payload.find(ns.q(L, "Granted"))
    state = MACHINE.next(application.state, "granted" if granted is not None else "refused")
    if granted is not None:
        original, _ = ctx.applications.payload_of(application)
        record = {"number": _t(granted, "l:LicenceNumber"), "holder_inn": application.organisation_inn,
                  "kind": application.kind[len(KIND_PREFIX):], "activity": _t(original, "l:Activity"),
                  "address": _t(original, "l:Address"), "valid_from": _t(granted, "l:ValidFrom"),
                  "valid_until": _t(granted, "l:ValidUntil") or None,
                  "application_number": number, "granted_on": date.today().isoformat()}
        existing = ctx.registers.licence(record["number"]) if not ctx.registers.enter_licence(record) else None
        if existing is not None and existing.holder_inn != application.organisation_inn:
            raise IllegalTransition(f"licence number {record['number']} belongs to another holder",
                                    code="LICENCE_NUMBER_TAKEN")
    return Decision(application.kind, application.organisation_inn, state,
                    application_id=application.id, from_state=application.state)
