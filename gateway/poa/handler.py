"""Handlers of powers of attorney (DOMAIN.md §4): registration and revocation, both by the
principal's head, checked against the legal-entity and persons registers and entered in the
power-of-attorney register."""
from __future__ import annotations

from datetime import date

from lxml import etree

from envelopes import ns
from envelopes.payloads.poa import parse_power_of_attorney_registration, terms
from envelopes.payloads._xml import PayloadError
from gateway.faults import InvalidContent
from gateway.poa.states import MACHINE
from gateway.route import Decision, HandlerContext
from gateway.statemachine import IllegalTransition

P = ns.POWER_OF_ATTORNEY


def _t(element: etree._Element, path: str) -> str:
    node = element.find(path, {"p": P})
    return (node.text or "").strip() if node is not None else ""


def _result(number: str, state: str, reasons=()) -> etree._Element:
    result = etree.Element(ns.q(P, "PowerOfAttorneyResult"), nsmap={None: P})
    etree.SubElement(result, ns.q(P, "Number")).text = number
    etree.SubElement(result, ns.q(P, "State")).text = state
    for reason in reasons:
        etree.SubElement(result, ns.q(P, "Reason")).text = reason
    return result


def register(ctx: HandlerContext) -> Decision:
    """The simple structure or an embedded EMCHD_1 document: the same terms are checked."""
    try:
        t = terms(parse_power_of_attorney_registration(ctx.payload).document)
    except PayloadError as exc:
        raise InvalidContent(f"the power of attorney: {exc}", code="FIELD_RULE") from None
    number, principal_inn = t.number, t.principal.inn
    head_inn, rep_inn = t.principal.head_inn, t.representative.inn
    issued, until = t.issue_date, t.valid_until
    reasons = []
    entity = ctx.registers.legal_entity(principal_inn)
    if entity is None:
        reasons.append(f"the principal {principal_inn} is not in ЕГРЮЛ")
    else:
        if entity.status != "active":
            reasons.append(f"the principal is {entity.status} in ЕГРЮЛ")
        for field, submitted, register in (("ОГРН", t.principal.ogrn, entity.ogrn),
                                           ("КПП", t.principal.kpp or "", entity.kpp),
                                           ("HeadINN", head_inn, entity.head.inn)):
            if submitted != register:
                reasons.append(f"Principal/{field} {submitted} is not {register} as in ЕГРЮЛ")
    if getattr(ctx.acting_person, "inn", None) != head_inn:
        reasons.append("a power of attorney must be signed by the principal's head "
                       "(the envelope's or a PersonalSignature over the document)")
    person = ctx.registers.person(rep_inn)
    if person is None:
        reasons.append(f"the representative {rep_inn} is not in the persons register")
    elif person.snils != t.representative.snils:
        reasons.append("Representative/SNILS does not match the persons register")
    if until < issued or until < ctx.now.date():
        reasons.append(f"ValidUntil {until} is before the issue date or already past")
    if issued > ctx.now.date():
        reasons.append(f"IssueDate {issued} is in the future")
    if not reasons and not ctx.test_message:
        record = {"number": number, "issued_on": issued.isoformat(), "valid_until": until.isoformat(),
                  "principal": {"inn": principal_inn, "ogrn": t.principal.ogrn,
                                "kpp": t.principal.kpp, "name": t.principal.name,
                                "head_inn": head_inn},
                  "representative": {"last_name": t.representative.last_name,
                                     "first_name": t.representative.first_name,
                                     "middle_name": t.representative.middle_name,
                                     "inn": rep_inn, "snils": t.representative.snils},
                  "powers": list(t.powers), "substitution": t.substitution}
        created, existing = ctx.registers.register_power_of_attorney(record)
        same = existing is not None and (existing.principal_inn, existing.representative_inn,
                                         existing.powers) == (principal_inn, rep_inn,
                                                              frozenset(record["powers"]))
        if not created and not same:  # a repeat of this very POA is fine (idempotent)
            reasons.append(f"another power of attorney is registered under {number}")
    event = "checks_failed" if reasons else "checks_passed"
    state = MACHINE.next(None, event)
    return Decision("power-of-attorney", principal_inn, state, response=_result(number, state, reasons))


def revoke(ctx: HandlerContext) -> Decision:
    p = ctx.payload
    number, principal_inn = _t(p, "p:Number"), _t(p, "p:PrincipalINN")
    poa = ctx.registers.power_of_attorney(number)
    entity = ctx.registers.legal_entity(principal_inn)
    if poa is None or poa.principal_inn != principal_inn:
        raise IllegalTransition(f"no power of attorney {number} of {principal_inn}",
                                code="UNKNOWN_POWER_OF_ATTORNEY")
    if entity is None or getattr(ctx.acting_person, "inn", None) != entity.head.inn:
        return Decision("power-of-attorney-revocation", principal_inn, "rejected",
                        response=_result(number, "registered" if poa.status == "active" else poa.status,
                                         ["a revocation must be signed by the principal's head"]))
    current = "revoked" if poa.status == "revoked" else (
        "expired" if poa.valid_until < ctx.now.date() else "registered")
    state = MACHINE.next(current, "revoke")  # refuses a second revocation, or of an expired one
    if not ctx.test_message:
        ctx.registers.revoke_power_of_attorney(number, date.fromisoformat(_t(p, "p:RevocationDate")))
    return Decision("power-of-attorney-revocation", principal_inn, state,
                    response=_result(number, state))
