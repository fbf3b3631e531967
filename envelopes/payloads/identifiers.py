"""Russian identifiers in the payloads: which XPaths of each payload carry which identifier
(:data:`IDENTIFIERS`), and the checksum rules an XSD pattern cannot express (the functions at the
end). One table for the SDK, the register stubs and the gateway, which applies it right after the
XSD (gateway/pipeline/validate/fields.py).

``rule`` names a function of this module; ``xpaths`` are relative to the
payload root (lxml ``xpath()``, prefixes of :data:`envelopes.payloads.ns.PREFIXES`) and their
values are passed to the rule in that order. An XPath may select several nodes (e.g. every head
of an EMCHD_1 principal) or none (an optional field): check every node selected, in order.
docs/payloads.md shows the same table and the checksum rules.

Each rule takes the string and returns ``None`` when valid or a sentence naming the rule broken.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from envelopes.payloads.ns import (DETAILS, LICENSING, POWER_OF_ATTORNEY, REGISTRATION,
                                   REPORTING, PREFIXES)


@dataclasses.dataclass(frozen=True)
class IdentifierField:
    name: str  # as reported to the sender
    rule: str  # inn_legal_entity | inn_person | ogrn | ogrnip | snils | settlement_account
    xpaths: tuple[str, ...]


def _f(name: str, rule: str, *xpaths: str) -> IdentifierField:
    return IdentifierField(name, rule, xpaths)


#: an EMCHD_1 document embedded in the payload, its Russian principal and its representative
EMCHD_DOC = "e:Доверенность/e:Документ/e:Довер"
EMCHD_ORG = EMCHD_DOC + "/e:СвДоверит/e:Доверит/e:РосОргДовер"
EMCHD_REP = EMCHD_DOC + "/e:СвУпПред/e:Пред"

#: Clark name of the payload root → the identifier fields it carries.
IDENTIFIERS: dict[str, tuple[IdentifierField, ...]] = {
    f"{{{REGISTRATION}}}OrganisationRegistrationRequest": (
        _f("ИНН организации", "inn_legal_entity", "reg:INN"),
        _f("ОГРН организации", "ogrn", "reg:OGRN"),
        _f("ИНН руководителя", "inn_person", "reg:Head/reg:INN"),
        _f("Расчётный счёт", "settlement_account", "reg:BankDetails/reg:Account", "reg:BankDetails/reg:BIK"),
    ),
    f"{{{REGISTRATION}}}HeadConfirmationRequest": (
        _f("ИНН организации", "inn_legal_entity", "reg:INN"),
        _f("ОГРН организации", "ogrn", "reg:OGRN"),
        _f("ИНН руководителя", "inn_person", "reg:HeadINN"),
    ),
    f"{{{REGISTRATION}}}OrganisationStatusChangeRequest": (
        _f("ИНН организации", "inn_legal_entity", "reg:INN"),
    ),
    f"{{{REPORTING}}}ReportSubmission": (
        _f("ИНН организации", "inn_legal_entity", "rep:OrganisationINN"),
        _f("ОГРН организации", "ogrn", "rep:OGRN"),
    ),
    f"{{{LICENSING}}}LicenceApplication": (
        _f("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
        _f("ОГРН организации", "ogrn", "lic:OGRN"),
    ),
    f"{{{LICENSING}}}LicenceApplicationSupplement": (
        _f("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
    ),
    f"{{{LICENSING}}}LicenceApplicationWithdrawal": (
        _f("ИНН организации", "inn_legal_entity", "lic:OrganisationINN"),
    ),
    f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyRegistration": (
        _f("ИНН доверителя", "inn_legal_entity", "poa:Principal/poa:INN"),
        _f("ОГРН доверителя", "ogrn", "poa:Principal/poa:OGRN"),
        _f("ИНН руководителя", "inn_person", "poa:Principal/poa:HeadINN"),
        _f("ИНН представителя", "inn_person", "poa:Representative/poa:INN"),
        _f("СНИЛС представителя", "snils", "poa:Representative/poa:SNILS"),
        # the same, when an EMCHD_1 document is embedded
        _f("ИНН доверителя (EMCHD_1)", "inn_legal_entity", EMCHD_ORG + "/e:СвРосОрг/@ИННЮЛ"),
        _f("ОГРН доверителя (EMCHD_1)", "ogrn", EMCHD_ORG + "/e:СвРосОрг/@ОГРН"),
        _f("ИНН руководителя (EMCHD_1)", "inn_person", EMCHD_ORG + "/e:ЛицоБезДов/e:СвФЛ/@ИННФЛ"),
        _f("СНИЛС руководителя (EMCHD_1)", "snils", EMCHD_ORG + "/e:ЛицоБезДов/e:СвФЛ/@СНИЛС"),
        _f("ИНН представителя (EMCHD_1)", "inn_person", EMCHD_REP + "/e:СведФизЛ/@ИННФЛ"),
        _f("СНИЛС представителя (EMCHD_1)", "snils", EMCHD_REP + "/e:СведФизЛ/@СНИЛС"),
        _f("ИНН организации-представителя (EMCHD_1)", "inn_legal_entity", EMCHD_REP + "/e:СведОрг/@ИННЮЛ"),
        _f("ОГРН организации-представителя (EMCHD_1)", "ogrn", EMCHD_REP + "/e:СведОрг/@ОГРН"),
        _f("ОГРНИП доверителя (EMCHD_1)", "ogrnip", EMCHD_DOC + "/e:СвДоверит/e:Доверит/e:ИПДовер/@ОГРНИП"),
        _f("ОГРНИП представителя (EMCHD_1)", "ogrnip", EMCHD_REP + "/e:СведИП/@ОГРНИП"),
    ),
    f"{{{POWER_OF_ATTORNEY}}}PowerOfAttorneyRevocation": (
        _f("ИНН доверителя", "inn_legal_entity", "poa:PrincipalINN"),
    ),
    f"{{{DETAILS}}}DetailsChangeRequest": (
        _f("ИНН организации", "inn_legal_entity", "det:INN"),
        _f("ОГРН организации", "ogrn", "det:OGRN"),
        _f("ИНН нового руководителя", "inn_person", "det:NewHead/det:INN"),
    ),
    f"{{{DETAILS}}}DetailsChangeConfirmation": (
        _f("ИНН организации", "inn_legal_entity", "det:INN"),
    ),
}

#: Prefix → namespace for evaluating the XPaths above (``e`` is EMCHD_1).
NAMESPACES = dict(PREFIXES)


# The checksum rules (docs/payloads.md, "Checksum rules").
def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights))


def inn_legal_entity(value: str) -> str | None:
    if len(value) != 10 or not value.isdigit():
        return "a legal entity's ИНН is 10 digits"
    check = _weighted(value, (2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10
    if check != int(value[9]):
        return f"ИНН check digit must be {check} (Σ dᵢ·wᵢ, w = 2 4 10 3 5 9 4 6 8, mod 11 mod 10)"
    return None


def inn_person(value: str) -> str | None:
    if len(value) != 12 or not value.isdigit():
        return "a person's ИНН is 12 digits"
    c11 = _weighted(value, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10
    c12 = _weighted(value, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10
    if c11 != int(value[10]) or c12 != int(value[11]):
        return f"ИНН check digits must be {c11}{c12}"
    return None


def ogrn(value: str) -> str | None:
    if len(value) != 13 or not value.isdigit():
        return "ОГРН is 13 digits"
    check = int(value[:12]) % 11 % 10
    if check != int(value[12]):
        return f"ОГРН check digit must be {check} (first 12 digits mod 11 mod 10)"
    return None


def ogrnip(value: str) -> str | None:
    if len(value) != 15 or not value.isdigit():
        return "ОГРНИП is 15 digits"
    check = int(value[:14]) % 13 % 10
    if check != int(value[14]):
        return f"ОГРНИП check digit must be {check} (first 14 digits mod 13 mod 10)"
    return None


def snils(value: str) -> str | None:
    digits = value.replace("-", "").replace(" ", "")
    if len(digits) != 11 or not digits.isdigit():
        return "СНИЛС is 11 digits"
    total = _weighted(digits, (9, 8, 7, 6, 5, 4, 3, 2, 1))
    if total < 100:
        check = total
    elif total in (100, 101):
        check = 0
    else:
        check = total % 101
        check = 0 if check == 100 else check
    if check != int(digits[9:]):
        return f"СНИЛС check number must be {check:02d}"
    return None


def settlement_account(account: str, bik: str) -> str | None:
    if len(account) != 20 or not account.isdigit() or len(bik) != 9 or not bik.isdigit():
        return "a settlement account is 20 digits and a БИК 9 digits"
    digits = bik[-3:] + account
    weights = (7, 1, 3) * 8
    if sum(int(d) * w % 10 for d, w in zip(digits, weights)) % 10:
        return "the account does not match the БИК (control key with weights 7 1 3 fails)"
    return None


def control_digit_inn_le(first9: str) -> str:
    """The check digit that completes a 9-digit prefix (used by fixtures and tests)."""
    return str(_weighted(first9, (2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10)


Check = Callable[[str], "str | None"]
