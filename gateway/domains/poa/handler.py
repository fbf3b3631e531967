"""Handlers of powers of attorney (docs/domains.md): registration and revocation, both by the
principal's head, checked against the legal-entity and persons registers. Entering a power in the
power-of-attorney register, or revoking it there, is named in the decision (a RegisterWrite,
carried out after the commit), never done here."""
from __future__ import annotations

from envelopes.payloads._xml import PayloadError
from envelopes.payloads.poa import (PowerOfAttorneyRegistered, PowerOfAttorneyRejected, PowerOfAttorneyResult,
                                    Rejection, build_power_of_attorney_registered,
                                    build_power_of_attorney_rejected, build_power_of_attorney_result,
                                    parse_power_of_attorney_registration, parse_power_of_attorney_revocation,
                                    term_xpath, terms)
from envelopes.payloads.schemas import field_node
from gateway.domains.base import Decision, HandlerContext, RegisterWrite
from gateway.domains.poa.states import MACHINE
from gateway.domains.statemachine import IllegalTransition
from gateway.faults import InvalidContent
from gateway.pipeline.persist import registration_number
from gateway.pipeline.validate.fields import locate


def _result(number: str, state: str, reasons=()):
    return build_power_of_attorney_result(PowerOfAttorneyResult(number, state, tuple(reasons)))


def _xpath_of(payload, term: str | None) -> str | None:
    """The readable XPath of ``term`` in this payload (None if it cannot be found)."""
    path = term_xpath(payload, term) if term else None
    node = field_node(payload, path) if path else None
    return locate(node)[1] if node is not None else None


def _substitution_reasons(ctx: HandlerContext, t) -> list[tuple[str, str, str | None]]:
    """A substituted power (передоверие) is issued under a registered one: by its representative,
    of the same principal, while it is active, with the right of substitution, granting no more
    and lasting no longer than it does."""
    parent = ctx.registers.power_of_attorney(t.parent_number)
    if parent is None:
        return [("PARENT_UNKNOWN", f"power of attorney {t.parent_number} is not registered", "parent")]
    reasons = []
    if parent.principal_inn != t.principal.inn:
        reasons.append(("PARENT_FOREIGN", f"power of attorney {parent.number} was issued by "
                        f"{parent.principal_inn}, not by {t.principal.inn}", "parent"))
    state = parent.state_on(ctx.now.date())
    if state != "active":
        reasons.append(("PARENT_NOT_ACTIVE", f"power of attorney {parent.number} is {state}", "parent"))
    if not (parent.substitution or "POA_SUBSTITUTE" in parent.powers):
        reasons.append(("SUBSTITUTION_NOT_ALLOWED", f"power of attorney {parent.number} gives no "
                        "right of substitution", "parent"))
    if getattr(ctx.acting_person, "inn", None) != parent.representative_inn:
        reasons.append(("NOT_SIGNED_BY_REPRESENTATIVE", "a substituted power of attorney must be signed "
                        f"by the representative of {parent.number} ({parent.representative_inn})",
                        "parent"))
    extra = sorted(set(t.powers) - parent.powers)
    if extra:
        reasons.append(("POWERS_EXCEED_PARENT", f"{', '.join(extra)} not granted by {parent.number}",
                        "powers"))
    if t.valid_until > parent.valid_until:
        reasons.append(("VALIDITY_EXCEEDS_PARENT", f"ValidUntil {t.valid_until} is after "
                        f"{parent.valid_until}, when {parent.number} ends", "valid_until"))
    return reasons


