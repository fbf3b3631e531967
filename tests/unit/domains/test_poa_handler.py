"""The power-of-attorney handlers as pure functions: they read the registers, decide, and name
the register change (RegisterWrite) instead of making it; the answer is read back with the codecs."""
from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from envelopes.demo_data import ROMASHKA
from envelopes.payloads import codec
from envelopes.payloads.poa import (PowerOfAttorney, PowerOfAttorneyRegistered, PowerOfAttorneyRegistration,
                                    PowerOfAttorneyRejected, PowerOfAttorneyResult, PowerOfAttorneyRevocation,
                                    Principal, Representative, terms)
from gateway.domains.base import RegisterWrite
from gateway.domains.poa.handler import register, revoke
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.persist import registration_number
from handler_kit import MESSAGE_ID, NOW, carry_out, same_decision

TODAY = NOW.date()
HEAD = ROMASHKA.head.inn
SOKOLOV = Representative("Соколов", "Олег", "Викторович", "770556348850", "88902845970")
NIKOLAEV = Representative("Николаев", "Александр", "Андреевич", "771998972689", "35362710670")
NUMBER = "9a6a2d1c-4a4f-4c55-9a0e-2f6f1b7d3c11"
PARENT = "5d0c7a8e-1b2f-4e3d-8c4b-6a7f9e0d1c2b"


def power(number=NUMBER, *, representative=SOKOLOV, powers=("REPORTS_SUBMIT",), issued=TODAY,
          until=TODAY + timedelta(days=365), **kw) -> PowerOfAttorneyRegistration:
    return PowerOfAttorneyRegistration(PowerOfAttorney(number, issued, until, Principal.of(ROMASHKA),
                                                       representative, tuple(powers), **kw))


def register_entry(registration: PowerOfAttorneyRegistration) -> dict:
    """What the register holds once ``registration`` was carried out (the record it was sent)."""
    t = terms(registration.document)
    return {"number": t.number, "issued_on": t.issue_date.isoformat(), "valid_until": t.valid_until.isoformat(),
            "principal": dataclasses.asdict(t.principal), "representative": dataclasses.asdict(t.representative),
            "powers": list(t.powers), "substitution": t.substitution, "parent_number": t.parent_number}


def seed(registers, registration: PowerOfAttorneyRegistration, *, revoked_on: date | None = None):
    """A power already in the register (through the register's own checks)."""
    carry_out(registers, [RegisterWrite("register_power_of_attorney", {"record": register_entry(registration)})])
    if revoked_on:
        carry_out(registers, [RegisterWrite("revoke_power_of_attorney", {
            "number": registration.document.number, "at": revoked_on.isoformat()})])
    return registers.power_of_attorney(registration.document.number)


def test_a_registration_by_the_head_is_decided_and_names_the_register_write(context, registers):
    request = power()
    decision = register(context(request, signed_by=HEAD))
    assert (decision.kind, decision.organisation_inn, decision.state) == \
        ("power-of-attorney", ROMASHKA.inn, "registered")
    assert codec.parse(decision.response) == PowerOfAttorneyRegistered(
        NUMBER, registration_number(NOW, MESSAGE_ID), NOW, TODAY + timedelta(days=365))
    [write] = decision.register_writes
    assert write == RegisterWrite("register_power_of_attorney", {"record": register_entry(request)})
    assert registers.power_of_attorney(NUMBER) is None  # named, not done
    carry_out(registers, decision.register_writes)  # what the outbox will do, the register's checks applied
    entry = registers.power_of_attorney(NUMBER)
    assert (entry.principal_inn, entry.principal_head_inn, entry.representative_inn, entry.powers,
            entry.status) == (ROMASHKA.inn, HEAD, SOKOLOV.inn, frozenset({"REPORTS_SUBMIT"}), "active")


def test_a_test_message_is_decided_alike_writes_and_all(context):
    """The pipeline, not the handler, keeps a test message from acting: the same decision is
    what the test receipt's preview shows."""
    real = register(context(power(), signed_by=HEAD))
    test = register(context(power(), signed_by=HEAD, test_message=True))
    assert test.register_writes == real.register_writes != ()
    assert same_decision(test, real)


def test_the_same_power_registered_again_is_an_idempotent_repeat(context, registers):
    request = power()
    seed(registers, request)
    decision = register(context(request, signed_by=HEAD))
    assert decision.state == "registered" and decision.register_writes == ()
    assert isinstance(codec.parse(decision.response), PowerOfAttorneyRegistered)


def test_a_number_taken_by_another_power_is_read_before_deciding(context, registers):
    seed(registers, power(representative=NIKOLAEV))
    decision = register(context(power(), signed_by=HEAD))
    assert decision.state == "rejected" and decision.register_writes == ()
    rejected = codec.parse(decision.response)
    assert isinstance(rejected, PowerOfAttorneyRejected)
    [reason] = rejected.reasons
    assert reason.code == "NUMBER_TAKEN" and reason.xpath == "/poa:PowerOfAttorneyRegistration/poa:Number"


