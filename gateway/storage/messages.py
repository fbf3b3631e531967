"""Repository of accepted messages: the ``messages`` table, and nothing else touches it.

A message row is the request byte for byte with the receipt returned for it; the unique
MessageID is the arbiter of idempotency (a repeat answers with the stored receipt)."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import sqlite3

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from gateway.storage.db import FastStatement, read
from gateway.storage.schema import information_systems, messages

#: raised by :func:`insert_message` when the MessageID (or reply address) is already stored:
#: SQLAlchemy's error, or the driver's own from the DBAPI fast path
DuplicateMessage = (IntegrityError, sqlite3.IntegrityError, psycopg.errors.UniqueViolation)


@dataclasses.dataclass(frozen=True)
class StoredMessage:
    """What a repeat of a MessageID is compared with, and answered from."""

    content_digest: str
    registration_number: str
    receipt: bytes


@dataclasses.dataclass(frozen=True)
class Original:
    """A stored request as the exchange needs it to answer or forward it."""

    pk: int
    message_id: str
    sender: str
    sender_name: str
    recipient: str
    namespace_uri: str
    root_element: str
    reference_message_id: str | None
    node_id: str | None
    reply_to: str | None
    eol: datetime | None
    envelope: bytes


_COLUMNS = ("message_id", "message_type", "reference_message_id", "sender", "recipient",
            "namespace_uri", "root_element", "content_digest", "test_message", "status",
            "registration_number", "received_at", "envelope", "receipt", "reply_to", "node_id",
            "transaction_code", "eol")
_INSERT = FastStatement(messages, _COLUMNS, returning="id")
_FIND = FastStatement(messages, ("message_id",), sql="SELECT content_digest, registration_number, "
                      "receipt FROM messages WHERE message_id = :message_id")
_ORIGINAL = select(messages, information_systems.c.name.label("sender_name")).join(
    information_systems, information_systems.c.mnemonic == messages.c.sender)


def insert_message(conn: Connection, row: dict) -> int:
    """Insert one message (inside the caller's transaction); its primary key. Raises
    :data:`DuplicateMessage` when its MessageID is already stored."""
    return _INSERT.insert(conn, row)


def find(conn: Connection, message_id: str) -> StoredMessage | None:
    row = _FIND.first(conn, {"message_id": message_id})
    return StoredMessage(row[0], row[1], bytes(row[2])) if row else None


def lookup(engine, message_id: str) -> StoredMessage | None:
    """:func:`find` on a connection of its own (outside any transaction)."""
    return read(engine, lambda conn: find(conn, message_id))


def load_original(engine, message_id: str) -> Original | None:
    with engine.connect() as conn:
        return original(conn, message_id)


def load_request_by_reply_to(engine, reply_to: str) -> Original | None:
    with engine.connect() as conn:
        return request_by_reply_to(conn, reply_to)


def _original(row) -> Original:
    return Original(row.id, row.message_id, row.sender, row.sender_name, row.recipient,
                    row.namespace_uri, row.root_element, row.reference_message_id, row.node_id,
                    row.reply_to, row.eol, row.envelope)


def original(conn: Connection, message_id: str) -> Original | None:
    row = conn.execute(_ORIGINAL.where(messages.c.message_id == message_id)).first()
    return _original(row) if row else None


def request_by_reply_to(conn: Connection, reply_to: str) -> Original | None:
    """The request whose opaque reply address is ``reply_to``."""
    row = conn.execute(_ORIGINAL.where(messages.c.reply_to == reply_to,
                                       messages.c.message_type == "REQUEST")).first()
    return _original(row) if row else None


def sender_of(conn: Connection, message_id: str) -> tuple[str, str | None] | None:
    """(sender, reference MessageID) of a stored message, or None."""
    row = conn.execute(select(messages.c.sender, messages.c.reference_message_id)
                       .where(messages.c.message_id == message_id)).first()
    return (row.sender, row.reference_message_id) if row else None


def by_pk(conn: Connection, pk: int) -> tuple[str, bytes]:
    """(MessageID, envelope bytes) of the message with primary key ``pk``."""
    row = conn.execute(select(messages.c.message_id, messages.c.envelope)
                       .where(messages.c.id == pk)).one()
    return row.message_id, row.envelope


def message_id_of(conn: Connection, pk: int) -> str:
    return conn.execute(select(messages.c.message_id).where(messages.c.id == pk)).scalar_one()


@dataclasses.dataclass(frozen=True)
class Summary:
    """What an operator sees of an accepted message (``gateway messages``)."""

    message_id: str
    message_type: str
    reference_message_id: str | None
    sender: str
    recipient: str
    namespace_uri: str
    root_element: str
    test_message: bool
    status: str
    registration_number: str
    received_at: datetime
    transaction_code: str | None


_SUMMARY = [messages.c[f.name] for f in dataclasses.fields(Summary)]


def summaries(conn: Connection, message_ids: list[str]) -> dict[str, Summary]:
    found: dict[str, Summary] = {}
    for i in range(0, len(message_ids), 500):
        for row in conn.execute(select(*_SUMMARY).where(
                messages.c.message_id.in_(message_ids[i:i + 500]))):
            found[row.message_id] = Summary(*row)
    return found


def answers_to(conn: Connection, message_id: str) -> list[Summary]:
    """The responses stored for the request ``message_id``."""
    return [Summary(*r) for r in conn.execute(select(*_SUMMARY).where(
        messages.c.reference_message_id == message_id).order_by(messages.c.id))]