def register(ctx: HandlerContext) -> Decision:
    """The simple structure or an embedded EMCHD_1 document: the same terms are checked, and
    every failed check is reported with a code, a sentence and the XPath of the term."""
    try:
        t = terms(parse_power_of_attorney_registration(ctx.payload).document)
    except PayloadError as exc:
        raise InvalidContent(f"the power of attorney: {exc}", code="FIELD_RULE") from None
    number, principal_inn = t.number, t.principal.inn
    head_inn, rep_inn = t.principal.head_inn, t.representative.inn
    issued, until = t.issue_date, t.valid_until
    reasons: list[tuple[str, str, str | None]] = []
    entity = ctx.registers.legal_entity(principal_inn)
    if entity is None:
        reasons.append(("PRINCIPAL_UNKNOWN", f"the principal {principal_inn} is not in ЕГРЮЛ",
                        "principal"))
    else:
        if entity.status != "active":
            reasons.append(("PRINCIPAL_NOT_ACTIVE", f"the principal is {entity.status} in ЕГРЮЛ",
                            "principal"))
        for term, field, submitted, register in (("ogrn", "ОГРН", t.principal.ogrn, entity.ogrn),
                                                 ("kpp", "КПП", t.principal.kpp or "", entity.kpp),
                                                 ("head", "HeadINN", head_inn, entity.head.inn)):
            if submitted != register:
                reasons.append((f"PRINCIPAL_{term.upper()}_MISMATCH",
                                f"Principal/{field} {submitted} is not {register} as in ЕГРЮЛ", term))
    if t.parent_number:
        reasons += _substitution_reasons(ctx, t)
    elif getattr(ctx.acting_person, "inn", None) != head_inn:
        reasons.append(("NOT_SIGNED_BY_HEAD", "a power of attorney must be signed by the "
                        "principal's head (the envelope's or a PersonalSignature over the document)",
                        "head"))
    person = ctx.registers.person(rep_inn)
    if person is None:
        reasons.append(("REPRESENTATIVE_UNKNOWN",
                        f"the representative {rep_inn} is not in the persons register", "representative"))
    elif person.snils != t.representative.snils:
        reasons.append(("SNILS_MISMATCH", "Representative/SNILS does not match the persons register",
                        "snils"))
    if until < issued or until < ctx.now.date():
        reasons.append(("VALIDITY_ENDED", f"ValidUntil {until} is before the issue date or already past",
                        "valid_until"))
    if issued > ctx.now.date():
        reasons.append(("ISSUED_IN_FUTURE", f"IssueDate {issued} is in the future", "issue_date"))
    existing = ctx.registers.power_of_attorney(number)
    same = existing is not None and (existing.principal_inn, existing.representative_inn,
                                     existing.powers) == (principal_inn, rep_inn, frozenset(t.powers))
    if existing is not None and not same:  # a repeat of this very POA is fine (idempotent)
        reasons.append(("NUMBER_TAKEN", f"another power of attorney is registered under {number}",
                        "number"))
    event = "checks_failed" if reasons else "checks_passed"
    state = MACHINE.next(None, event)
    if reasons:
        return Decision("power-of-attorney", principal_inn, state,
                        response=build_power_of_attorney_rejected(PowerOfAttorneyRejected(number, tuple(
                            Rejection(code, description[:1000], _xpath_of(ctx.payload, term))
                            for code, description, term in reasons))))
    writes = ()
    if existing is None:  # a test message names it too (its preview); the pipeline drops it
        writes = (RegisterWrite("register_power_of_attorney", {"record": _record(t)}),)
    answer = build_power_of_attorney_registered(PowerOfAttorneyRegistered(
        number, registration_number(ctx.now, ctx.message_id), ctx.now, until))
    return Decision("power-of-attorney", principal_inn, state, response=answer, register_writes=writes)


def _record(t) -> dict:
    """The register's record of the terms ``t`` (JSON, as ``Registers.register_power_of_attorney``
    takes it)."""
    return {"number": t.number, "issued_on": t.issue_date.isoformat(),
            "valid_until": t.valid_until.isoformat(),
            "principal": {"inn": t.principal.inn, "ogrn": t.principal.ogrn, "kpp": t.principal.kpp,
                          "name": t.principal.name, "head_inn": t.principal.head_inn},
            "representative": {"last_name": t.representative.last_name,
                               "first_name": t.representative.first_name,
                               "middle_name": t.representative.middle_name,
                               "inn": t.representative.inn, "snils": t.representative.snils},
            "powers": list(t.powers), "substitution": t.substitution, "parent_number": t.parent_number}


def revoke(ctx: HandlerContext) -> Decision:
    revocation = parse_power_of_attorney_revocation(ctx.payload)
    number, principal_inn = revocation.number, revocation.principal_inn
    poa = ctx.registers.power_of_attorney(number)
    entity = ctx.registers.legal_entity(principal_inn)
    if poa is None or poa.principal_inn != principal_inn:
        raise IllegalTransition(f"no power of attorney {number} of {principal_inn}",
                                code="UNKNOWN_POWER_OF_ATTORNEY")
    signer = getattr(ctx.acting_person, "inn", None)
    substituted_by = None
    if poa.parent_number:  # who substituted a power may take it back (ГК РФ ст. 188)
        parent = ctx.registers.power_of_attorney(poa.parent_number)
        substituted_by = parent.representative_inn if parent is not None else None
    if signer is None or signer not in {entity.head.inn if entity else None, substituted_by}:
        return Decision("power-of-attorney-revocation", principal_inn, "rejected",
                        response=_result(number, "registered" if poa.status == "active" else poa.status,
                                         ["a revocation must be signed by the principal's head"
                                          + (" or by who substituted it" if substituted_by else "")]))
    current = "revoked" if poa.status == "revoked" else (
        "expired" if poa.valid_until < ctx.now.date() else "registered")
    state = MACHINE.next(current, "revoke")  # refuses a second revocation, or of an expired one
    writes = (RegisterWrite(
        "revoke_power_of_attorney", {"number": number, "at": revocation.revocation_date.isoformat()}),)
    return Decision("power-of-attorney-revocation", principal_inn, state,
                    response=_result(number, state), register_writes=writes)
