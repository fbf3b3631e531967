"""Handlers of a change of details (docs/domains.md).

A ``DetailsChangeRequest`` (by the head, or with a power of attorney granting DETAILS_CHANGE) is
checked against ЕГРЮЛ and the persons register: the organisation exists and is active, its ОГРН
and КПП are the register's, something changes, and a new head is a person of the register under
that ИНН and name. Every field at fault is reported (field, XPath, submitted, register, rule) and
the change is ``rejected``; otherwise it is ``verified``. A ``DetailsChangeConfirmation`` of a
verified change checks it again against the register as it is now and, if it still holds,
``applied``: the change is a RegisterWrite (``change_legal_entity_details``) carried out after
the commit by the outbox. Confirming anything but a verified change is an illegal transition.
"""
from __future__ import annotations

from envelopes.payloads.details import (FIELD_XPATHS, DetailsChange, DetailsChangeResult, Mismatch,
                                         build_details_change_result, parse_details_change,
                                         parse_details_change_confirmation)
from envelopes.payloads.schemas import field_node
from gateway.domains.authorize import authorize
from gateway.domains.base import Decision, HandlerContext, RegisterWrite
from gateway.domains.details.states import MACHINE
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.validate import readable_xpath

KIND = "organisation-details-change"
POWER = "DETAILS_CHANGE"


def _normal(value: str | None) -> str:
    return " ".join((value or "").replace("ё", "е").replace("Ё", "Е").split()).casefold()


def _result(inn: str, state: str, mismatches=(), number: str | None = None):
    return build_details_change_result(DetailsChangeResult(inn, state, number, tuple(mismatches)))


def mismatches(ctx: HandlerContext, payload, change: DetailsChange, entity) -> list[Mismatch]:
    """Every field of ``change`` (read from ``payload``) the registers disagree with."""
    def at(field: str | None) -> str:
        node = field_node(payload, FIELD_XPATHS[field]) if field else None
        return readable_xpath(node if node is not None else payload)

    if entity is None:
        return [Mismatch("ИНН", at("inn"), change.inn, "", "no legal entity with this ИНН in ЕГРЮЛ")]
    found = []
    if entity.status != "active":
        found.append(Mismatch("статус", at("inn"), change.inn, entity.status,
                              "the organisation must be active in ЕГРЮЛ"))
    for name, field, submitted, register in (("ОГРН", "ogrn", change.ogrn, entity.ogrn),
                                             ("КПП", "kpp", change.kpp, entity.kpp)):
        if submitted != register:
            found.append(Mismatch(name, at(field), submitted, register, f"must equal the {name} in ЕГРЮЛ"))
    if not change.changes_something:
        found.append(Mismatch("изменения", at(None), "", "", "name at least one detail to change: "
                              "LegalAddress, Phone, Email or NewHead"))
    head = change.new_head
    if head is not None:
        if head.inn == entity.head.inn:
            found.append(Mismatch("ИНН нового руководителя", at("new_head.inn"), head.inn,
                                  entity.head.inn, "the new head must not be the head already"))
        person = ctx.registers.person(head.inn)
        if person is None:
            found.append(Mismatch("ИНН нового руководителя", at("new_head.inn"), head.inn, "",
                                  "the new head must be in the persons register"))
        else:
            for name, field, submitted, register in (
                    ("фамилия нового руководителя", "new_head.last_name", head.last_name, person.last_name),
                    ("имя нового руководителя", "new_head.first_name", head.first_name, person.first_name),
                    ("отчество нового руководителя", "new_head.middle_name", head.middle_name,
                     person.middle_name)):
                if _normal(submitted) != _normal(register):
                    found.append(Mismatch(name, at(field if submitted is not None else "new_head"),
                                          submitted or "", register or "",
                                          f"must equal the persons register for ИНН {head.inn}"))
    return found


def _register_spelling(ctx: HandlerContext, change: DetailsChange) -> dict:
    """The changes to enter; a new head's names as the persons register spells them (the
    comparison above forgives case, spacing and ё/е; ЕГРЮЛ takes the register's spelling only)."""
    changes = change.register_changes()
    if change.new_head is not None:
        person = ctx.registers.person(change.new_head.inn)
        changes["head"] = {**changes["head"], "last_name": person.last_name,
                           "first_name": person.first_name, "middle_name": person.middle_name}
    return changes


def request_change(ctx: HandlerContext) -> Decision:
    change = parse_details_change(ctx.payload)
    state = MACHINE.next(None, "submit")
    entity = ctx.registers.legal_entity(change.inn)
    if entity is not None:  # about an existing organisation: only its head, or by its power
        authorize(ctx, change.inn, POWER, change.power_of_attorney)
    found = mismatches(ctx, ctx.payload, change, entity)
    state = MACHINE.next(state, "register_mismatch" if found else "register_matches")
    return Decision(KIND, change.inn, state, response=_result(change.inn, state, found))


def confirm_change(ctx: HandlerContext) -> Decision:
    confirmation = parse_details_change_confirmation(ctx.payload)
    inn, number = confirmation.inn, confirmation.registration_number
    authorize(ctx, inn, POWER, confirmation.power_of_attorney)
    application = ctx.applications.by_number(number)
    if application is None or application.kind != KIND or application.organisation_inn != inn:
        raise IllegalTransition(f"no change of details {number} of the organisation {inn}",
                                code="UNKNOWN_APPLICATION")
    applied = MACHINE.next(application.state, "confirm")  # refuses unless verified
    request, _message_id = ctx.applications.payload_of(application)
    change = parse_details_change(request)
    found = mismatches(ctx, request, change, ctx.registers.legal_entity(inn))
    if found:  # the register changed since the change was verified
        state = MACHINE.next(application.state, "register_mismatch")
        return Decision(KIND, inn, state, response=_result(inn, state, found, number),
                        application_id=application.id, from_state=application.state)
    writes = (RegisterWrite(
        "change_legal_entity_details", {"inn": inn, "changes": _register_spelling(ctx, change)}),)
    return Decision(KIND, inn, applied, response=_result(inn, applied, number=number),
                    application_id=application.id, from_state=application.state,
                    register_writes=writes)
