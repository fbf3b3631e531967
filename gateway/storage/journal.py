"""The append-only journal: every message in and out, hash-chained so tampering shows.

Accepted requests and answers are kept byte for byte in ``messages``/``queue_items``; the
journal keeps the bytes of everything else (polls, acks, rejected requests and their faults).

Each entry's hash covers the previous entry's hash and its own fields; ``verify_chain``
recomputes the chain. Appends are serialized (SQLite's write lock; a transaction-scoped advisory
lock on PostgreSQL) so the chain never forks across workers or nodes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Connection

from gateway.storage.db import FastStatement
from gateway.storage.schema import journal, messages

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x534D4556  # "SMEV"


def _entry_hash(prev_hash: str, at: datetime, message_id: str | None, direction: str,
                event: str, detail: str, content_digest: str) -> str:
    material = "\x1f".join([prev_hash, at.astimezone(timezone.utc).isoformat(),
                            message_id or "", direction, event, detail, content_digest])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


#: ``json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)`` without building an
#: encoder per call; the chain covers this text, so its form must not change
_DETAIL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str).encode


@dataclasses.dataclass(frozen=True)
class Entry:
    at: datetime
    message_id: str | None
    direction: str  # IN | OUT
    event: str
    detail: dict
    content: bytes  # the bytes the entry is about (their SHA-256 is always stored)
    keep: bool = False  # also store the bytes (messages no other table keeps)
    #: the detail's JSON and the content's SHA-256, worked out when the entry is made: a group
    #: commit appends its entries while it holds the write lock, and these need no database
    detail_text: str = dataclasses.field(init=False, repr=False, compare=False)
    content_digest: str = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "detail_text", _DETAIL_JSON(self.detail))
        object.__setattr__(self, "content_digest", hashlib.sha256(self.content).hexdigest())


_HEAD = FastStatement(journal, (), sql="SELECT entry_hash FROM journal ORDER BY id DESC LIMIT 1")
#: PostgreSQL: the chain's one writer at a time, until COMMIT (on the cursor: no Core per append)
_CHAIN_LOCK = FastStatement(journal, (), sql=f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
_INSERT = FastStatement(journal, ("at", "message_id", "direction", "event", "detail", "content_digest",
                                  "prev_hash", "entry_hash", "content"))




#: ``conn.info`` key: the entries :func:`gathered` holds back until the end of its block
_GATHERED = "gateway_journal_gathered"


@contextlib.contextmanager
def gathered(conn: Connection) -> Iterator[None]:
    """Inside, :func:`append_many` on ``conn`` only collects its entries; when the block ends
    without an exception they are appended, in the order they came, by one append. If it raised,
    they are dropped with the transaction the caller rolls back.

    Why: a group commit runs several envelopes' writes in one transaction
    (gateway/storage/group_commit.py). Each append takes the chain (PostgreSQL: an advisory
    lock until COMMIT; SQLite holds its write lock anyway) and reads its head. Appended as they
    came, the first envelope's entries took the chain and held it across all the later
    envelopes' writes, and every envelope read the head again. Gathered, the chain is taken at
    the end of the batch, once, with one head read and one INSERT. A savepoint inside the block
    could roll back writes whose entries were gathered, so an append inside one is refused."""
    pending: list[Entry] = []
    conn.info[_GATHERED] = pending
    try:
        yield
    finally:
        del conn.info[_GATHERED]
    if pending:
        append_many(conn, pending)


def append_many(conn: Connection, entries: list[Entry]) -> str | None:
    """Append entries in order inside the caller's transaction; returns the new head hash
    (None inside :func:`gathered`, where the entries are appended at the block's end)."""
    pending = conn.info.get(_GATHERED)
    if pending is not None:
        if conn.in_nested_transaction():
            raise RuntimeError("a journal append inside a savepoint of a gathered block: the "
                               "savepoint could roll back writes whose entries outlive it")
        pending.extend(entries)
        return None
    if conn.dialect.name == "postgresql":
        _CHAIN_LOCK.first(conn, {})
    head = _HEAD.first(conn, {})
    prev = head[0] if head else GENESIS
    rows = []
    for entry in entries:
        detail_text, digest = entry.detail_text, entry.content_digest
        entry_hash = _entry_hash(prev, entry.at, entry.message_id, entry.direction, entry.event,
                                 detail_text, digest)
        rows.append(dict(at=entry.at, message_id=entry.message_id, direction=entry.direction,
                         event=entry.event, detail=detail_text, content_digest=digest,
                         prev_hash=prev, entry_hash=entry_hash,
                         content=entry.content if entry.keep else None))
        prev = entry_hash
    _INSERT.insert_many(conn, rows)
    return prev


def append(conn: Connection, *, at: datetime, message_id: str | None, direction: str,
           event: str, detail: dict, content: bytes) -> str:
    """Append one entry inside the caller's transaction; returns its hash."""
    return append_many(conn, [Entry(at, message_id, direction, event, detail, content)])


def prune_content(conn: Connection, before: datetime) -> int:
    """Drop the kept bytes of entries older than ``before`` (retention); how many entries.

    The chain covers each entry's content digest, not the bytes, so :func:`verify_chain` still
    proves every entry after pruning."""
    return conn.execute(update(journal).where(journal.c.at < before, journal.c.content.is_not(None))
                        .values(content=None)).rowcount


@dataclasses.dataclass(frozen=True)
class ChainReport:
    entries: int
    first_broken_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify_chain(conn: Connection) -> ChainReport:
    """Recompute every entry's hash in order; report the first entry that does not match."""
    prev = GENESIS
    count = 0
    for row in conn.execute(select(journal).order_by(journal.c.id)):
        count += 1
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=timezone.utc)
        expected = _entry_hash(prev, at, row.message_id, row.direction, row.event, row.detail,
                               row.content_digest)
        kept = row.content is not None and hashlib.sha256(row.content).hexdigest() != row.content_digest
        if row.prev_hash != prev or row.entry_hash != expected or kept:
            return ChainReport(count, row.id)
        prev = row.entry_hash
    return ChainReport(count, None)


