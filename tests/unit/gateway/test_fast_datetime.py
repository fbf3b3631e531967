"""The hot path's SQLite datetime binding stores exactly the text SQLAlchemy's own would."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine

from gateway.storage import db
from gateway.storage.schema import messages


@pytest.fixture(scope="module")
def processors():
    dialect = create_engine("sqlite://").dialect
    column = messages.c.received_at
    return db._bind_processor(column, dialect), column.type._cached_bind_processor(dialect)


VALUES = [
    datetime(2026, 12, 6, 12, 0, 0, tzinfo=timezone.utc),
    datetime(2026, 12, 6, 12, 0, 0, 1, tzinfo=timezone.utc),
    datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=3))),
    datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=-11, minutes=-30))),
    datetime(1, 1, 1), datetime(999, 12, 31, 23, 59, 59, 999999), datetime(9999, 12, 31, 23, 59, 59),
    datetime(2026, 6, 1, 0, 0), date(2026, 6, 1), None,
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_same_text_as_sqlalchemy(processors, value):
    fast, original = processors
    assert fast is not original  # the fast one is in use for this column
    assert fast(value) == original(value)


def test_other_dialects_and_types_keep_their_own_processor():
    pg = create_engine("postgresql+psycopg://u@127.0.0.1/x").dialect
    column = messages.c.received_at
    assert db._bind_processor(column, pg) is column.type._cached_bind_processor(pg)
    sqlite = create_engine("sqlite://").dialect
    assert db._bind_processor(messages.c.test_message, sqlite) is \
        messages.c.test_message.type._cached_bind_processor(sqlite)


def test_the_same_object_again_and_an_equal_one_in_another_zone(processors):
    """The last datetime's text is kept for that very object only: an equal instant written in
    another zone has other wall-clock digits, and must not get the kept text."""
    fast, original = processors
    utc = datetime(2026, 12, 7, 4, 0, 0, 5, tzinfo=timezone.utc)
    moscow = utc.astimezone(timezone(timedelta(hours=3)))
    assert utc == moscow
    for value in (utc, utc, moscow, moscow, utc, datetime(2026, 12, 7, 4, 0, 0, 5)):
        assert fast(value) == original(value)
