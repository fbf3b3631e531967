"""Subscribing, listing, removing and replaying — the rules shared by the CLI (gateway/ops/cli.py)
and the REST API (gateway/http/webhooks_api.py). Every change is journalled with its actor."""
from __future__ import annotations

from gateway.storage.db import utc_iso

import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from gateway.storage import webhooks as rows
from gateway.webhooks import destinations
from gateway.webhooks.events import EVENT_TYPES


class Invalid(ValueError):
    """A subscription that cannot be accepted (the message says why)."""


def check(url: str, events: list[str], networks: tuple | None = None) -> list[str]:
    """The events, deduplicated, of an acceptable subscription; ``networks`` (the allowed
    private networks) given: the URL's host must resolve to allowed addresses only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("url must be an absolute http(s) URL")
    if len(url) > 2000:
        raise Invalid("url is longer than 2000 characters")
    if not events:
        raise Invalid(f"name at least one event of: {', '.join(EVENT_TYPES)}")
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise Invalid(f"unknown event(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
    if networks is not None:
        why = destinations.refusal(url, networks)
        if why:
            raise Invalid(f"url refused: {why}")
    return list(dict.fromkeys(events))


def subscribe(engine, mnemonic: str, url: str, events: list[str], now: datetime,
              actor: str, networks: tuple = ()) -> tuple[rows.Subscription, str]:
    """(the subscription, its signing secret — shown this once). ``networks``: the private
    networks allowed besides public addresses (``GATEWAY_WEBHOOK_ALLOWED_NETWORKS``)."""
    secret = secrets.token_urlsafe(32)
    return rows.add_subscription(engine, mnemonic, url, check(url, events, networks), secret, now,
                                 actor), secret


def as_json(sub: rows.Subscription) -> dict:
    return {"id": sub.id, "system": sub.mnemonic, "url": sub.url, "events": list(sub.events),
            "active": sub.active, "created_at": utc_iso(sub.created_at)}


def delivery_json(d: rows.Delivery) -> dict:
    return {"id": d.id, "subscription_id": d.subscription_id, "event_id": d.event_id,
            "type": d.type, "state": d.state, "attempts": d.attempts,
            "last_status": d.last_status, "last_error": d.last_error,
            "created_at": utc_iso(d.created_at),
            "done_at": utc_iso(d.done_at) if d.done_at else None}


def replay(engine, delivery_id: int, now: datetime, max_age: timedelta, actor: str,
           mnemonic: str | None = None) -> bool:
    return rows.replay(engine, delivery_id, now, max_age, actor, mnemonic)
