"""Administrative actions in the journal: who did what, when (an IS added, a permission granted,
a key issued or revoked, a webhook changed). They join the hash chain of gateway/storage/journal.py,
so an altered or removed record shows in ``gateway journal verify``."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from gateway.storage import journal
from gateway.storage.db import write_transaction

#: the journal's ``direction`` of administrative entries (neither a message in nor out)
DIRECTION = "ADM"


def record(conn: Connection, now: datetime, actor: str, action: str, detail: dict) -> str:
    """Append one administrative entry inside the caller's transaction; its hash."""
    body = {"actor": actor, **detail}
    return journal.append(conn, at=now, message_id=None, direction=DIRECTION, event=action,
                          detail=body,
                          content=json.dumps(body, ensure_ascii=False, sort_keys=True,
                                             default=str).encode("utf-8"))


def record_now(engine: Engine, now: datetime, actor: str, action: str, detail: dict) -> str:
    """:func:`record` in a transaction of its own (after a change made elsewhere)."""
    with write_transaction(engine) as conn:
        return record(conn, now, actor, action, detail)
