"""Repository of seen signed read requests (GetRequest, GetResponse, GetStatus, queue
statistics, Ack): each accepted once inside its freshness window.

``INSERT … ON CONFLICT DO NOTHING`` on both databases (SQLite ≥ 3.24, PostgreSQL), so a
duplicate neither raises nor aborts the transaction; the unique key is the arbiter across
workers and nodes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from gateway.storage.db import write_transaction
from gateway.storage.schema import seen_requests as seen


def first_time(engine: Engine, key: str, now: datetime, expires_at: datetime) -> bool:
    """Remember ``key`` until ``expires_at``; False if it is remembered already."""
    with write_transaction(engine) as conn:
        return remember(conn, key, now, expires_at)


def remember(conn: Connection, key: str, now: datetime, expires_at: datetime) -> bool:
    conn.execute(delete(seen).where(seen.c.key == key, seen.c.expires_at <= now))
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # preserve_rowcount: SQLAlchemy 2.1 with psycopg reports -1 for an INSERT otherwise, and
    # every signed read request would look replayed on PostgreSQL.
    return conn.execute(insert(seen).values(key=key, expires_at=expires_at)
                        .on_conflict_do_nothing()
                        .execution_options(preserve_rowcount=True)).rowcount == 1


def forget_expired(engine: Engine, now: datetime) -> int:
    """Drop what freshness alone now refuses; how many rows went."""
    with write_transaction(engine) as conn:
        return conn.execute(delete(seen).where(seen.c.expires_at <= now)).rowcount
