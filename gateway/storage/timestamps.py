"""Repository of trusted time for receipts: which receipts have no token yet, a batch's token
with each receipt's Merkle path, and a receipt's proof when asked.

Several processes may stamp at once: each may cover the same receipt in its own batch; the
receipt's primary key keeps the first stored path (``ON CONFLICT DO NOTHING``), and the other
token simply covers nothing more."""
from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from gateway.storage.db import write_transaction
from gateway.storage.schema import messages, receipt_timestamps, timestamp_batches


@dataclasses.dataclass(frozen=True)
class ReceiptStamp:
    message_id: str
    leaf: bytes
    path: list[tuple[str, bytes]]
    merkle_root: bytes
    token: bytes
    gen_time: datetime
    #: (DER CRLs, DER OCSP responses) validated with when stored; None when none were kept
    revocation: tuple[list[bytes], list[bytes]] | None = None


def unstamped(engine: Engine, limit: int) -> list[tuple[str, bytes]]:
    """(MessageID, receipt bytes) of the oldest receipts without a token."""
    query = (select(messages.c.message_id, messages.c.receipt)
             .select_from(messages.outerjoin(
                 receipt_timestamps, receipt_timestamps.c.message_id == messages.c.message_id))
             .where(receipt_timestamps.c.message_id.is_(None))
             .order_by(messages.c.id).limit(limit))
    with engine.connect() as conn:
        return [(row.message_id, row.receipt) for row in conn.execute(query)]


def store(engine: Engine, merkle_root: bytes, token: bytes, gen_time: datetime, now: datetime,
          entries: list[tuple[str, bytes, list[tuple[str, bytes]]]],
          revocation: tuple[list[bytes], list[bytes]] | None = None) -> int:
    """Store a batch's token, the revocation data its paths were validated with, and its
    receipts' (MessageID, leaf, path); how many were new."""
    archived = None if revocation is None else json.dumps(
        {"crls": [base64.b64encode(d).decode() for d in revocation[0]],
         "ocsps": [base64.b64encode(d).decode() for d in revocation[1]]})
    with write_transaction(engine) as conn:
        batch_id = conn.execute(insert(timestamp_batches).values(
            merkle_root=merkle_root.hex(), token=token, gen_time=gen_time,
            receipts=len(entries), created_at=now, revocation=archived)
            .returning(timestamp_batches.c.id)).scalar_one()
        upsert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stored = 0
        for message_id, leaf, path in entries:
            stored += conn.execute(
                upsert(receipt_timestamps).values(
                    message_id=message_id, batch_id=batch_id, leaf=leaf.hex(),
                    path=json.dumps([[side, node.hex()] for side, node in path]))
                .on_conflict_do_nothing()
                .execution_options(preserve_rowcount=True)).rowcount
        return stored


def stamp_of(engine: Engine, message_id: str) -> ReceiptStamp | None:
    query = (select(receipt_timestamps.c.leaf, receipt_timestamps.c.path,
                    timestamp_batches.c.merkle_root, timestamp_batches.c.token,
                    timestamp_batches.c.gen_time, timestamp_batches.c.revocation)
             .select_from(receipt_timestamps.join(
                 timestamp_batches, timestamp_batches.c.id == receipt_timestamps.c.batch_id))
             .where(receipt_timestamps.c.message_id == message_id))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    revocation = None
    if row.revocation:
        archived = json.loads(row.revocation)
        revocation = ([base64.b64decode(d) for d in archived["crls"]],
                      [base64.b64decode(d) for d in archived["ocsps"]])
    return ReceiptStamp(message_id, bytes.fromhex(row.leaf),
                        [(side, bytes.fromhex(node)) for side, node in json.loads(row.path)],
                        bytes.fromhex(row.merkle_root), row.token, row.gen_time, revocation)
