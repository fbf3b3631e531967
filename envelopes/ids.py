"""MessageIDs for the messages a process creates: UUIDs version 1, as SMEV requires (their
timestamp lets the gateway reject stale ids), unique across threads, processes and forks.

Why not ``uuid.uuid1()``: without the uuidd daemon (the usual case) it is not process-safe. Every
process on a host uses the same node (the MAC address), and a forked process inherits its
parent's clock sequence and last timestamp, so a pool of forked workers repeats ids: two
children of one parent, 20,000 ids each, shared about 10 % of them here. A gateway then answers
the second message as a replay or refuses it as ``MessageIsAlreadySent``. It is also slow: on
Linux it asks libuuid, which locks a clock file for every id (12 µs against 3 µs).

Here: a random node per process (drawn again in every forked child, multicast bit set as RFC
4122 §4.5 asks of a node that is not a MAC address), a timestamp that never repeats within the
process, and a random clock sequence for every id.
"""
from __future__ import annotations

import os
import secrets
import threading
import time

_UUID_OFFSET = 0x01B21DD213814000  # 100-ns intervals from 1582-10-15 to 1970-01-01
_clock = threading.Lock()
_last_time = 0
_node = 0


def _new_node() -> None:
    global _node
    _node = secrets.randbits(48) | (1 << 40)


_new_node()
os.register_at_fork(after_in_child=_new_node)


def _canonical(value: int) -> str:
    """A 128-bit integer as a canonical UUID text (what ``str(uuid.UUID(int=value))`` gives,
    without the object: ids are made several times a request)."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_message_id() -> str:
    """A canonical UUID version 1 of now, never repeated by this or any other process."""
    global _last_time
    with _clock:
        stamp = time.time_ns() // 100 + _UUID_OFFSET
        if stamp <= _last_time:
            stamp = _last_time + 1
        _last_time = stamp
    # the fields of uuid.UUID(fields=...): time_low, time_mid, version 1 and time_hi, the
    # variant (10) and the clock sequence, the node
    return _canonical((stamp & 0xFFFFFFFF) << 96 | ((stamp >> 32) & 0xFFFF) << 80
                      | (0x1000 | (stamp >> 48) & 0x0FFF) << 64
                      | (0x8000 | secrets.randbits(14)) << 48 | _node)


def _random_v4() -> int:
    """``uuid.uuid4().int``: 122 random bits, version 4, the RFC 4122 variant."""
    return int.from_bytes(os.urandom(16), "big") & ~(0xF000 << 64 | 0xC000 << 48) \
        | 0x4000 << 64 | 0x8000 << 48


def random_id() -> str:
    """``str(uuid.uuid4())``, for ids with no time in them (webhook events)."""
    return _canonical(_random_v4())


def random_hex() -> str:
    """``uuid.uuid4().hex``."""
    return f"{_random_v4():032x}"
