"""Authorization of the signer for an organisation's operation (docs/domains.md).

The organisation's head (per the legal-entity register) may do everything. Anyone else must
name a power of attorney that is registered, of the same principal, issued to the signer,
unrevoked, not expired TODAY (checked at use time, not only by a background job), and granting
the operation's power; a substituted power (передоверие) also needs every power it stems from
to be active today. Every refusal is ``AccessDenied`` with the reason.
"""
from __future__ import annotations

from gateway.faults import AccessDenied
from gateway.domains.base import HandlerContext


def authorize(ctx: HandlerContext, organisation_inn: str, power: str,
              poa_number: str | None) -> str:
    """How the signer is entitled: ``"head"`` or ``"poa:<number>"``; else AccessDenied."""
    signer = ctx.acting_person  # a PersonalSignature over the content speaks for a person
    signer_inn = getattr(signer, "inn", None)
    entity = ctx.registers.legal_entity(organisation_inn)
    if entity is None:
        raise AccessDenied(f"organisation {organisation_inn} is not in the legal-entity register",
                           code="UNKNOWN_ORGANISATION")
    if signer_inn and signer_inn == entity.head.inn:
        signer_org = getattr(signer, "inn_le", None)
        if signer_org and signer_org != organisation_inn:
            raise AccessDenied(f"the certificate names the organisation {signer_org}, not "
                               f"{organisation_inn}", code="CERTIFICATE_OF_ANOTHER_ORGANISATION")
        return "head"
    who = f"the signer (ИНН {signer_inn or 'not in the certificate'})"
    if not poa_number:
        raise AccessDenied(f"{who} is not the head of {organisation_inn}; name a power of attorney "
                           f"granting {power}", code="POWER_OF_ATTORNEY_REQUIRED")
    poa = ctx.registers.power_of_attorney(poa_number)
    today = ctx.now.date()
    if poa is None:
        raise AccessDenied(f"power of attorney {poa_number} is not registered",
                           code="POA_NOT_FOUND")
    if poa.principal_inn != organisation_inn:
        raise AccessDenied(f"power of attorney {poa_number} was issued by another organisation "
                           f"({poa.principal_inn})", code="POA_FOREIGN")
    if poa.representative_inn != signer_inn:
        raise AccessDenied(f"power of attorney {poa_number} was issued to someone else, not to {who}",
                           code="POA_NOT_THE_SIGNERS")
    if poa.status == "revoked":
        raise AccessDenied(f"power of attorney {poa_number} was revoked on {poa.revoked_at}",
                           code="POA_REVOKED")
    if poa.valid_until < today:
        raise AccessDenied(f"power of attorney {poa_number} expired on {poa.valid_until}",
                           code="POA_EXPIRED")
    if poa.issued_on > today:
        raise AccessDenied(f"power of attorney {poa_number} is valid from {poa.issued_on}",
                           code="POA_NOT_YET_VALID")
    if power not in poa.powers:
        raise AccessDenied(f"power of attorney {poa_number} does not grant {power} (it grants "
                           f"{', '.join(sorted(poa.powers))})", code="POA_INSUFFICIENT")
    _check_parents(ctx, poa, today)
    return f"poa:{poa_number}"


MAX_SUBSTITUTIONS = 8


def _check_parents(ctx: HandlerContext, poa, today) -> None:
    """A substituted power lives only as long as every power it stems from (ГК РФ ст. 188: the
    substitution ends with the power it was issued under)."""
    seen = {poa.number}
    while poa.parent_number:
        parent = ctx.registers.power_of_attorney(poa.parent_number)
        if parent is None or parent.number in seen or len(seen) > MAX_SUBSTITUTIONS:
            raise AccessDenied(f"power of attorney {poa.number} stems from {poa.parent_number}, "
                               "which cannot be found", code="POA_PARENT_NOT_FOUND")
        state = parent.state_on(today)
        if state != "active":
            raise AccessDenied(f"power of attorney {poa.number} was issued under {parent.number}, "
                               f"which is {state}", code=f"POA_PARENT_{state.upper()}")
        seen.add(parent.number)
        poa = parent
