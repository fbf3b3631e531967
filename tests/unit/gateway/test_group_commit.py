"""Group commit (gateway/storage/group_commit.py) on the database GATEWAY_TEST_DB selects: the
requests queued behind a commit share the next one, without savepoints while none fails; a
request that fails is rolled back alone (the batch runs again, each request in its own
savepoint), a COMMIT that fails fails the whole batch, and nobody hears of an outcome before the
COMMIT returned."""
from __future__ import annotations

import sys
import threading
import time

import pytest
from sqlalchemy import event, text

from gateway.storage.db import make_engine
from gateway.storage.group_commit import GroupCommit
from support import batch_behind_a_slow_commit


@pytest.fixture
def engine(fresh_database_url):
    engine = make_engine(fresh_database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY, name VARCHAR(40))"))
        conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER "
                          "REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"))
    yield engine
    engine.dispose()


def _names(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(row[0] for row in conn.execute(text("SELECT name FROM parent")))


def _insert(number: int, name: str | None = None):
    def work(conn):
        conn.execute(text("INSERT INTO parent (id, name) VALUES (:id, :name)"),
                     {"id": number, "name": name or f"p{number}"})
        return number
    return work


def test_a_lone_request_commits_at_once(engine):
    group = GroupCommit(engine)
    assert group.run(_insert(1)) == 1
    assert (group.batches, group.requests) == (1, 1)
    assert _names(engine) == ["p1"]


def test_requests_queued_behind_a_commit_share_the_next_one(engine):
    group = GroupCommit(engine)
    outcomes = batch_behind_a_slow_commit(group, [_insert(n) for n in range(1, 9)])
    assert outcomes == {n - 1: n for n in range(1, 9)}
    assert (group.batches, group.requests) == (2, 8)          # the lone first, then seven
    assert _names(engine) == sorted(f"p{n}" for n in range(1, 9))


@pytest.fixture
def savepoints(engine):
    seen = []

    def listen(_conn, _cursor, statement, *_args):
        if statement.upper().startswith("SAVEPOINT"):
            seen.append(statement)
    event.listen(engine, "before_cursor_execute", listen)
    yield seen
    event.remove(engine, "before_cursor_execute", listen)


def _counted(runs: list, work):
    def counting(conn):
        runs.append(work)
        return work(conn)
    return counting


def test_a_batch_where_nothing_fails_takes_no_savepoint(engine, savepoints):
    runs: list = []
    works = [_counted(runs, _insert(n)) for n in range(1, 6)]
    group = GroupCommit(engine)
    outcomes = batch_behind_a_slow_commit(group, works)
    assert outcomes == {n - 1: n for n in range(1, 6)}
    assert savepoints == []
    assert len(runs) == 5                                       # each work ran once
    assert _names(engine) == [f"p{n}" for n in range(1, 6)]


def test_a_failing_request_is_rolled_back_alone(engine):
    class Refused(Exception):
        pass

    def refused(conn):
        _insert(3)(conn)                                       # written, then rolled back
        raise Refused("the handler's transition was no longer possible")

    group = GroupCommit(engine)
    outcomes = batch_behind_a_slow_commit(
        group, [_insert(1), _insert(2), refused, _insert(4), _insert(2, "again")])
    assert isinstance(outcomes[2], Refused)
    assert outcomes[4].__class__.__name__ == "IntegrityError"   # primary key 2 taken
    assert (outcomes[0], outcomes[1], outcomes[3]) == (1, 2, 4)
    assert _names(engine) == ["p1", "p2", "p4"]


def test_a_batch_run_again_after_a_failure_keeps_nothing_of_the_first_run(engine, savepoints):
    """The first run, without savepoints, is rolled back whole: the rows of the requests before
    the failing one are not there twice, and the ones after it ran only in the second run."""
    runs: list = []

    def refused(conn):
        _insert(30)(conn)
        raise LookupError("refused")

    before, failing, after = _insert(2), refused, _insert(4)
    group = GroupCommit(engine)
    outcomes = batch_behind_a_slow_commit(group, [_insert(1), _counted(runs, before),
                                                   _counted(runs, failing),
                                                   _counted(runs, after)])
    assert (outcomes[0], outcomes[1], outcomes[3]) == (1, 2, 4)
    assert isinstance(outcomes[2], LookupError)
    assert runs == [before, failing, before, failing, after]
    assert len(savepoints) == 3                                 # one per request, second run
    assert _names(engine) == ["p1", "p2", "p4"]


def test_later_requests_of_a_batch_see_the_earlier_ones(engine):
    def child_of_2(conn):
        parent = conn.execute(text("SELECT id FROM parent WHERE name = 'p2'")).scalar()
        conn.execute(text("INSERT INTO child (id, parent_id) VALUES (1, :p)"), {"p": parent})
        return parent

    group = GroupCommit(engine)
    outcomes = batch_behind_a_slow_commit(group, [_insert(1), _insert(2), child_of_2])
    assert outcomes == {0: 1, 1: 2, 2: 2}


def test_a_failed_commit_fails_every_request_of_the_batch(engine):
    def orphan(conn):
        # a deferred foreign key: the savepoint is released, the COMMIT refuses the batch
        conn.execute(text("INSERT INTO child (id, parent_id) VALUES (7, 999)"))
        return "orphan"

    group = GroupCommit(engine)
    outcomes = batch_behind_a_slow_commit(group, [_insert(1), _insert(2), orphan, _insert(3)])
    assert outcomes[0] == 1                                    # its own commit, before
    for index in (1, 2, 3):
        assert outcomes[index].__class__.__name__ == "IntegrityError", outcomes[index]
    assert _names(engine) == ["p1"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM child")).scalar() == 0
    assert group.run(_insert(5)) == 5                          # and the group goes on
    assert _names(engine) == ["p1", "p5"]


def _from_eight_threads(group: GroupCommit, each: int) -> tuple[list[int], list[Exception]]:
    """Eight threads, each running ``each`` inserts through ``group``: the results and errors
    (a request answered with another's result is an error)."""
    results: list[int] = []
    errors: list[Exception] = []

    def worker(base: int) -> None:
        for n in range(base, base + each):
            try:
                result = group.run(_insert(n))
                if result != n:
                    errors.append(AssertionError(f"request {n} was answered {result!r}"))
                results.append(result)
            except Exception as exc:  # noqa: BLE001 - reported by the caller
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results, errors


@pytest.mark.parametrize("max_batch", [1, 2, 64])
def test_many_threads_lose_nothing_and_double_nothing(engine, max_batch):
    """Also when more requests queue than one batch takes: each gets its own outcome."""
    group = GroupCommit(engine, max_batch=max_batch)
    results, errors = _from_eight_threads(group, 40)
    assert errors == []
    assert sorted(results) == [k * 1000 + n for k in range(1, 9) for n in range(40)]
    assert group.requests == 320 and group.batches <= 320
    assert len(_names(engine)) == 320
    if max_batch == 1:
        assert group.batches == 320


def test_each_waiting_request_is_woken_once(engine, monkeypatch):
    """When its outcome is known or when it leads the next batch, never for another batch's
    end (waking every waiter after each batch cost a futex wake and a GIL wait apiece)."""
    from gateway.storage import group_commit

    turns: dict[int, int] = {}
    kept: list = []  # alive, so no id is reused
    given = group_commit._Request.give_turn

    def counted(self):
        kept.append(self)
        turns[id(self)] = turns.get(id(self), 0) + 1
        given(self)
    monkeypatch.setattr(group_commit._Request, "give_turn", counted)
    group = GroupCommit(engine, max_batch=3)   # queues longer than a batch: leadership passes
    _, errors = _from_eight_threads(group, 25)
    assert errors == [] and group.requests == 200
    assert turns and max(turns.values()) == 1
    assert len(_names(engine)) == 200


def _thread_nice() -> int:
    import os
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_leader_commits_at_the_configured_priority_and_gets_its_own_back(engine):
    import os

    before = _thread_nice()
    try:  # can this process go below its nice at all (root, CAP_SYS_NICE, RLIMIT_NICE)?
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -3)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), before)
    except OSError:
        pytest.skip("this process may not raise a thread's priority")
    seen = []
    group = GroupCommit(engine, nice=-3)

    def work(conn):
        seen.append(_thread_nice())
        return _insert(1)(conn)
    assert group.run(work) == 1
    assert seen == [-3]
    assert _thread_nice() == before
    assert _names(engine) == ["p1"]


