"""A licence application's life cycle as a transition table (docs/domains.md)."""
from gateway.domains.statemachine import StateMachine

MACHINE = StateMachine("licence application", {
    (None, "submit_incomplete"): "incomplete",      # a checklist of missing documents
    (None, "submit_complete"): "submitted",
    ("incomplete", "supplement_complete"): "submitted",
    ("incomplete", "supplement_incomplete"): "incomplete",
    ("submitted", "taken_by_authority"): "under_review",
    ("under_review", "granted"): "granted",
    ("under_review", "refused"): "refused",
    ("incomplete", "withdraw"): "withdrawn",
    ("submitted", "withdraw"): "withdrawn",
    ("under_review", "withdraw"): "withdrawn",
})
