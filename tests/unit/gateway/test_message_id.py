import uuid
from datetime import datetime, timedelta, timezone

import pytest

from gateway.faults import InvalidMessageIdFormat, StaleMessageId
from gateway.pipeline.identity import check_message_id, uuid1_time

WINDOW = dict(max_age=timedelta(hours=24), max_future=timedelta(minutes=5))


def test_fresh_uuid1_passes_and_is_canonical():
    value = uuid.uuid1()
    now = datetime.now(timezone.utc)
    assert abs((uuid1_time(value) - now).total_seconds()) < 5
    assert check_message_id(str(value).upper(), now, **WINDOW) == str(value)


@pytest.mark.parametrize("text", ["", "not-a-uuid", str(uuid.uuid4()), "{%s}" % uuid.uuid1()])
def test_not_uuid1_is_invalid_format(text):
    with pytest.raises(InvalidMessageIdFormat):
        check_message_id(text, datetime.now(timezone.utc), **WINDOW)


def test_old_and_future_ids_are_stale():
    value = str(uuid.uuid1())
    now = datetime.now(timezone.utc)
    with pytest.raises(StaleMessageId):
        check_message_id(value, now + timedelta(days=2), **WINDOW)
    with pytest.raises(StaleMessageId):
        check_message_id(value, now - timedelta(hours=1), **WINDOW)
