"""The checksum rules of envelopes/payloads/identifiers.py (docs/payloads.md, "Checksum rules"),
on known-good values and single-digit corruptions."""
import pytest

from envelopes.payloads import identifiers as ids

GOOD = [
    (ids.inn_legal_entity, "7707083893"),  # a well-known real legal-entity ИНН
    (ids.inn_legal_entity, "7702123454"),
    (ids.inn_person, "500100732259"),  # a commonly published valid person ИНН
    (ids.inn_person, "771234567859"),
    (ids.ogrn, "1027700132195"),  # a well-known real ОГРН
    (ids.ogrnip, "304500116000157"),
    (ids.snils, "11223344595"),
    (ids.snils, "112-233-445 95"),
]


@pytest.mark.parametrize("check,value", GOOD)
def test_valid_identifiers_pass(check, value):
    assert check(value) is None


@pytest.mark.parametrize("check,value", GOOD)
def test_a_changed_last_digit_fails(check, value):
    digits = value.replace("-", "").replace(" ", "")
    bad = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    assert check(bad) is not None


@pytest.mark.parametrize("check", [ids.inn_legal_entity, ids.inn_person, ids.ogrn, ids.ogrnip, ids.snils])
def test_wrong_length_or_letters_fail(check):
    assert check("12345") is not None
    assert check("abcdefghijkl") is not None


def test_snils_small_sums_and_100_101():
    # 001-001-998: sum = 0*9+0*8+1*7+0*6+0*5+1*4+9*3+9*2+8*1 = 64 → check 64
    assert ids.snils("00100199864") is None
    assert ids.snils("00100199865") is not None


def test_settlement_account_against_bik():
    assert ids.settlement_account("40702810200000012345", "044525225") is None
    assert ids.settlement_account("40702810300000012345", "044525225") is not None
    assert ids.settlement_account("40702810200000012345", "044525226") is not None
