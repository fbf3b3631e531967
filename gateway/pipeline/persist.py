"""Stage: persist the accepted message, its business state, the register writes it needs, what
it queues and its journal entries in ONE transaction; only then may the receipt leave.

A repeat of a stored MessageID is normally answered before any handler runs (the ``replay``
stage); two workers racing with the same new MessageID are settled here by the unique
constraint: the loser answers with the winner's receipt and writes nothing.

Hot path: the receipt is built and signed BEFORE the write transaction (the registration number
does not depend on the database), so the write lock is held for as short a time as possible, and
the writes of concurrent requests of one process share one COMMIT (gateway/storage/group_commit.py).
"""
from __future__ import annotations

import base64
import copy
import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

from lxml import etree

from envelopes import ns

from gateway.domains.base import RegisterWrite
from gateway.domains.statemachine import IllegalTransition
from gateway.pipeline.stages import same_message
from gateway.storage import applications, journal, messages, notifications, outbox, webhooks
from gateway.storage.group_commit import group_commit
from gateway.webhooks.events import for_change as webhook_events


@dataclasses.dataclass(frozen=True)
class IncomingMessage:
    """What the pipeline accepted, ready to be stored."""

    message_id: str
    message_type: str  # REQUEST | RESPONSE
    reference_message_id: str | None
    sender: str
    recipient: str
    namespace_uri: str
    root_element: str
    content_digest: str
    test_message: bool
    received_at: datetime
    envelope: bytes
    verification: dict
    reply_to: str | None = None
    node_id: str | None = None
    transaction_code: str | None = None
    eol: datetime | None = None
    status: str = "requestIsQueued"
    person: Any = None  # SignerIdentity of a PersonalSignature: its certificate is remembered
    person_not_after: datetime | None = None


@dataclasses.dataclass(frozen=True)
class ApplicationChange:
    """The state-machine transition a handler decided on (stored with the message)."""

    domain: str
    kind: str
    organisation_inn: str
    state: str
    application_id: int | None = None  # update this application (if still in from_state)
    from_state: str | None = None
    also_moves: tuple[tuple[int, str, str], ...] = ()  # (id, from state, to state)


@dataclasses.dataclass(frozen=True)
class StoredReceipt:
    registration_number: str
    receipt: bytes
    replayed: bool  # True: the MessageID was stored before (by a racing worker)
    outbox_ids: tuple[int, ...] = ()  # register writes to carry out now that it is committed


@dataclasses.dataclass(frozen=True)
class Queued:
    """A message the commit queues, as a test message's preview names it."""

    kind: str  # REQUEST (to a provider) | RESPONSE (to the consumer)
    recipient: str
    content_type: str  # {namespace}root
    status: str | None = None
    rejections: tuple[tuple[str, str], ...] = ()
    content: object = None  # the business answer element the gateway itself would queue


ReceiptBuilder = Callable[[str], bytes]  # registration number -> signed receipt bytes
#: registration number, the test preview (None for a live message) -> signed receipt bytes
PreviewReceiptBuilder = Callable[[str, object], bytes]
AlsoWrite = Callable[[object], None]  # more writes in the same transaction (queues, ...)


def registration_number(received_at: datetime, message_id: str) -> str:
    """Unique without a database round trip: the date and the MessageID in base32 (35 chars)."""
    code = base64.b32encode(bytes.fromhex(message_id.replace("-", ""))).decode("ascii").rstrip("=")
    return f"{received_at:%Y%m%d}-{code}"


def store_request(engine, msg: IncomingMessage, build_receipt: ReceiptBuilder,
                  change: ApplicationChange | None, also: AlsoWrite | None = None,
                  register_writes: tuple[RegisterWrite, ...] = (),
                  outbox_lease: timedelta = timedelta(seconds=30)) -> StoredReceipt:
    """Store ``msg`` (and ``change``, the ``register_writes`` as outbox rows, and whatever
    ``also`` writes: queue items) durably, in one transaction; the receipt that may now be sent."""
    number = registration_number(msg.received_at, msg.message_id)
    receipt = build_receipt(number)
    live = not msg.test_message  # a test message changes no state and writes no register

    # made before the write lock is taken: their JSON and digests need no database
    entries = [
        journal.Entry(at=msg.received_at, message_id=msg.message_id, direction="IN",
                      event=f"{msg.message_type.lower()}-accepted",
                      detail={"sender": msg.sender, "verification": msg.verification,
                              "state": change.state if change else None,
                              "test": msg.test_message},
                      content=msg.envelope),
        journal.Entry(at=msg.received_at, message_id=msg.message_id, direction="OUT",
                      event="receipt", detail={"registration_number": number}, content=receipt),
    ]

    def write(conn) -> list[int]:
        """The writes of this message; run in the process's next group commit."""
        pk = messages.insert_message(conn, dict(
            message_id=msg.message_id, message_type=msg.message_type,
            reference_message_id=msg.reference_message_id, sender=msg.sender,
            recipient=msg.recipient, namespace_uri=msg.namespace_uri,
            root_element=msg.root_element, content_digest=msg.content_digest,
            test_message=msg.test_message, status=msg.status,
            registration_number=number, received_at=msg.received_at,
            envelope=msg.envelope, receipt=receipt, reply_to=msg.reply_to,
            node_id=msg.node_id, transaction_code=msg.transaction_code, eol=msg.eol))
        if change is not None and live:
            new_id = _apply(conn, change, pk, number, msg.received_at)
            webhooks.add_events(conn, webhook_events(change, new_id, number, msg.message_id,
                                                     msg.sender, msg.received_at))
            if msg.person is not None and msg.person_not_after is not None:
                # a head or representative: warned before this certificate ends (notifications)
                notifications.remember_person(
                    conn, fingerprint=msg.person.fingerprint_sha256,
                    organisation_inn=change.organisation_inn, person_inn=msg.person.inn,
                    subject=msg.person.subject, not_after=msg.person_not_after,
                    message_id=msg.message_id, at=msg.received_at)
        ids = outbox.add(conn, msg.message_id, [(w.action, dict(w.args)) for w in register_writes],
                         msg.received_at, outbox_lease) if register_writes and live else []
        if also is not None:
            also(conn)
        journal.append_many(conn, entries)
        return ids

    try:
        ids = group_commit(engine).run(write)
        return StoredReceipt(number, receipt, False, tuple(ids))
    except messages.DuplicateMessage:
        # Another worker stored this MessageID between our replay check and now.
        stored = messages.lookup(engine, msg.message_id)
        if stored is None:
            raise
        return StoredReceipt(stored.registration_number,
                             same_message(stored, msg.message_id, msg.content_digest), True)


