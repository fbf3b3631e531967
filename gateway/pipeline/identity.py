"""MessageID rules: a UUID version 1 whose embedded time lies inside the accepted window."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

from envelopes import ids
from gateway.faults import InvalidMessageIdFormat, StaleMessageId

_UUID_EPOCH = datetime(1582, 10, 15, tzinfo=timezone.utc)


#: the ids of messages the gateway creates (answers, status messages): the SDK's generator,
#: unique across the workers' processes (envelopes/ids.py says why not uuid.uuid1())
new_message_id = ids.new_message_id


#: a UUID version 1 (the 1 after the second hyphen) of the RFC 4122 variant ([89ab] after the
#: third) in canonical form, any case: what the checks below accept, read without a UUID object
_CANONICAL_UUID1 = re.compile(
    "[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.IGNORECASE)


def check_message_id(text: str | None, now: datetime, *, max_age: timedelta,
                     max_future: timedelta) -> str:
    """Return the canonical MessageID or raise the fault that names what is wrong."""
    if text is not None and _CANONICAL_UUID1.fullmatch(text):
        canonical = text.lower()
        # UUID.time: time_hi (after the version digit), time_mid, time_low
        stamp = _UUID_EPOCH + timedelta(
            microseconds=int(canonical[15:18] + canonical[9:13] + canonical[:8], 16) // 10)
    else:
        _refuse_format(text)
    if stamp < now - max_age:
        raise StaleMessageId(f"MessageID {text} was generated at {stamp.isoformat()}, "
                             f"older than the accepted {max_age}", code="STALE_MESSAGE_ID")
    if stamp > now + max_future:
        raise StaleMessageId(f"MessageID {text} was generated at {stamp.isoformat()}, "
                             f"in the future", code="FUTURE_MESSAGE_ID")
    return canonical


def _refuse_format(text: str | None) -> None:
    """The fault for a MessageID that is not a canonical UUID version 1, saying which it is."""
    try:
        uuid.UUID(text or "")
    except ValueError:
        raise InvalidMessageIdFormat(f"MessageID {text!r} is not a UUID",
                                     code="INVALID_MESSAGE_ID_FORMAT") from None
    raise InvalidMessageIdFormat(f"MessageID {text!r} is not a UUID version 1 in canonical form",
                                 code="INVALID_MESSAGE_ID_FORMAT")
