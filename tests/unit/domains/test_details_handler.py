"""The change-of-details handlers as pure functions: checked against ЕГРЮЛ and the persons
register, every field at fault named by XPath, authorized (head or DETAILS_CHANGE), confirmed
along the transition table, and the register change named (RegisterWrite), never made."""
from __future__ import annotations

import uuid

import pytest

from envelopes.demo_data import ROMASHKA, VASILEK
from envelopes.payloads import codec, identifiers
from envelopes.payloads.details import (Address, DetailsChange, DetailsChangeConfirmation, DetailsChangeResult,
                                         Mismatch, NewHead)
from gateway.domains.base import RegisterWrite
from gateway.domains.details.handler import KIND, confirm_change, request_change
from gateway.domains.statemachine import IllegalTransition
from gateway.faults import AccessDenied
from handler_kit import carry_out

HEAD = ROMASHKA.head.inn
YAKOVLEVA = NewHead("Яковлева", "Ксения", "Владимировна", "770701164152", "Генеральный директор")
NIKITIN_INN = "771416835260"  # in the persons register, not a head of ROMASHKA
ROOT = "/det:DetailsChangeRequest"


def change(**kw) -> DetailsChange:
    fields = dict(inn=ROMASHKA.inn, ogrn=ROMASHKA.ogrn, kpp=ROMASHKA.kpp,
                  legal_address=Address("г. Москва, ул. Новый Арбат, д. 15", "119019"), phone="+74951112233")
    return DetailsChange(**(fields | kw))


def unknown_person_inn() -> str:
    """A 12-digit ИНН with valid check digits that no person of the register has."""
    for n in range(1000):
        stem = f"7799{n:06d}"
        for tail in range(100):
            inn = f"{stem}{tail:02d}"
            if identifiers.inn_person(inn) is None:
                return inn
    raise AssertionError("no ИНН found")


def submitted(context, applications, request, *, signed_by=HEAD):
    """Submit ``request`` and open its application as the transaction would."""
    decision = request_change(context(request, signed_by=signed_by))
    application = applications.open("details", decision.kind, decision.organisation_inn, decision.state, request)
    return decision, application


def test_the_head_changes_address_and_phone_verified_then_applied(context, registers, applications):
    decision, application = submitted(context, applications, change())
    assert (decision.kind, decision.organisation_inn, decision.state) == (KIND, ROMASHKA.inn, "verified")
    assert codec.parse(decision.response) == DetailsChangeResult(ROMASHKA.inn, "verified")
    assert decision.register_writes == ()  # nothing is entered before the confirmation

    number = application.registration_number
    confirmed = confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, number), signed_by=HEAD))
    assert (confirmed.state, confirmed.application_id, confirmed.from_state) == ("applied", application.id, "verified")
    assert codec.parse(confirmed.response) == DetailsChangeResult(ROMASHKA.inn, "applied", number)
    assert confirmed.register_writes == (RegisterWrite("change_legal_entity_details", {
        "inn": ROMASHKA.inn, "changes": {"address": "г. Москва, ул. Новый Арбат, д. 15",
                                         "postal_code": "119019", "phone": "+74951112233"}}),)
    carry_out(registers, confirmed.register_writes)  # the register's own checks accept it
    record = registers.store.legal_entity(ROMASHKA.inn)
    assert (record["address"], record["postal_code"], record["phone"]) == \
        ("г. Москва, ул. Новый Арбат, д. 15", "119019", "+74951112233")


def test_a_new_head_from_the_persons_register_is_entered(context, registers, applications):
    _, application = submitted(context, applications, change(legal_address=None, phone=None, new_head=YAKOVLEVA))
    confirmed = confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, application.registration_number),
                                       signed_by=HEAD))
    carry_out(registers, confirmed.register_writes)
    head = registers.legal_entity(ROMASHKA.inn).head
    assert (head.inn, head.last_name, head.position) == (YAKOVLEVA.inn, "Яковлева", "Генеральный директор")


def test_a_head_spelt_loosely_is_entered_as_the_persons_register_spells_it(context, registers, applications):
    loose = NewHead("яковлева", "КСЕНИЯ", "владимировна", YAKOVLEVA.inn, "Директор")
    decision, application = submitted(context, applications, change(new_head=loose))
    assert decision.state == "verified"
    confirmed = confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, application.registration_number),
                                       signed_by=HEAD))
    (write,) = confirmed.register_writes
    assert write.args["changes"]["head"] == {"inn": YAKOVLEVA.inn, "last_name": "Яковлева", "first_name": "Ксения",
                                             "middle_name": "Владимировна", "position": "Директор"}
    carry_out(registers, confirmed.register_writes)  # the register, which compares exactly, takes it


def test_every_field_at_fault_is_reported_with_its_xpath(context):
    wrong_name = NewHead("Яковлев", "Ксения", None, YAKOVLEVA.inn, "Директор")
    decision = request_change(context(change(ogrn=VASILEK.ogrn, kpp="770201002", new_head=wrong_name),
                                      signed_by=HEAD))
    assert decision.state == "rejected"
    result = codec.parse(decision.response)
    assert result == DetailsChangeResult(ROMASHKA.inn, "rejected", None, (
        Mismatch("ОГРН", f"{ROOT}/det:OGRN", VASILEK.ogrn, ROMASHKA.ogrn, "must equal the ОГРН in ЕГРЮЛ"),
        Mismatch("КПП", f"{ROOT}/det:KPP", "770201002", ROMASHKA.kpp, "must equal the КПП in ЕГРЮЛ"),
        Mismatch("фамилия нового руководителя", f"{ROOT}/det:NewHead/det:LastName", "Яковлев", "Яковлева",
                 f"must equal the persons register for ИНН {YAKOVLEVA.inn}"),
        Mismatch("отчество нового руководителя", f"{ROOT}/det:NewHead", "", "Владимировна",
                 f"must equal the persons register for ИНН {YAKOVLEVA.inn}"),
    ))
    assert decision.register_writes == ()


