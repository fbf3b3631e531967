"""The registration number's base32 is the standard library's, bit for bit."""
from __future__ import annotations

import base64
import random
import uuid
from datetime import datetime, timezone

from gateway.pipeline.persist import registration_number

AT = datetime(2026, 12, 7, 23, 59, tzinfo=timezone.utc)


def _reference(message_id: str) -> str:
    code = base64.b32encode(uuid.UUID(message_id).bytes).decode("ascii").rstrip("=")
    return f"20261207-{code}"


def test_the_number_is_the_date_and_the_message_ids_base32():
    rng = random.Random(7)
    ids = [str(uuid.UUID(int=0)), str(uuid.UUID(int=(1 << 128) - 1)), str(uuid.uuid1())]
    ids += [str(uuid.UUID(int=1 << bit)) for bit in range(128)]  # every bit lands in its digit
    ids += [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(2000)]
    for message_id in ids:
        number = registration_number(AT, message_id)
        assert number == _reference(message_id), message_id
        assert len(number) == 35
    upper = str(uuid.UUID(int=rng.getrandbits(128))).upper()  # a MessageID in capitals
    assert registration_number(AT, upper) == _reference(upper)
