"""Repository of attachment rows (the files themselves are content-addressed on disk)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from gateway.storage.schema import attachments as table


def bytes_since(conn: Connection, sender: str, since: datetime) -> int:
    """Attachment bytes ``sender`` sent after ``since`` (for the daily quota)."""
    return conn.execute(select(func.coalesce(func.sum(table.c.size), 0)).where(
        table.c.sender == sender, table.c.received_at > since)).scalar_one()


def insert_attachment(conn: Connection, **row) -> None:
    conn.execute(table.insert().values(**row))


def of_message(conn: Connection, message_id: str) -> list[tuple[str, str, str, int]]:
    """(attachment id, SHA-256, media type, size) of a message's files, in received order."""
    return [tuple(r) for r in conn.execute(
        select(table.c.attachment_id, table.c.sha256, table.c.mime_type, table.c.size)
        .where(table.c.message_id == message_id).order_by(table.c.id))]
