"""The licensing handlers as pure functions: the checklist and statuses are built with the codecs,
the kinds come from licence_kinds(), and a grant names the licence to enter (RegisterWrite) after
reading whether its number is free."""
from __future__ import annotations

from datetime import date

import pytest

from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec
from envelopes.payloads.licensing import (Document, LicenceApplication, LicenceApplicationStatus,
                                          LicenceApplicationSupplement, LicenceApplicationWithdrawal,
                                          LicenceDecision, LicenceGrant, checklist_for, licence_kinds)
from gateway.domains.base import RegisterWrite
from gateway.domains.licensing.handler import (apply, authority_decision, authority_status, supplement,
                                               withdraw)
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.persist import registration_number
from handler_kit import MESSAGE_ID, NOW, carry_out, same_decision

HEAD = ROMASHKA.head.inn
KIND = "ALCOHOL_RETAIL"
LICENCE = "77РПА0012345"


def documents(*kinds: str) -> tuple[Document, ...]:
    return tuple(Document.of(kind, f"{kind.lower()}.pdf", kind.encode()) for kind in kinds)


def application(*kinds: str) -> LicenceApplication:
    return LicenceApplication(ROMASHKA.inn, KIND, "Розничная продажа алкоголя",
                              (ROMASHKA.legal_address, "г. Москва, ул. Арбат, д. 2"), documents(*kinds))


def test_an_incomplete_application_gets_the_checklist_and_is_held_back(context):
    decision = apply(context(application("CHARTER", "STATE_FEE"), signed_by=HEAD))
    number = registration_number(NOW, MESSAGE_ID)
    assert (decision.kind, decision.state, decision.forward) == (f"licence {KIND}", "incomplete", False)
    assert codec.parse(decision.response) == checklist_for(number, KIND, ["CHARTER", "STATE_FEE"])
    assert [kind for kind, _ in codec.parse(decision.response).missing] == ["PREMISES_RIGHT", "CASH_REGISTER"]
    assert decision.register_writes == ()


def test_a_complete_application_is_submitted(context):
    decision = apply(context(application(*licence_kinds()[KIND].documents), signed_by=HEAD))
    assert decision.forward and codec.parse(decision.response) == LicenceApplicationStatus(
        registration_number(NOW, MESSAGE_ID), "submitted")


@pytest.fixture
def incomplete(applications):
    """ROMASHKA's incomplete application, opened by an earlier request."""
    return applications.open("licensing", f"licence {KIND}", ROMASHKA.inn, "incomplete",
                             application("CHARTER", "STATE_FEE"), message_id="opened-by")


def test_a_supplement_that_completes_it_forwards_the_original(context, incomplete):
    number = incomplete.registration_number
    partial = supplement(context(LicenceApplicationSupplement(ROMASHKA.inn, number, documents("CASH_REGISTER")),
                                 signed_by=HEAD))
    assert (partial.state, partial.forward_original) == ("incomplete", None)
    assert codec.parse(partial.response) == checklist_for(number, KIND, ["CHARTER", "STATE_FEE", "CASH_REGISTER"])
    complete = supplement(context(LicenceApplicationSupplement(
        ROMASHKA.inn, number, documents("CASH_REGISTER", "PREMISES_RIGHT")), signed_by=HEAD))
    assert (complete.state, complete.application_id, complete.from_state, complete.forward_original) == \
        ("submitted", incomplete.id, "incomplete", "opened-by")
    assert codec.parse(complete.response) == LicenceApplicationStatus(number, "submitted")


def test_a_withdrawal_of_another_organisations_application_is_refused(context, incomplete):
    with pytest.raises(IllegalTransition, match="no licence application"):
        withdraw(context(LicenceApplicationWithdrawal("5003123458", incomplete.registration_number, "нет"),
                         signed_by="501234567802"))  # VASILEK's head, for VASILEK
    decision = withdraw(context(LicenceApplicationWithdrawal(ROMASHKA.inn, incomplete.registration_number,
                                                             "не нужно"), signed_by=HEAD))
    assert decision.state == "withdrawn" and decision.register_writes == ()


