import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from gateway.faults import InvalidMessageIdFormat, StaleMessageId
from gateway.pipeline.identity import check_message_id


def uuid1_time(value: uuid.UUID) -> datetime:
    """The reference: the time the uuid module reads from a UUID version 1."""
    return datetime(1582, 10, 15, tzinfo=timezone.utc) + timedelta(microseconds=value.time // 10)

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


def test_the_gateways_own_ids_are_canonical_uuid1_of_now_and_never_repeat():
    """new_message_id: the ids of messages the gateway creates (answers, status messages)."""
    import threading

    from gateway.pipeline.identity import new_message_id

    now = datetime.now(timezone.utc)
    first = new_message_id()
    assert check_message_id(first, now, **WINDOW) == first
    assert abs((uuid1_time(uuid.UUID(first)) - now).total_seconds()) < 5
    made: list[list[str]] = [[] for _ in range(4)]

    def make(into: list[str]) -> None:
        into.extend(new_message_id() for _ in range(20_000))

    threads = [threading.Thread(target=make, args=(chunk,)) for chunk in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for chunk in made for i in chunk]
    assert len(set(every)) == len(every) == 80_000
    times = [uuid.UUID(i).time for i in every]
    assert len(set(times)) == len(times)          # one process never repeats a timestamp


def test_a_forked_process_takes_a_node_of_its_own():
    import multiprocessing

    from gateway.pipeline.identity import new_message_id

    def child(out) -> None:
        out.put(new_message_id())

    context = multiprocessing.get_context("fork")
    out = context.Queue()
    process = context.Process(target=child, args=(out,))
    process.start()
    theirs = out.get(timeout=30)
    process.join(30)
    ours = new_message_id()
    assert uuid.UUID(theirs).node != uuid.UUID(ours).node
    assert uuid.UUID(ours).node & (1 << 40)       # the multicast bit: not a real MAC address


def _ids_of_forked_children(generate, children: int = 2, each: int = 20_000) -> list[list[str]]:
    import multiprocessing

    generate()  # the parent's generator state exists before the fork, as in a worker pool
    with multiprocessing.get_context("fork").Pool(children) as pool:
        return pool.map(_make_ids, [(generate, each)] * children)


def _make_ids(args) -> list[str]:
    generate, each = args
    return [generate() for _ in range(each)]


def test_forked_clients_of_the_sdk_never_repeat_an_id():
    """envelopes.build.new_message_id (what an ERP's forked workers call through the SDK): two
    children of one parent, 20,000 ids each at once, share none. uuid.uuid1() shared about 10 %
    here (no uuidd: the same MAC node and the parent's clock state in both children), which
    made a pre-signed benchmark request a replay of another."""
    from envelopes import build

    first, second = _ids_of_forked_children(build.new_message_id)
    assert len(set(first)) == len(first) and len(set(second)) == len(second)
    assert not set(first) & set(second)
    now = datetime.now(timezone.utc)
    assert check_message_id(first[0], now, **WINDOW) == first[0]


def test_the_gateway_and_the_sdk_share_one_generator():
    from envelopes import build, ids
    from gateway.pipeline import identity

    assert identity.new_message_id is ids.new_message_id is build.new_message_id


V1 = "0f5d2c1e-b3a4-11ef-8a48-0242ac120002"  # fixed: parameters name the tests


@pytest.mark.parametrize("text", [
    V1.replace("-", ""), " " + V1, V1 + "\n", "urn:uuid:" + V1, V1[:-1] + "g", V1 + "0",
    # version 1 in every field but the variant: Microsoft's (110x) and the NCS's (0xxx)
    "0f5d2c1e-b3a4-11ef-ca48-0242ac120002", "0f5d2c1e-b3a4-11ef-7a48-0242ac120002",
    "0f5d2c1e-b3a4-21ef-8a48-0242ac120002",  # version 2
])
def test_only_the_canonical_form_of_a_uuid1_passes(text):
    with pytest.raises(InvalidMessageIdFormat):
        check_message_id(text, datetime.now(timezone.utc), **WINDOW)


def test_the_check_reads_what_the_uuid_module_reads():
    """The fast path reads the time from the text; uuid.UUID is the reference, over many ids of
    every case and every variant digit (8, 9, a, b)."""
    now = datetime.now(timezone.utc)
    for _ in range(2000):
        value = uuid.uuid1(clock_seq=random.getrandbits(14))
        text = str(value)
        text = text.upper() if random.random() < 0.5 else text
        assert check_message_id(text, now, **WINDOW) == str(value)
        stamp = uuid1_time(value)
        too_late = stamp + WINDOW["max_age"] + timedelta(microseconds=1)
        with pytest.raises(StaleMessageId):
            check_message_id(text, too_late, **WINDOW)
        assert check_message_id(text, stamp + WINDOW["max_age"], **WINDOW) == str(value)


def test_the_sdks_random_ids_are_what_uuid4_makes():
    from envelopes import ids

    for _ in range(2000):
        text, hex_ = ids.random_id(), ids.random_hex()
        assert str(uuid.UUID(text)) == text and uuid.UUID(text).version == 4
        assert uuid.UUID(hex_).hex == hex_ and uuid.UUID(hex_).version == 4
        assert uuid.UUID(text).variant == uuid.UUID(hex_).variant == uuid.RFC_4122
    assert len({ids.random_id() for _ in range(10_000)}) == 10_000