def test_a_new_head_outside_the_persons_register_and_the_current_head_are_refused(context):
    stranger = unknown_person_inn()
    result = codec.parse(request_change(context(change(new_head=NewHead("Орлов", "Пётр", None, stranger, "Директор")),
                                                signed_by=HEAD)).response)
    assert [(m.field, m.xpath, m.rule) for m in result.mismatches] == [
        ("ИНН нового руководителя", f"{ROOT}/det:NewHead/det:INN", "the new head must be in the persons register")]
    same = NewHead("Иванов", "Иван", "Иванович", HEAD, "Генеральный директор")
    result = codec.parse(request_change(context(change(new_head=same), signed_by=HEAD)).response)
    assert [m.rule for m in result.mismatches] == ["the new head must not be the head already"]


def test_a_change_of_nothing_is_refused(context):
    decision = request_change(context(change(legal_address=None, phone=None), signed_by=HEAD))
    (mismatch,) = codec.parse(decision.response).mismatches
    assert (decision.state, mismatch.field, mismatch.xpath) == ("rejected", "изменения", ROOT)


def test_an_unknown_or_inactive_organisation_is_refused(context, registers):
    liquidated = next(o for o in registers.store._entities.values() if o["status"] == "liquidated")
    decision = request_change(context(change(inn=liquidated["inn"], ogrn=liquidated["ogrn"], kpp=liquidated["kpp"]),
                                      signed_by=liquidated["head"]["inn"]))
    assert [(m.field, m.register) for m in codec.parse(decision.response).mismatches] == [("статус", "liquidated")]
    unknown = "7707083893"  # valid check digit, not in the fixtures
    assert registers.legal_entity(unknown) is None
    decision = request_change(context(change(inn=unknown), signed_by=HEAD))
    assert [(m.field, m.xpath) for m in codec.parse(decision.response).mismatches] == [("ИНН", f"{ROOT}/det:INN")]


def test_a_representative_needs_a_power_granting_details_change(context, registers):
    number = str(uuid.uuid4())
    person = registers.store.person(NIKITIN_INN)
    carry_out(registers, [RegisterWrite("register_power_of_attorney", {"record": {
        "number": number, "issued_on": "2030-01-01", "valid_until": "2031-01-01", "powers": ["DETAILS_CHANGE"],
        "principal": {"inn": ROMASHKA.inn, "ogrn": ROMASHKA.ogrn, "kpp": ROMASHKA.kpp, "name": None,
                      "head_inn": HEAD},
        "representative": {k: person[k] for k in ("last_name", "first_name", "middle_name", "inn", "snils")}}})])
    decision = request_change(context(change(power_of_attorney=number), signed_by=NIKITIN_INN))
    assert decision.state == "verified"
    with pytest.raises(AccessDenied) as denied:
        request_change(context(change(), signed_by=NIKITIN_INN))
    assert denied.value.code == "POWER_OF_ATTORNEY_REQUIRED"
    reports_only = registers.store.powers_of_attorney(ROMASHKA.inn, None)[0]  # REPORTS_SUBMIT, LICENCE_APPLY
    assert "DETAILS_CHANGE" not in reports_only["powers"]
    with pytest.raises(AccessDenied) as denied:
        request_change(context(change(power_of_attorney=reports_only["number"]),
                               signed_by=reports_only["representative"]["inn"]))
    assert denied.value.code == "POA_INSUFFICIENT"


def test_only_a_verified_change_can_be_confirmed(context, registers, applications):
    _, rejected = submitted(context, applications, change(ogrn=VASILEK.ogrn))
    with pytest.raises(IllegalTransition, match="'confirm' is not allowed in state 'rejected'"):
        confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, rejected.registration_number), signed_by=HEAD))
    with pytest.raises(IllegalTransition) as unknown:
        confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, "20300101-NOSUCH"), signed_by=HEAD))
    assert unknown.value.code == "UNKNOWN_APPLICATION"
    applied = applications.open("details", KIND, ROMASHKA.inn, "applied", change())
    with pytest.raises(IllegalTransition, match="'confirm' is not allowed in state 'applied'"):
        confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, applied.registration_number), signed_by=HEAD))
    other = applications.open("registration", "organisation-registration", ROMASHKA.inn, "verified", change())
    with pytest.raises(IllegalTransition):  # a number of another kind is not a change of details
        confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, other.registration_number), signed_by=HEAD))


def test_a_change_the_register_overtook_is_rejected_at_confirmation(context, registers, applications):
    _, first = submitted(context, applications, change(legal_address=None, phone=None, new_head=YAKOVLEVA))
    _, second = submitted(context, applications, change(legal_address=None, phone=None, new_head=YAKOVLEVA))
    carry_out(registers, confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, first.registration_number),
                                                signed_by=HEAD)).register_writes)
    late = confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, second.registration_number),
                                  signed_by=YAKOVLEVA.inn))  # the head now
    assert (late.state, late.from_state, late.register_writes) == ("rejected", "verified", ())
    assert [m.rule for m in codec.parse(late.response).mismatches] == ["the new head must not be the head already"]


def test_a_test_message_names_its_register_write_for_the_preview(context, applications):
    _, application = submitted(context, applications, change())
    decision = confirm_change(context(DetailsChangeConfirmation(ROMASHKA.inn, application.registration_number),
                                      signed_by=HEAD, test_message=True))
    assert decision.state == "applied"
    assert [w.action for w in decision.register_writes] == ["change_legal_entity_details"]

