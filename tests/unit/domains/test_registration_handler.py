"""The registration handlers as pure functions: the request is read with the codec, compared with
ЕГРЮЛ as read, and answered with RegistrationResult built by the codec."""
from __future__ import annotations

import dataclasses

import pytest

from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec
from envelopes.payloads.registration import HeadConfirmation, Mismatch, RegistrationResult, StatusChange
from gateway.domains.registration.handler import change_status, confirm_head, register_organisation
from gateway.domains.statemachine import IllegalTransition
from gateway.faults import AccessDenied
from handler_kit import same_decision

HEAD = ROMASHKA.head.inn
KIND = "organisation-registration"


def test_a_registration_matching_the_register_is_verified(context):
    decision = register_organisation(context(ROMASHKA, signed_by=HEAD, organisation=ROMASHKA.inn))
    assert (decision.kind, decision.organisation_inn, decision.state) == (KIND, ROMASHKA.inn, "verified")
    assert codec.parse(decision.response) == RegistrationResult(ROMASHKA.inn, "verified")
    assert decision.register_writes == ()


def test_every_mismatch_names_the_field_where_it_sits_and_the_register_value(context):
    wrong = dataclasses.replace(ROMASHKA, kpp="770201002", full_name="ООО «Ромашка-2»",
                                head=dataclasses.replace(ROMASHKA.head, last_name="Петров"))
    decision = register_organisation(context(wrong, signed_by=HEAD))
    assert decision.state == "rejected"
    path = "/reg:OrganisationRegistrationRequest"
    assert codec.parse(decision.response).mismatches == (
        Mismatch("КПП", f"{path}/reg:KPP", "770201002", ROMASHKA.kpp, "must equal the КПП in ЕГРЮЛ"),
        Mismatch("полное наименование", f"{path}/reg:FullName", "ООО «Ромашка-2»", ROMASHKA.full_name,
                 "must equal the полное наименование in ЕГРЮЛ"),
        Mismatch("фамилия руководителя", f"{path}/reg:Head/reg:LastName", "Петров", ROMASHKA.head.last_name,
                 "must equal the фамилия руководителя in ЕГРЮЛ"))


def test_an_organisation_not_in_the_register_is_rejected_at_its_inn(context):
    unknown = dataclasses.replace(ROMASHKA, inn="7707083893")
    [mismatch] = codec.parse(register_organisation(context(unknown, signed_by=HEAD)).response).mismatches
    assert (mismatch.field, mismatch.xpath, mismatch.register) == \
        ("ИНН", "/reg:OrganisationRegistrationRequest/reg:INN", "")


def test_someone_else_than_the_head_needs_a_power(context):
    with pytest.raises(AccessDenied) as denied:
        register_organisation(context(ROMASHKA, signed_by="770556348850"))
    assert denied.value.code == "POWER_OF_ATTORNEY_REQUIRED"


@pytest.fixture
def verified(applications):
    return applications.open("registration", KIND, ROMASHKA.inn, "verified", ROMASHKA)


def test_the_head_confirms_and_someone_else_cannot(context, verified):
    number = verified.registration_number
    request = HeadConfirmation(ROMASHKA.inn, ROMASHKA.ogrn, HEAD, number)
    by_other = confirm_head(context(request, signed_by="770556348850"))
    assert (by_other.state, by_other.from_state) == ("verified", "verified")
    assert [m.field for m in codec.parse(by_other.response).mismatches] == ["подпись"]
    decision = confirm_head(context(request, signed_by=HEAD))
    assert (decision.state, decision.application_id, decision.from_state) == ("active", verified.id, "verified")
    assert codec.parse(decision.response) == RegistrationResult(ROMASHKA.inn, "active", number)


def test_status_changes_follow_the_transition_table(context, verified, applications):
    with pytest.raises(IllegalTransition, match="'suspend' is not allowed in state 'verified'"):
        change_status(context(StatusChange(ROMASHKA.inn, verified.registration_number, "suspend", "проверка"),
                              signed_by=HEAD))
    active = applications.open("registration", KIND, ROMASHKA.inn, "active", ROMASHKA)
    decision = change_status(context(StatusChange(ROMASHKA.inn, active.registration_number, "suspend",
                                                  "проверка"), signed_by=HEAD))
    assert (decision.state, decision.from_state) == ("suspended", "active")
    assert codec.parse(decision.response) == RegistrationResult(ROMASHKA.inn, "suspended",
                                                                active.registration_number)


def test_the_same_inputs_give_the_same_decision(context):
    assert same_decision(register_organisation(context(ROMASHKA, signed_by=HEAD)),
                         register_organisation(context(ROMASHKA, signed_by=HEAD)))
