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
import uuid

_UUID_OFFSET = 0x01B21DD213814000  # 100-ns intervals from 1582-10-15 to 1970-01-01
_clock = threading.Lock()
_last_time = 0
_node = 0


def _new_node() -> None:
    global _node
    _node = secrets.randbits(48) | (1 << 40)


_new_node()
os.register_at_fork(after_in_child=_new_node)


def new_message_id() -> str:
    """A canonical UUID version 1 of now, never repeated by this or any other process."""
    global _last_time
    with _clock:
        stamp = time.time_ns() // 100 + _UUID_OFFSET
        if stamp <= _last_time:
            stamp = _last_time + 1
        _last_time = stamp
    sequence = secrets.randbits(14)
    return str(uuid.UUID(fields=(stamp & 0xFFFFFFFF, (stamp >> 32) & 0xFFFF,
                                 0x1000 | (stamp >> 48) & 0x0FFF, 0x80 | sequence >> 8,
                                 sequence & 0xFF, _node)))
