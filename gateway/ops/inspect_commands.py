"""``gateway messages`` and ``gateway notifications``: what the gateway received and answered,
and what it announced — for the operator on call (the reads are in gateway/storage/)."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

import click

from gateway.config import Settings

OPERATIONS = ("SendRequest", "SendResponse", "GetRequest", "GetResponse", "Ack", "GetStatus",
              "GetIncomingQueueStatistics")


def _engine():
    from gateway.storage.db import make_engine

    return make_engine(Settings.from_env().resolved_database_url)


def _when(text: str | None, end: bool = False) -> datetime | None:
    """``2026-12-01`` (the day's start, or the next day's with ``end``) or an ISO time; UTC
    unless an offset is given."""
    if not text:
        return None
    try:
        if len(text) == 10:
            start = datetime.combine(date.fromisoformat(text), time.min, tzinfo=timezone.utc)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


# -- messages -------------------------------------------------------------------------------------

@click.group()
def messages() -> None:
    """What the gateway received and how it answered (from the journal and the stored messages)."""


def _row(entry, summary) -> dict:
    from gateway.storage.journal import ACCEPTED

    d = entry.detail
    accepted = entry.event in ACCEPTED
    return {"message_id": entry.message_id, "at": _iso(entry.at),
            "operation": ACCEPTED.get(entry.event) or d.get("operation") or entry.event,
            "sender": d.get("sender"), "recipient": summary.recipient if summary else None,
            "outcome": "accepted" if entry.event != "rejected" else "fault",
            "status": summary.status if summary else None,
            "fault": None if entry.event != "rejected" else f"{d.get('fault')}/{d.get('code')}",
            "registration_number": summary.registration_number if summary and accepted else None}


@messages.command("list")
@click.option("--from", "since", help="received at or after (YYYY-MM-DD or ISO time, UTC)")
@click.option("--to", "until", help="received before (a date: to the end of that day)")
@click.option("--sender", help="the sending information system (mnemonic)")
@click.option("--recipient", help="the recipient (accepted messages only)")
@click.option("--operation", type=click.Choice(OPERATIONS),
              help="default: SendRequest and SendResponse, and refusals of any operation")
@click.option("--status", type=click.Choice(["accepted", "fault"]), help="the outcome")
@click.option("--limit", type=int, default=50, show_default=True, help="at most this many rows")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts")
def messages_list(since, until, sender, recipient, operation, status, limit, fmt) -> None:
    """Requests received, newest first: time, MessageID, operation, sender → recipient, outcome
    (the status, or the fault and its code)."""
    from gateway.storage import journal, messages as stored

    with _engine().connect() as conn:
        entries = journal.requests(conn, since=_when(since), until=_when(until, end=True),
                                   sender=sender, recipient=recipient, operation=operation,
                                   outcome=status, limit=limit)
        summaries = stored.summaries(conn, [e.message_id for e in entries
                                            if e.message_id and e.event in journal.ACCEPTED])
    found = [_row(e, summaries.get(e.message_id) if e.event in journal.ACCEPTED else None)
             for e in entries]
    if fmt == "json":
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    for r in found:
        outcome = r["status"] if r["outcome"] == "accepted" else f"fault {r['fault']}"
        click.echo(f"{r['at']}\t{r['message_id'] or '-'}\t{r['operation']}\t"
                   f"{r['sender'] or '-'} -> {r['recipient'] or '-'}\t{outcome}")


@messages.command("show")
@click.argument("message_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts")
def messages_show(message_id, fmt) -> None:
    """One MESSAGE_ID: the stored message, the verification verdict (signature, certificate,
    path), the answers to it and every journal entry naming it."""
    from gateway.storage import journal, messages as stored

    with _engine().connect() as conn:
        entries = journal.entries_of(conn, message_id)
        summary = stored.summaries(conn, [message_id]).get(message_id)
        answers = stored.answers_to(conn, message_id)
    if summary is None and not entries:
        raise click.ClickException(f"nothing is known of MessageID {message_id}")
    accepted = next((e for e in entries if e.event in journal.ACCEPTED), None)
    refused = [e for e in entries if e.event == "rejected"]
    shown = {
        "message_id": message_id,
        "message": None if summary is None else {
            "operation": "SendRequest" if summary.message_type == "REQUEST" else "SendResponse",
            "sender": summary.sender, "recipient": summary.recipient,
            "business_type": f"{{{summary.namespace_uri}}}{summary.root_element}",
            "received_at": _iso(summary.received_at), "status": summary.status,
            "registration_number": summary.registration_number,
            "reference_message_id": summary.reference_message_id, "test": summary.test_message,
            "transaction_code": summary.transaction_code},
        "verification": accepted.detail.get("verification") if accepted else None,
        "refusals": [{"at": _iso(e.at), "operation": e.detail.get("operation"),
                      "fault": e.detail.get("fault"), "code": e.detail.get("code"),
                      "description": e.detail.get("description")} for e in refused],
        "answers": [{"message_id": a.message_id, "sender": a.sender, "received_at": _iso(a.received_at),
                     "business_type": f"{{{a.namespace_uri}}}{a.root_element}", "status": a.status}
                    for a in answers],
        "journal": [{"id": e.id, "at": _iso(e.at), "direction": e.direction, "event": e.event,
                     "detail": e.detail} for e in entries],
    }
    if fmt == "json":
        click.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    click.echo(f"MessageID      {message_id}")
    m = shown["message"]
    if m:
        for key in ("operation", "sender", "recipient", "business_type", "received_at", "status",
                    "registration_number", "reference_message_id", "transaction_code", "test"):
            if m[key] not in (None, ""):
                click.echo(f"{key:<15}{m[key]}")
    v = shown["verification"]
    if v:
        click.echo(f"verification   {v.get('signature')} {v.get('indication')}"
                   f"{'/' + v['sub_indication'] if v.get('sub_indication') else ''}"
                   f" ({v.get('signature_method')})")
        click.echo(f"certificate    {v.get('certificate')} serial {v.get('serial')}")
        for i, subject in enumerate(v.get("path") or []):
            click.echo(f"  path[{i}]      {subject}")
        if not v.get("path"):
            click.echo("  path         not stored (accepted before paths were journalled)")
    for r in shown["refusals"]:
        click.echo(f"refused        {r['at']} {r['operation'] or '-'}: {r['fault']}/{r['code']}: "
                   f"{r['description']}")
    for a in shown["answers"]:
        click.echo(f"answer         {a['message_id']} from {a['sender']} at {a['received_at']}: "
                   f"{a['business_type']} ({a['status']})")
    click.echo("journal:")
    for e in shown["journal"]:
        detail = {k: v for k, v in e["detail"].items() if k != "verification"}
        click.echo(f"  {e['id']}\t{e['at']}\t{e['direction']}\t{e['event']}\t"
                   f"{json.dumps(detail, ensure_ascii=False, sort_keys=True)}")


# -- notifications ----------------------------------------------------------------------------

@click.group(invoke_without_command=True)
@click.option("--kind", type=click.Choice(["certificate.expiring", "poa.expiring",
                                           "deadline.approaching"]), help="only this event type")
@click.option("--inn", help="the organisation's ИНН")
@click.option("--from", "since", help="sent at or after (YYYY-MM-DD or ISO time, UTC)")
@click.option("--to", "until", help="sent before (a date: to the end of that day)")
@click.option("--limit", type=int, default=200, show_default=True, help="at most this many rows")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for people, json for scripts")
@click.pass_context
def notifications(ctx, kind, inn, since, until, limit, fmt) -> None:
    """Notifications of what is coming that were sent, newest first: when, what, the threshold,
    to whom, and the state of each subscription's delivery (``scan``: look now)."""
    if ctx.invoked_subcommand is not None:
        return
    from gateway.storage import notifications as store

    sent = store.sent(_engine(), kind=kind, inn=inn, since=_when(since), until=_when(until, end=True),
                      limit=limit)
    rows = [{"sent_at": _iso(s.created_at), "kind": s.kind, "subject": s.subject,
             "threshold_days": s.threshold_days, "due_at": _iso(s.due_at),
             "organisation_inn": s.organisation_inn, "system": s.mnemonic, "event_id": s.event_id,
             "deliveries": [{"subscription_id": sub, "state": state} for sub, state in s.deliveries],
             "event": "pruned" if s.fanned_out is None else ("fanned out" if s.fanned_out else "new")}
            for s in sent]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        to = r["organisation_inn"] or r["system"]
        if r["deliveries"]:
            went = ", ".join(f"subscription {d['subscription_id']}: {d['state']}" for d in r["deliveries"])
        else:
            went = {"new": "not fanned out yet", "pruned": "event deleted (retention)"}.get(
                r["event"], "no subscription wanted it")
        click.echo(f"{r['sent_at']}\t{r['kind']}\t{r['subject']}\t{r['threshold_days']}d\t{to}\t{went}")


@notifications.command("scan")
@click.option("--at", "at", help="scan as of this time (ISO, UTC; default: now) — to check ahead")
def notifications_scan(at) -> None:
    """Look for what is coming now, as the hourly housekeeping does; prints what was new."""
    from gateway.ops.notifications import scan

    now = _when(at) or datetime.now(timezone.utc)
    new = scan(_engine(), Settings.from_env(), now)
    for kind, count in new.items():
        click.echo(f"{kind}\t{count} new")
