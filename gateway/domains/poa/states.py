"""A power of attorney's life cycle as a transition table (docs/domains.md).

``expired`` is also decided at use time: a registered power past its end date is treated as
expired whether or not the transition has been recorded yet.
"""
from gateway.domains.statemachine import StateMachine

MACHINE = StateMachine("power of attorney", {
    (None, "checks_passed"): "registered",
    (None, "checks_failed"): "rejected",
    ("registered", "revoke"): "revoked",
    ("registered", "validity_ended"): "expired",
})