def _refusing(monkeypatch, call: str) -> None:
    """``os.<call>`` refused as for an unprivileged process, and no refusal remembered yet."""
    import os

    from gateway.storage import group_commit as module

    def refuse(*_args):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(os, call, refuse)
    monkeypatch.setattr(module, "_NOT_PERMITTED", set())


def test_a_priority_the_os_refuses_is_warned_of_once_and_commits_anyway(engine, monkeypatch,
                                                                         caplog):
    _refusing(monkeypatch, "setpriority")
    before = _thread_nice()
    group = GroupCommit(engine, nice=-7)
    with caplog.at_level("WARNING", logger="gateway.storage.group_commit"):
        assert group.run(_insert(1)) == 1
        assert group.run(_insert(2)) == 2
    warnings = [r for r in caplog.records if "GATEWAY_COMMIT_NICE=-7" in r.getMessage()]
    assert len(warnings) == 1
    assert _thread_nice() == before
    assert _names(engine) == ["p1", "p2"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_thread_already_further_ahead_is_not_slowed_down(engine, monkeypatch):
    import os

    calls = []
    monkeypatch.setattr(os, "getpriority", lambda *_args: -15)
    monkeypatch.setattr(os, "setpriority", lambda *args: calls.append(args))
    assert GroupCommit(engine, nice=-10).run(_insert(1)) == 1
    assert calls == []


def _in_a_thread(function):
    """Run ``function`` in a thread of its own (its scheduling policy dies with it, not with
    the test runner's thread) and return what it returned or raise what it raised."""
    out = {}

    def call():
        try:
            out["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            out["error"] = exc
    thread = threading.Thread(target=call)
    thread.start()
    thread.join(30)
    if "error" in out:
        raise out["error"]
    return out["value"]


def _policy() -> int:
    import os
    return os.sched_getscheduler(threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scheduling policies: Linux")
def test_a_writing_thread_runs_batch_and_leads_its_commit_under_the_normal_policy(engine):
    import os

    group = GroupCommit(engine, first=True)

    def scenario(start: int, number: int):
        # a server's thread starts under SCHED_OTHER, or under SCHED_BATCH when a thread
        # already enlisted made it (a new thread inherits its maker's policy)
        os.sched_setscheduler(threading.get_native_id(), start, os.sched_param(0))
        seen = []

        def work(conn):
            seen.append(_policy())
            return _insert(number)(conn)
        result = group.run(work)
        return seen, result, _policy()
    for number, start in enumerate((os.SCHED_OTHER, os.SCHED_BATCH), 1):
        seen, result, after = _in_a_thread(lambda: scenario(start, number))
        assert seen == [os.SCHED_OTHER]          # the leader, while it commits
        assert after == os.SCHED_BATCH           # the thread, between its commits
        assert result == number
    assert _names(engine) == ["p1", "p2"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scheduling policies: Linux")
def test_a_thread_under_another_policy_is_left_alone(engine):
    import os

    group = GroupCommit(engine, first=True)

    def scenario():
        os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
        seen = []

        def work(conn):
            seen.append(_policy())
            return _insert(1)(conn)
        group.run(work)
        return seen, _policy()
    assert _in_a_thread(scenario) == ([os.SCHED_IDLE], os.SCHED_IDLE)


def test_a_policy_the_system_refuses_is_warned_of_once_and_commits_anyway(engine, monkeypatch,
                                                                          caplog):
    _refusing(monkeypatch, "sched_setscheduler")
    group = GroupCommit(engine, first=True)

    def scenario():
        return [group.run(_insert(1)), group.run(_insert(2))]
    with caplog.at_level("WARNING", logger="gateway.storage.group_commit"):
        assert _in_a_thread(scenario) == [1, 2]
        assert _in_a_thread(lambda: group.run(_insert(3))) == 3
    warnings = [r for r in caplog.records if "GATEWAY_COMMIT_FIRST" in r.getMessage()]
    assert len(warnings) == 1
    assert _names(engine) == ["p1", "p2", "p3"]


# -- the leader's right of way (SQLite: request threads hold at a stage boundary) ----------------

def _gate_closed() -> bool:
    from gateway.storage.group_commit import gate
    closed = not gate._open.is_set()
    assert gate.open is not closed  # the attribute the stages read mirrors the Event
    return closed


@pytest.mark.parametrize("batched", [False, True])
def test_the_gate_is_closed_for_the_statements_and_open_again_before_commit(engine, batched):
    """SQLite, a batch of several: closed from after BEGIN to the end of the statements, open
    for the COMMIT (its fsync need not hold anyone up). A lone request, and PostgreSQL: never
    closed."""
    sqlite = engine.dialect.name == "sqlite"
    during, at_commit = [], []

    def listen(_conn):
        at_commit.append(_gate_closed())
    event.listen(engine, "commit", listen)
    try:
        group = GroupCommit(engine)

        def seeing(work):
            def inner(conn):
                during.append(_gate_closed())
                return work(conn)
            return inner
        works = [seeing(_insert(n)) for n in range(1, 4)]
        if batched:
            batch_behind_a_slow_commit(group, works)
        else:
            for work in works:
                group.run(work)
    finally:
        event.remove(engine, "commit", listen)
    # batched: the first request commits alone while the other two queue behind it
    assert during == ([False, sqlite, sqlite] if batched else [False] * 3)
    assert at_commit and not any(at_commit)
    assert not _gate_closed()
    assert _names(engine) == ["p1", "p2", "p3"]


def test_the_gate_opens_after_a_failed_batch_too(engine):
    group = GroupCommit(engine)

    def failing(conn):
        raise RuntimeError("refused")
    with pytest.raises(RuntimeError):
        group.run(failing)
    assert not _gate_closed()
    outcomes = batch_behind_a_slow_commit(group, [_insert(1), failing, _insert(3)])
    assert outcomes[0] == 1 and isinstance(outcomes[1], RuntimeError) and outcomes[2] == 3
    assert not _gate_closed()


def test_a_request_thread_waits_at_the_gate_until_the_statements_end():
    """What sequence.run does before each stage; the wait is bounded by MOST_HELD."""
    from gateway.storage import group_commit

    passed = threading.Event()

    def request_thread():
        group_commit.gate.wait()
        passed.set()
    with group_commit.gate:
        with group_commit.gate:  # a second leader (another engine) inside at the same time
            thread = threading.Thread(target=request_thread)
            thread.start()
            assert not passed.wait(group_commit.MOST_HELD / 5)
        assert _gate_closed()    # the first leader is still inside
    assert passed.wait(5)
    thread.join(5)
    started = time.monotonic()
    with group_commit.gate:      # a leader that stays longer than MOST_HELD holds nobody longer
        group_commit.gate.wait()
        assert time.monotonic() - started >= group_commit.MOST_HELD * 0.9
    assert not _gate_closed()


def test_an_operations_stages_wait_at_a_closed_gate():
    """gateway/pipeline/sequence.py: no stage starts while a leader is inside the gate."""
    from types import SimpleNamespace

    from gateway.pipeline import sequence
    from gateway.storage import group_commit

    ran: list[str] = []

    def first(_svc, _ctx):
        ran.append("first")

    def second(_svc, ctx):
        ran.append("second")
        ctx.answer = b"done"
    operation = sequence.Operation("Test", "{t}T", "{t}S", (first, second))
    ctx = SimpleNamespace(operation=operation, answer=None, cleanups=[])
    answers = []
    with group_commit.gate:
        thread = threading.Thread(target=lambda: answers.append(sequence.run(None, ctx)))
        thread.start()
        time.sleep(group_commit.MOST_HELD / 5)
        assert ran == []
    thread.join(5)
    assert ran == ["first", "second"] and answers == [b"done"]