# -- reads for operators (gateway messages list / show) ----------------------------------------

@dataclasses.dataclass(frozen=True)
class Stored:
    id: int
    at: datetime
    message_id: str | None
    direction: str
    event: str
    detail: dict


def _stored(row) -> Stored:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=timezone.utc)
    return Stored(row.id, at, row.message_id, row.direction, row.event, json.loads(row.detail))


def entries_of(conn: Connection, message_id: str) -> list[Stored]:
    """Every entry naming ``message_id``, in order (the request, its receipt, deliveries, acks)."""
    j = journal.c
    return [_stored(r) for r in conn.execute(
        select(j.id, j.at, j.message_id, j.direction, j.event, j.detail)
        .where(j.message_id == message_id).order_by(j.id))]


#: the IN entries that record a request: accepted SendRequest/SendResponse, and refusals
ACCEPTED = {"request-accepted": "SendRequest", "response-accepted": "SendResponse"}


def requests(conn: Connection, *, since: datetime | None = None, until: datetime | None = None,
             sender: str | None = None, recipient: str | None = None,
             operation: str | None = None, outcome: str | None = None,
             limit: int = 50) -> list[Stored]:
    """The requests received, newest first: accepted ones and refused ones (``outcome``
    ``accepted`` or ``fault``); read operations (GetRequest, Ack, ...) only when ``operation``
    names them, since every poll is one. ``recipient`` keeps accepted messages addressed to it."""
    j = journal.c
    accepted = [e for e, op in ACCEPTED.items() if operation in (None, op)]
    if outcome == "fault":
        accepted = []
    events = list(accepted)
    if operation and operation not in ACCEPTED.values() and outcome != "fault":
        events.append(operation)
    conditions = [j.event.in_(events)] if events else []
    if recipient is not None:  # only stored messages have one
        conditions = [j.event.in_(accepted) & j.message_id.in_(
            select(messages.c.message_id).where(messages.c.recipient == recipient))]
    elif outcome != "accepted":
        rejected = j.event == "rejected"
        if operation:
            rejected = rejected & j.detail.contains(json.dumps({"operation": operation})[1:-1],
                                                    autoescape=True)
        conditions.append(rejected)
    if not conditions:
        return []
    query = (select(j.id, j.at, j.message_id, j.direction, j.event, j.detail)
             .where(j.direction == "IN", or_(*conditions)).order_by(j.id.desc()).limit(limit))
    if since is not None:
        query = query.where(j.at >= since)
    if until is not None:
        query = query.where(j.at < until)
    if sender is not None:  # the detail is JSON with sorted keys: "sender": "<mnemonic>"
        query = query.where(j.detail.contains(json.dumps({"sender": sender}, ensure_ascii=False)[1:-1],
                                              autoescape=True))
    return [_stored(r) for r in conn.execute(query)]
