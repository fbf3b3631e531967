"""Which webhook events a state change produces (pure: no I/O, called inside the transaction of
gateway/pipeline/persist.py, which stores what it returns with the change itself)."""
from __future__ import annotations

from envelopes import ids
from datetime import datetime
from typing import Protocol

from gateway.storage.webhooks import NewEvent

EVENT_TYPES = (
    "application.created", "application.status_changed", "report.processed", "licence.decided",
    "poa.registered", "poa.revoked", "poa.expiring", "certificate.expiring",
    "deadline.approaching",
)

#: (domain, state entered) -> the domain's own event, besides application.*
_DOMAIN_EVENTS = {
    ("reporting", "processed"): "report.processed",
    ("licensing", "granted"): "licence.decided",
    ("licensing", "refused"): "licence.decided",
    ("poa", "registered"): "poa.registered",
    ("poa", "revoked"): "poa.revoked",
}


class Change(Protocol):
    """What gateway/pipeline/persist.py's ApplicationChange offers (read only)."""

    domain: str
    kind: str
    organisation_inn: str
    state: str
    application_id: int | None
    from_state: str | None
    also_moves: tuple[tuple[int, str, str], ...]


def ordering_key(application_id: int) -> str:
    return f"application:{application_id}"


def for_change(change: Change, new_application_id: int | None, registration_number: str,
               message_id: str, sender: str, at: datetime) -> list[NewEvent]:
    """The events of one applied change, in the order they happened: the moved applications'
    status changes, then the new application."""
    events: list[NewEvent] = []

    def add(event_type: str, application_id: int, data: dict) -> None:
        events.append(NewEvent(
            event_id=ids.random_id(), type=event_type, ordering_key=ordering_key(application_id),
            created_at=at, organisation_inn=change.organisation_inn,
            payload={"application_id": application_id, "domain": change.domain,
                     "organisation_inn": change.organisation_inn, "message_id": message_id,
                     "sender": sender, **data}))

    moves = list(change.also_moves)
    if change.application_id is not None:
        moves.append((change.application_id, change.from_state, change.state))
    for application_id, from_state, to_state in moves:
        data = {"status": to_state, "previous_status": from_state}
        if application_id == change.application_id:
            data["kind"] = change.kind
        add("application.status_changed", application_id, data)
        if (change.domain, to_state) in _DOMAIN_EVENTS:
            add(_DOMAIN_EVENTS[(change.domain, to_state)], application_id, data)
    if new_application_id is not None:
        data = {"status": change.state, "kind": change.kind,
                "registration_number": registration_number}
        add("application.created", new_application_id, data)
        if (change.domain, change.state) in _DOMAIN_EVENTS:
            add(_DOMAIN_EVENTS[(change.domain, change.state)], new_application_id, data)
    return events
