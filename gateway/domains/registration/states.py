"""The organisation's life cycle as a transition table (docs/domains.md)."""
from gateway.domains.statemachine import StateMachine

MACHINE = StateMachine("organisation registration", {
    (None, "submit"): "received",
    ("received", "register_matches"): "verified",
    ("received", "register_mismatch"): "rejected",
    ("verified", "head_confirmed"): "active",
    ("active", "suspend"): "suspended",
    ("suspended", "resume"): "active",
    ("active", "close"): "closed",
    ("suspended", "close"): "closed",
})
