"""Russian identifiers in the payloads: which XPaths of each payload carry which identifier
(:data:`IDENTIFIERS`), and the checksum rules an XSD pattern cannot express (the functions at the
end). One table for the SDK, the register stubs and the gateway, which applies it right after the
XSD (gateway/pipeline/validate/fields.py); its rows are declared by the payload modules beside
their codecs (``PAYLOADS.identifiers``, :mod:`envelopes.payloads._declare`) and merged here.

``rule`` names a function of this module; ``xpaths`` are relative to the
payload root (lxml ``xpath()``, prefixes of :data:`envelopes.payloads.ns.PREFIXES`) and their
values are passed to the rule in that order. An XPath may select several nodes (e.g. every head
of an EMCHD_1 principal) or none (an optional field): check every node selected, in order.
docs/payloads.md shows the same table and the checksum rules.

Each rule takes the string and returns ``None`` when valid or a sentence naming the rule broken.
"""
from __future__ import annotations

from operator import mul
from typing import Callable

from envelopes.payloads._declare import IdentifierField, discover
from envelopes.payloads.emchd import EMCHD_DOC, EMCHD_ORG, EMCHD_REP  # noqa: F401 (re-exported)
from envelopes.payloads.ns import PREFIXES

#: Clark name of the payload root → the identifier fields it carries, merged from every payload
#: module's declared rows (``PAYLOADS.identifiers``).
IDENTIFIERS: dict[str, tuple[IdentifierField, ...]] = {
    root: fields for m in discover() for root, fields in m.identifiers.items()}

#: Prefix → namespace for evaluating the XPaths above (``e`` is EMCHD_1).
NAMESPACES = dict(PREFIXES)


# The checksum rules (docs/payloads.md, "Checksum rules").
def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    """Σ dᵢ·wᵢ over the shorter of the two (in C: a registration checks a dozen of these)."""
    return sum(map(mul, map(int, digits), weights))


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
    if sum(map((10).__rmod__, map(mul, map(int, digits), weights))) % 10:  # Σ (dᵢ·wᵢ mod 10)
        return "the account does not match the БИК (control key with weights 7 1 3 fails)"
    return None


def control_digit_inn_le(first9: str) -> str:
    """The check digit that completes a 9-digit prefix (used by fixtures and tests)."""
    return str(_weighted(first9, (2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10)


Check = Callable[[str], "str | None"]