def change_of(domain, decision) -> ApplicationChange | None:
    """The application change a handler's decision asks for (None without a decision)."""
    if decision is None:
        return None
    return ApplicationChange(domain.name, decision.kind, decision.organisation_inn, decision.state,
                             decision.application_id, decision.from_state, decision.also_moves)


def store_decided(svc, ctx, incoming: IncomingMessage, build_receipt: PreviewReceiptBuilder,
                  also: AlsoWrite, queued: Sequence[Queued] = ()) -> bytes:
    """The commit stage of SendRequest and SendResponse: store ``incoming`` with what the
    handler decided (``ctx.decision``) in one transaction, then carry out its register writes
    (side effects only after the commit); the receipt that may now leave.

    A test message (``TestMessage``) is stored and journaled alone: the same decision becomes
    the receipt's ``gw:TestPreview`` (state change, ``queued``, register writes) instead of
    being carried out, so the preview cannot drift from what a live message does."""
    decision = ctx.decision
    change = change_of(ctx.domain, decision)
    writes = decision.register_writes if decision else ()
    if incoming.test_message:
        stored = store_request(svc.engine, incoming, lambda number: build_receipt(
            number, preview_of(change, number, queued, writes)), None)
        return stored.receipt
    stored = store_request(svc.engine, incoming, lambda number: build_receipt(number, None),
                           change, also, writes,
                           outbox_lease=timedelta(seconds=svc.settings.outbox_lease_seconds))
    if stored.outbox_ids and svc.outbox is not None:
        svc.outbox.run(stored.outbox_ids)
    return stored.receipt


def preview_of(change: ApplicationChange | None, number: str, queued: Sequence[Queued],
                 writes: Sequence[RegisterWrite]) -> etree._Element:
    """``gw:TestPreview``: what ``_apply``, the queues and the outbox would have been given.
    A new application's registration number is the message's (as ``_apply`` would issue it),
    marked ``Issued="false"``."""
    r = ns.RECEIPT
    preview = etree.Element(ns.q(r, "TestPreview"), nsmap={"gw": r}, Done="false")

    def sub(parent, tag, text=None, **attrs):
        el = etree.SubElement(parent, ns.q(r, tag), **attrs)
        if text is not None:
            el.text = str(text)
        return el

    if change is not None:
        moves = [(change.kind, change.application_id, change.from_state, change.state)]
        moves += [(None, a_id, from_state, to_state) for a_id, from_state, to_state in change.also_moves]
        for kind, application_id, from_state, to_state in moves:
            el = sub(preview, "StateChange")
            sub(el, "Domain", change.domain)
            if kind is not None:
                sub(el, "Kind", kind)
                sub(el, "OrganisationINN", change.organisation_inn)
            if application_id is not None:
                sub(el, "ApplicationId", application_id)
            if from_state is not None:
                sub(el, "FromState", from_state)
            sub(el, "ToState", to_state)
            if application_id is None:
                sub(el, "RegistrationNumber", number, Issued="false")
    for item in queued:
        el = sub(preview, "Queued")
        sub(el, "Kind", item.kind)
        sub(el, "Recipient", item.recipient)
        sub(el, "ContentType", item.content_type)
        if item.status is not None:
            sub(el, "Status", item.status)
        for code, description in item.rejections:
            sub(el, "Rejection", description, Code=code)
        if item.content is not None:
            sub(el, "Content").append(copy.deepcopy(item.content))
    for write in writes:
        el = sub(preview, "RegisterWrite")
        sub(el, "Action", write.action)
        sub(el, "Arguments", json.dumps(dict(write.args), ensure_ascii=False, sort_keys=True,
                                        default=str))
    return preview


def _apply(conn, change: ApplicationChange, pk: int, number: str, at: datetime) -> int | None:
    moves = list(change.also_moves)
    if change.application_id is not None:
        moves.append((change.application_id, change.from_state, change.state))
    for application_id, from_state, to_state in moves:
        if not applications.move(conn, application_id, from_state, to_state, at):
            # another request moved it first: refuse, change nothing
            raise IllegalTransition(f"application {application_id} is no longer '{from_state}'",
                                    code="CONCURRENT_TRANSITION")
        applications.record_transition(conn, application_id=application_id, message_pk=pk,
                                        from_state=from_state, to_state=to_state, at=at)
    if change.application_id is None:  # the new application's id (its webhook events' order)
        new_id = applications.open_application(conn, message_pk=pk, domain=change.domain,
                                               kind=change.kind,
                                               organisation_inn=change.organisation_inn,
                                               state=change.state, registration_number=number, at=at)
        applications.record_transition(conn, application_id=new_id, message_pk=pk, from_state=None,
                                        to_state=change.state, at=at)
        return new_id
    return None