@pytest.fixture
def under_review(applications):
    return applications.open("licensing", f"licence {KIND}", ROMASHKA.inn, "under_review",
                             application(*licence_kinds()[KIND].documents), message_id=MESSAGE_ID)


def granted(number: str, licence: str = LICENCE) -> LicenceDecision:
    return LicenceDecision(number, granted=LicenceGrant(licence, date(2030, 4, 1), date(2035, 3, 31)))


def test_a_grant_names_the_licence_to_enter_dated_by_the_clock(context, registers, under_review):
    number = under_review.registration_number
    decision = authority_decision(context(granted(number), signed_by=None))
    assert (decision.state, decision.application_id, decision.from_state) == \
        ("granted", under_review.id, "under_review")
    assert decision.register_writes == (RegisterWrite("enter_licence", {"record": {
        "number": LICENCE, "holder_inn": ROMASHKA.inn, "kind": KIND, "activity": "Розничная продажа алкоголя",
        "address": ROMASHKA.legal_address, "valid_from": "2030-04-01", "valid_until": "2035-03-31",
        "application_number": number, "granted_on": NOW.date().isoformat()}}),)
    assert registers.licence(LICENCE) is None  # named, not done
    carry_out(registers, decision.register_writes)
    entered = registers.licence(LICENCE)
    assert (entered.holder_inn, entered.kind, entered.granted_on) == (ROMASHKA.inn, KIND, NOW.date())


def test_a_number_held_by_another_holder_is_read_before_deciding(context, under_review):
    with pytest.raises(IllegalTransition) as refused:
        authority_decision(context(granted(under_review.registration_number, "50РПА0012741"), signed_by=None))
    assert refused.value.code == "LICENCE_NUMBER_TAKEN"


def test_the_same_grant_again_enters_nothing(context, registers, under_review):
    first = authority_decision(context(granted(under_review.registration_number), signed_by=None))
    carry_out(registers, first.register_writes)
    again = authority_decision(context(granted(under_review.registration_number), signed_by=None))
    assert again.state == "granted" and again.register_writes == ()


def test_a_refusal_and_a_status_enter_nothing(context, under_review, applications):
    number = under_review.registration_number
    refused = authority_decision(context(LicenceDecision(number, refused=("помещение не подходит",)),
                                         signed_by=None))
    assert (refused.state, refused.register_writes) == ("refused", ())
    submitted = applications.open("licensing", f"licence {KIND}", ROMASHKA.inn, "submitted",
                                  application(*licence_kinds()[KIND].documents), message_id=MESSAGE_ID)
    status = authority_status(context(LicenceApplicationStatus(submitted.registration_number, "under_review"),
                                      signed_by=None))
    assert (status.state, status.register_writes) == ("under_review", ())
    with pytest.raises(IllegalTransition, match="only under_review"):
        authority_status(context(LicenceApplicationStatus(submitted.registration_number, "granted"),
                                 signed_by=None))


def test_an_answer_about_an_application_the_request_did_not_open_is_refused(context, under_review):
    with pytest.raises(IllegalTransition) as refused:
        authority_decision(context(granted(under_review.registration_number), signed_by=None,
                                   message_id="5c5a7a3e-53f5-4c1e-9d4b-0a1b2c3d4e5f"))
    assert refused.value.code == "ANSWER_TO_ANOTHER_APPLICATION"


def test_the_same_inputs_give_the_same_decision(context, under_review):
    ctx = context(granted(under_review.registration_number), signed_by=None)
    assert same_decision(authority_decision(ctx), authority_decision(ctx))
    assert same_decision(apply(context(application("CHARTER"), signed_by=HEAD)),
                         apply(context(application("CHARTER"), signed_by=HEAD)))
