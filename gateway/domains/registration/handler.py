"""Handlers of organisation registration (docs/domains.md).

A registration request is checked against the legal-entity register (ЕГРЮЛ): every field that
differs is reported (field, XPath, submitted, register, rule) and the organisation is
``rejected``; otherwise it is ``verified``. The head then confirms with a request signed by
the head (the signer's ИНН is the register's head) and the organisation becomes ``active``.
The register is read before the transaction; if it is down the request fails as a retryable
SMEVFailure and nothing is written.
"""
from __future__ import annotations

from envelopes.payloads.registration import (FIELD_XPATHS, Mismatch, RegistrationResult,
                                              build_registration_result, parse_head_confirmation,
                                              parse_organisation_registration, parse_status_change)
from envelopes.payloads.schemas import field_node
from gateway.domains.authorize import authorize
from gateway.domains.base import Decision, HandlerContext
from gateway.domains.registration.states import MACHINE
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.validate import readable_xpath

KIND = "organisation-registration"


def _normal(value: str) -> str:
    return " ".join(value.replace("«", '"').replace("»", '"').split()).casefold()


def _result(inn: str, state: str, mismatches=(), number: str | None = None):
    return build_registration_result(RegistrationResult(inn, state, number, tuple(mismatches)))


def register_organisation(ctx: HandlerContext) -> Decision:
    org = parse_organisation_registration(ctx.payload)
    state = MACHINE.next(None, "submit")
    entity = ctx.registers.legal_entity(org.inn)

    def at(field: str) -> str:
        return readable_xpath(field_node(ctx.payload, FIELD_XPATHS[field]))

    if entity is not None:  # about an existing organisation: only its head, or by its power
        authorize(ctx, org.inn, "REGISTRATION_CHANGE", org.power_of_attorney or None)
    mismatches = []
    if entity is None:
        mismatches.append(Mismatch("ИНН", at("inn"), org.inn, "", "no legal entity with this ИНН in ЕГРЮЛ"))
    else:
        for name, field, submitted, register, normal in (
                ("ОГРН", "ogrn", org.ogrn, entity.ogrn, str), ("КПП", "kpp", org.kpp, entity.kpp, str),
                ("полное наименование", "full_name", org.full_name, entity.full_name, _normal),
                ("ИНН руководителя", "head.inn", org.head.inn, entity.head.inn, str),
                ("фамилия руководителя", "head.last_name", org.head.last_name, entity.head.last_name,
                 _normal)):
            if normal(submitted) != normal(register):
                mismatches.append(Mismatch(name, at(field), submitted, register,
                                           f"must equal the {name} in ЕГРЮЛ"))
        if entity.status != "active":
            mismatches.append(Mismatch("статус", at("inn"), org.inn, entity.status,
                                       "the organisation must be active in ЕГРЮЛ"))
    if mismatches:
        state = MACHINE.next(state, "register_mismatch")
        return Decision(KIND, org.inn, state, response=_result(org.inn, state, mismatches))
    state = MACHINE.next(state, "register_matches")
    return Decision(KIND, org.inn, state, response=_result(org.inn, state))


def _registration(ctx: HandlerContext, inn: str, number: str):
    application = ctx.applications.by_number(number)
    if application is None or application.kind != KIND or application.organisation_inn != inn:
        raise IllegalTransition(f"no registration {number} of the organisation {inn}",
                                code="UNKNOWN_APPLICATION")
    return application


def change_status(ctx: HandlerContext) -> Decision:
    """suspend / resume / close, along the transition table (anything else is refused)."""
    change = parse_status_change(ctx.payload)
    authorize(ctx, change.inn, "REGISTRATION_CHANGE", change.power_of_attorney or None)
    application = _registration(ctx, change.inn, change.registration_number)
    state = MACHINE.next(application.state, change.action)
    return Decision(KIND, change.inn, state,
                    response=_result(change.inn, state, number=change.registration_number),
                    application_id=application.id, from_state=application.state)


def confirm_head(ctx: HandlerContext) -> Decision:
    confirmation = parse_head_confirmation(ctx.payload)
    inn, head_inn, number = confirmation.inn, confirmation.head_inn, confirmation.registration_number
    application = _registration(ctx, inn, number)
    entity = ctx.registers.legal_entity(inn)
    reasons = []
    if entity is None or entity.head.inn != head_inn:
        reasons.append(("ИНН руководителя", "the head's ИНН is not the head in ЕГРЮЛ"))
    if getattr(ctx.acting_person, "inn", None) != head_inn:
        reasons.append(("подпись", "the confirmation must be signed by the head "
                                   f"(the signer's ИНН is {getattr(ctx.acting_person, 'inn', None)})"))
    if reasons:
        mismatches = [Mismatch(field, readable_xpath(ctx.payload), head_inn,
                               entity.head.inn if entity else "", rule) for field, rule in reasons]
        return Decision(KIND, inn, application.state,
                        response=_result(inn, application.state, mismatches, number),
                        application_id=application.id, from_state=application.state)
    state = MACHINE.next(application.state, "head_confirmed")  # refuses unless verified
    return Decision(KIND, inn, state, response=_result(inn, state, number=number),
                    application_id=application.id, from_state=application.state)
