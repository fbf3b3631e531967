"""A change of details' life cycle as a transition table (docs/domains.md).

``submitted`` is where every change starts; the same request is checked against ЕГРЮЛ at once
(``verified`` or ``rejected``). A verified change is confirmed (``applied``: entered in ЕГРЮЛ
through the outbox), or rejected at confirmation when the register no longer agrees with it.
``rejected`` and ``applied`` are final.
"""
from gateway.domains.statemachine import StateMachine

MACHINE = StateMachine("change of details", {
    (None, "submit"): "submitted",
    ("submitted", "register_matches"): "verified",
    ("submitted", "register_mismatch"): "rejected",
    ("verified", "confirm"): "applied",
    ("verified", "register_mismatch"): "rejected",
})
