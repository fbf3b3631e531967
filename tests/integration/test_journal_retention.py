"""Storage per refused request is bounded, and journal bytes past their retention are dropped
while the hash chain still proves every entry."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from gateway.ops.background import housekeeping
from gateway.storage import journal
from gateway.storage.db import write_transaction
from gateway.storage.schema import journal as table
from support import post


def test_an_anonymous_refusal_keeps_a_digest_and_a_prefix_not_the_body(gateway_url, engine):
    junk = b"<x>" + b"A" * 2_000_000 + b"</x>"
    reply, _ = post(gateway_url, junk)
    assert reply.status_code in (400, 500)
    digest = hashlib.sha256(junk).hexdigest()
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.event == "rejected",
                                               table.c.content_digest == digest)).one()
        fault_row = conn.execute(select(table).where(table.c.id == row.id + 1)).one()
    assert row.content is None and f'"size": {len(junk)}' in row.detail
    assert len(row.detail) < 3000  # the prefix is bounded
    assert fault_row.event == "fault" and len(fault_row.content or b"") < 64 * 1024


def test_old_journal_bytes_are_pruned_and_the_chain_still_verifies(engine, demo_settings):
    with engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(table)
                            .where(table.c.content.is_not(None))).scalar_one()
    assert kept > 0
    later = datetime.now(timezone.utc) + timedelta(days=demo_settings.journal_content_retention_days + 1)
    done = housekeeping(engine, demo_settings, later)  # as if run after the retention period
    assert done["journal_pruned"] >= kept
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)
                            .where(table.c.content.is_not(None))).scalar_one() == 0
        assert journal.verify_chain(conn).intact
    with write_transaction(engine) as conn:  # and a tampered digest is still caught
        first, digest = conn.execute(select(table.c.id, table.c.content_digest)
                                     .order_by(table.c.id).limit(1)).one()
        conn.execute(table.update().where(table.c.id == first).values(content_digest="0" * 64))
    try:
        with engine.connect() as conn:
            assert journal.verify_chain(conn).first_broken_id == first
    finally:
        with write_transaction(engine) as conn:  # put it back for the tests that follow
            conn.execute(table.update().where(table.c.id == first).values(content_digest=digest))
