"""A report's life cycle as a transition table (docs/domains.md)."""
from gateway.domains.statemachine import StateMachine

MACHINE = StateMachine("report", {
    (None, "submit"): "received",
    ("received", "checks_passed"): "accepted",      # a receipt (квитанция) with a control code
    ("received", "checks_failed"): "refused",       # a notice with error codes
    ("accepted", "processed"): "processed",         # by the provider
    ("accepted", "provider_refused"): "refused",
    ("accepted", "superseded"): "superseded",       # correction n+1 replaces n
    ("processed", "superseded"): "superseded",
})
