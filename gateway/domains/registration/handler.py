"""Handlers of organisation registration (docs/domains.md).

A registration request is checked against the legal-entity register (ЕГРЮЛ): every field that
differs is reported (field, XPath, submitted, register, rule) and the organisation is
``rejected``; otherwise it is ``verified``. The head then confirms with a request signed by
the head (the signer's ИНН is the register's head) and the organisation becomes ``active``.
The register is read before the transaction; if it is down the request fails as a retryable
SMEVFailure and nothing is written.
"""
from __future__ import annotations

from lxml import etree

from envelopes import ns
from gateway.domains.authorize import authorize
from gateway.domains.registration.states import MACHINE
from gateway.domains.base import Decision, HandlerContext
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.validate import readable_xpath

R = ns.REGISTRATION
KIND = "organisation-registration"


def _text(payload: etree._Element, path: str) -> str:
    node = payload.find(path, {"r": R})
    return (node.text or "").strip() if node is not None else ""


def _normal(value: str) -> str:
    return " ".join(value.replace("«", '"').replace("»", '"').split()).casefold()


def _result(inn: str, state: str, mismatches=(), number: str | None = None) -> etree._Element:
    result = etree.Element(ns.q(R, "RegistrationResult"), nsmap={None: R})
    etree.SubElement(result, ns.q(R, "INN")).text = inn
    etree.SubElement(result, ns.q(R, "State")).text = state
    if number:
        etree.SubElement(result, ns.q(R, "RegistrationNumber")).text = number
    for field, xpath, submitted, register, rule in mismatches:
        item = etree.SubElement(result, ns.q(R, "Mismatch"))
        for tag, value in (("Field", field), ("XPath", xpath), ("Submitted", submitted),
                           ("Register", register), ("Rule", rule)):
            etree.SubElement(item, ns.q(R, tag)).text = value
    return result


def register_organisation(ctx: HandlerContext) -> Decision:
    payload = ctx.payload
    inn = _text(payload, "r:INN")
    state = MACHINE.next(None, "submit")
    entity = ctx.registers.legal_entity(inn)

    def at(path):
        return readable_xpath(payload.find(path, {"r": R}))

    if entity is not None:  # about an existing organisation: only its head, or by its power
        authorize(ctx, inn, "REGISTRATION_CHANGE", _text(payload, "r:PowerOfAttorneyNumber") or None)
    mismatches = []
    if entity is None:
        mismatches.append(("ИНН", at("r:INN"), inn, "", "no legal entity with this ИНН in ЕГРЮЛ"))
    else:
        for field, path, register, normal in (
                ("ОГРН", "r:OGRN", entity.ogrn, str), ("КПП", "r:KPP", entity.kpp, str),
                ("полное наименование", "r:FullName", entity.full_name, _normal),
                ("ИНН руководителя", "r:Head/r:INN", entity.head.inn, str),
                ("фамилия руководителя", "r:Head/r:LastName", entity.head.last_name, _normal)):
            submitted = _text(payload, path)
            if normal(submitted) != normal(register):
                mismatches.append((field, at(path), submitted, register,
                                   f"must equal the {field} in ЕГРЮЛ"))
        if entity.status != "active":
            mismatches.append(("статус", at("r:INN"), inn, entity.status,
                               "the organisation must be active in ЕГРЮЛ"))
    if mismatches:
        state = MACHINE.next(state, "register_mismatch")
        return Decision(KIND, inn, state, response=_result(inn, state, mismatches))
    state = MACHINE.next(state, "register_matches")
    return Decision(KIND, inn, state, response=_result(inn, state))


def change_status(ctx: HandlerContext) -> Decision:
    """suspend / resume / close, along the transition table (anything else is refused)."""
    payload = ctx.payload
    inn, number = _text(payload, "r:INN"), _text(payload, "r:RegistrationNumber")
    authorize(ctx, inn, "REGISTRATION_CHANGE", _text(payload, "r:PowerOfAttorneyNumber") or None)
    application = ctx.applications.by_number(number)
    if application is None or application.kind != KIND or application.organisation_inn != inn:
        raise IllegalTransition(f"no registration {number} of the organisation {inn}",
                                code="UNKNOWN_APPLICATION")
    state = MACHINE.next(application.state, _text(payload, "r:Action"))
    return Decision(KIND, inn, state, response=_result(inn, state, number=number),
                    application_id=application.id, from_state=application.state)


def confirm_head(ctx: HandlerContext) -> Decision:
    payload = ctx.payload
    inn, head_inn = _text(payload, "r:INN"), _text(payload, "r:HeadINN")
    number = _text(payload, "r:RegistrationNumber")
    application = ctx.applications.by_number(number)
    if application is None or application.kind != KIND or application.organisation_inn != inn:
        raise IllegalTransition(f"no registration {number} of the organisation {inn}",
                                code="UNKNOWN_APPLICATION")
    entity = ctx.registers.legal_entity(inn)
    reasons = []
    if entity is None or entity.head.inn != head_inn:
        reasons.append(("ИНН руководителя", "the head's ИНН is not the head in ЕГРЮЛ"))
    if getattr(ctx.acting_person, "inn", None) != head_inn:
        reasons.append(("подпись", "the confirmation must be signed by the head "
                                   f"(the signer's ИНН is {getattr(ctx.acting_person, 'inn', None)})"))
    if reasons:
        mismatches = [(field, readable_xpath(payload), head_inn, entity.head.inn if entity else "",
                       rule) for field, rule in reasons]
        return Decision(KIND, inn, application.state,
                        response=_result(inn, application.state, mismatches, number),
                        application_id=application.id, from_state=application.state)
    state = MACHINE.next(application.state, "head_confirmed")  # refuses unless verified
    return Decision(KIND, inn, state, response=_result(inn, state, number=number),
                    application_id=application.id, from_state=application.state)
