import pytest

from gateway.domains.registration.states import MACHINE
from gateway.domains.statemachine import IllegalTransition


def test_registration_life_cycle():
    state = MACHINE.next(None, "submit")
    assert state == "received"
    state = MACHINE.next(state, "register_matches")
    state = MACHINE.next(state, "head_confirmed")
    assert state == "active"
    assert MACHINE.next(MACHINE.next(state, "suspend"), "resume") == "active"


def test_illegal_transition_names_what_is_allowed():
    with pytest.raises(IllegalTransition) as err:
        MACHINE.next("received", "head_confirmed")
    assert "register_matches" in err.value.description
    assert "received" in err.value.description
