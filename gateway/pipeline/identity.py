"""MessageID rules: a UUID version 1 whose embedded time lies inside the accepted window."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from envelopes import ids
from gateway.faults import InvalidMessageIdFormat, StaleMessageId

_UUID_EPOCH = datetime(1582, 10, 15, tzinfo=timezone.utc)


def uuid1_time(value: uuid.UUID) -> datetime:
    return _UUID_EPOCH + timedelta(microseconds=value.time // 10)


#: the ids of messages the gateway creates (answers, status messages): the SDK's generator,
#: unique across the workers' processes (envelopes/ids.py says why not uuid.uuid1())
new_message_id = ids.new_message_id


def check_message_id(text: str | None, now: datetime, *, max_age: timedelta,
                     max_future: timedelta) -> str:
    """Return the canonical MessageID or raise the fault that names what is wrong."""
    try:
        value = uuid.UUID(text or "")
    except ValueError:
        raise InvalidMessageIdFormat(f"MessageID {text!r} is not a UUID",
                                     code="INVALID_MESSAGE_ID_FORMAT") from None
    if value.version != 1 or value.variant != uuid.RFC_4122 or str(value) != (text or "").strip().lower():
        raise InvalidMessageIdFormat(f"MessageID {text!r} is not a UUID version 1 in canonical form",
                                     code="INVALID_MESSAGE_ID_FORMAT")
    stamp = uuid1_time(value)
    if stamp < now - max_age:
        raise StaleMessageId(f"MessageID {text} was generated at {stamp.isoformat()}, "
                             f"older than the accepted {max_age}", code="STALE_MESSAGE_ID")
    if stamp > now + max_future:
        raise StaleMessageId(f"MessageID {text} was generated at {stamp.isoformat()}, "
                             f"in the future", code="FUTURE_MESSAGE_ID")
    return str(value)