def test_every_failed_check_is_a_reason_and_nothing_is_written(context):
    stranger = Representative("Неизвестный", "Некто", None, "500100732259", "11223344595")
    decision = register(context(power(representative=stranger, issued=TODAY + timedelta(days=1)),
                                signed_by=SOKOLOV.inn))
    assert decision.state == "rejected" and decision.register_writes == ()
    codes = {r.code: r.xpath for r in codec.parse(decision.response).reasons}
    assert codes == {"NOT_SIGNED_BY_HEAD": "/poa:PowerOfAttorneyRegistration/poa:Principal/poa:HeadINN",
                     "REPRESENTATIVE_UNKNOWN": "/poa:PowerOfAttorneyRegistration/poa:Representative/poa:INN",
                     "ISSUED_IN_FUTURE": "/poa:PowerOfAttorneyRegistration/poa:IssueDate"}


def test_validity_is_judged_by_the_injected_clock(context):
    """Valid until a day that is past for the handler's clock but far ahead of the real date."""
    until = TODAY - timedelta(days=1)
    assert until > date.today()  # the system clock would have accepted it
    decision = register(context(power(issued=date(2029, 1, 1), until=until), signed_by=HEAD))
    assert [r.code for r in codec.parse(decision.response).reasons] == ["VALIDITY_ENDED"]
    later = register(context(power(issued=date(2029, 1, 1), until=until), signed_by=HEAD,
                             now=NOW - timedelta(days=30)))
    assert later.state == "registered"


def test_a_substituted_power_is_checked_against_its_parent_as_read(context, registers):
    parent = seed(registers, power(PARENT, representative=NIKOLAEV, powers=("REPORTS_SUBMIT", "LICENCE_APPLY"),
                                   substitution=True))
    request = power(powers=("LICENCE_APPLY",), until=TODAY + timedelta(days=30), parent_number=PARENT)
    decision = register(context(request, signed_by=NIKOLAEV.inn))  # the parent's representative
    assert decision.state == "registered", codec.parse(decision.response)
    [write] = decision.register_writes
    assert write.args["record"]["parent_number"] == parent.number
    wider = power(powers=("LICENCE_APPLY", "LICENCE_WITHDRAW"), parent_number=PARENT)
    refused = register(context(wider, signed_by=NIKOLAEV.inn))
    assert [r.code for r in codec.parse(refused.response).reasons] == ["POWERS_EXCEED_PARENT"]
    assert refused.register_writes == ()


def revocation(number=NUMBER, on=TODAY) -> PowerOfAttorneyRevocation:
    return PowerOfAttorneyRevocation(number, ROMASHKA.inn, on, "поручение выполнено")


def test_a_revocation_by_the_head_names_the_write_with_the_requested_date(context, registers):
    seed(registers, power())
    decision = revoke(context(revocation(on=date(2030, 3, 1)), signed_by=HEAD))
    assert (decision.kind, decision.state) == ("power-of-attorney-revocation", "revoked")
    assert codec.parse(decision.response) == PowerOfAttorneyResult(NUMBER, "revoked")
    assert decision.register_writes == (
        RegisterWrite("revoke_power_of_attorney", {"number": NUMBER, "at": "2030-03-01"}),)
    assert registers.power_of_attorney(NUMBER).status == "active"  # decided, not done
    carry_out(registers, decision.register_writes)
    entry = registers.power_of_attorney(NUMBER)
    assert (entry.status, entry.revoked_at) == ("revoked", date(2030, 3, 1))


def test_a_test_revocation_names_its_write_for_the_preview(context, registers):
    seed(registers, power())
    decision = revoke(context(revocation(), signed_by=HEAD, test_message=True))
    assert decision.state == "revoked"
    assert [w.action for w in decision.register_writes] == ["revoke_power_of_attorney"]
    assert registers.power_of_attorney(NUMBER).status == "active"  # named, not done


def test_a_revocation_by_someone_else_is_answered_and_writes_nothing(context, registers):
    seed(registers, power())
    decision = revoke(context(revocation(), signed_by=SOKOLOV.inn))
    assert decision.state == "rejected" and decision.register_writes == ()
    result = codec.parse(decision.response)
    assert result.state == "registered" and "principal's head" in result.reasons[0]


@pytest.mark.parametrize("status,error", [("revoked", "'revoke' is not allowed in state 'revoked'"),
                                          (None, "no power of attorney")])
def test_a_revocation_that_cannot_be_is_refused_before_anything_is_named(context, registers, status, error):
    if status:
        seed(registers, power(), revoked_on=date(2030, 1, 1))
    with pytest.raises(IllegalTransition, match=error):
        revoke(context(revocation(), signed_by=HEAD))


def test_the_same_inputs_give_the_same_decision(context, registers):
    """Nothing but the context decides: no state kept between calls, no clock of its own."""
    assert same_decision(register(context(power(), signed_by=HEAD)), register(context(power(), signed_by=HEAD)))
    seed(registers, power())
    assert same_decision(revoke(context(revocation(), signed_by=HEAD)), revoke(context(revocation(), signed_by=HEAD)))
