"""The transition tables of the four domains: legal paths pass, illegal ones are refused."""
import pytest

from gateway.domains.licensing.states import MACHINE as LICENSING
from gateway.domains.poa.states import MACHINE as POA
from gateway.domains.registration.states import MACHINE as REGISTRATION
from gateway.domains.reporting.states import MACHINE as REPORTING
from gateway.domains.statemachine import IllegalTransition


def walk(machine, events, start=None):
    state = start
    for event in events:
        state = machine.next(state, event)
    return state


@pytest.mark.parametrize("machine,events,end", [
    (REPORTING, ["submit", "checks_passed", "processed"], "processed"),
    (REPORTING, ["submit", "checks_failed"], "refused"),
    (REPORTING, ["submit", "checks_passed", "superseded"], "superseded"),
    (LICENSING, ["submit_incomplete", "supplement_complete", "taken_by_authority", "granted"], "granted"),
    (LICENSING, ["submit_complete", "taken_by_authority", "refused"], "refused"),
    (LICENSING, ["submit_incomplete", "withdraw"], "withdrawn"),
    (POA, ["checks_passed", "revoke"], "revoked"),
    (POA, ["checks_passed", "validity_ended"], "expired"),
    (REGISTRATION, ["submit", "register_mismatch"], "rejected"),
])
def test_legal_paths(machine, events, end):
    assert walk(machine, events) == end


@pytest.mark.parametrize("machine,events", [
    (REPORTING, ["submit", "processed"]),
    (LICENSING, ["submit_complete", "granted"]),
    (LICENSING, ["submit_complete", "taken_by_authority", "granted", "withdraw"]),
    (POA, ["checks_passed", "revoke", "revoke"]),
    (POA, ["checks_failed", "revoke"]),
    (REGISTRATION, ["submit", "register_mismatch", "head_confirmed"]),
])
def test_illegal_paths_are_refused(machine, events):
    with pytest.raises(IllegalTransition):
        walk(machine, events)
