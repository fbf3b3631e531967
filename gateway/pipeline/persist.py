"""Stage: persist the accepted message, its business state and its journal entries in ONE
transaction, and only then let the receipt leave.

Idempotency lives here: a repeated MessageID with the same content digest returns the original
receipt byte for byte and writes nothing; with another digest it is ``MessageIsAlreadySent``.
The unique constraint on ``messages.message_id`` is the arbiter, so two workers racing with the
same MessageID cannot both write.

Hot path: the receipt is built and signed BEFORE the write transaction (the registration number
does not depend on the database), statements are built once and reused, and the journal head is
read once per transaction, so the write lock is held for as short a time as possible.
"""
from __future__ import annotations

import base64
import dataclasses
import uuid
from datetime import datetime
from typing import Callable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.faults import MessageIsAlreadySent
from gateway.domains.statemachine import IllegalTransition
from gateway.storage import journal
from gateway.storage.db import write_transaction
from gateway.storage.schema import applications, messages


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
    replayed: bool  # True: the MessageID was seen before with the same content


ReceiptBuilder = Callable[[str], bytes]  # registration number -> signed receipt bytes
AlsoWrite = Callable[[Connection], None]  # more writes in the same transaction (queues, ...)

_INSERT_MESSAGE = insert(messages).returning(messages.c.id)
_INSERT_APPLICATION = insert(applications)
_FIND = select(messages.c.content_digest, messages.c.registration_number, messages.c.receipt) \
    .where(messages.c.message_id == bindparam("message_id"))


def registration_number(received_at: datetime, message_id: str) -> str:
    """Unique without a database round trip: the date and the MessageID in base32 (35 chars)."""
    code = base64.b32encode(uuid.UUID(message_id).bytes).decode("ascii").rstrip("=")
    return f"{received_at:%Y%m%d}-{code}"


def find_receipt(conn: Connection, msg: IncomingMessage) -> StoredReceipt | None:
    row = conn.execute(_FIND, {"message_id": msg.message_id}).first()
    if row is None:
        return None
    if row.content_digest != msg.content_digest:
        raise MessageIsAlreadySent(
            f"MessageID {msg.message_id} was already used for a different message",
            code="MESSAGE_ID_REUSED")
    return StoredReceipt(row.registration_number, row.receipt, True)


def store_request(engine: Engine, msg: IncomingMessage, build_receipt: ReceiptBuilder,
                  change: ApplicationChange | None, also: AlsoWrite | None = None) -> StoredReceipt:
    """Store ``msg`` (and ``change``, and whatever ``also`` writes: queue items) durably, in one
    transaction, and return the receipt that may now be sent."""
    number = registration_number(msg.received_at, msg.message_id)
    receipt = build_receipt(number)
    try:
        with write_transaction(engine) as conn:
            pk = conn.execute(_INSERT_MESSAGE, dict(
                message_id=msg.message_id, message_type=msg.message_type,
                reference_message_id=msg.reference_message_id, sender=msg.sender,
                recipient=msg.recipient, namespace_uri=msg.namespace_uri,
                root_element=msg.root_element, content_digest=msg.content_digest,
                test_message=msg.test_message, status=msg.status,
                registration_number=number, received_at=msg.received_at,
                envelope=msg.envelope, receipt=receipt, reply_to=msg.reply_to,
                node_id=msg.node_id, transaction_code=msg.transaction_code,
                eol=msg.eol)).scalar_one()
            moves = list(change.also_moves) if change is not None and not msg.test_message else []
            if change is not None and not msg.test_message and change.application_id is not None:
                moves.append((change.application_id, change.from_state, change.state))
            for application_id, from_state, to_state in moves:
                moved = conn.execute(update(applications).where(
                    applications.c.id == application_id,
                    applications.c.state == from_state).values(
                    state=to_state, updated_at=msg.received_at)).rowcount
                if moved != 1:  # another request moved it first: refuse, change nothing
                    raise IllegalTransition(
                        f"application {application_id} is no longer '{from_state}'",
                        code="CONCURRENT_TRANSITION")
            if change is not None and change.application_id is None and not msg.test_message:
                conn.execute(_INSERT_APPLICATION, dict(
                    message_pk=pk, domain=change.domain, kind=change.kind,
                    organisation_inn=change.organisation_inn, state=change.state,
                    registration_number=number, created_at=msg.received_at,
                    updated_at=msg.received_at))
            if also is not None:
                also(conn)
            journal.append_many(conn, [
                journal.Entry(at=msg.received_at, message_id=msg.message_id, direction="IN",
                              event=f"{msg.message_type.lower()}-accepted",
                              detail={"sender": msg.sender, "verification": msg.verification,
                                      "state": change.state if change else None,
                                      "test": msg.test_message},
                              content=msg.envelope),
                journal.Entry(at=msg.received_at, message_id=msg.message_id, direction="OUT",
                              event="receipt", detail={"registration_number": number},
                              content=receipt),
            ])
            return StoredReceipt(number, receipt, False)
    except IntegrityError:
        # The MessageID is known (a repeat, or another worker won a race): answer as before.
        with engine.connect() as conn:
            replay = find_receipt(conn, msg)
        if replay is None:
            raise
        return replay
