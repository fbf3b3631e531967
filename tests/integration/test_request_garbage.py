"""A request leaves no reference cycles behind: what it built is freed when it ends.

A SendRequest leaves none at all. A poll and a refusal leave none that hold the request's
context, trees or frames (libraries' own small cycles remain: SQLAlchemy's statement
construction, xmlschema's report).

Why (docs/performance.md, «Checkpoints and garbage collection off the request path»): an
object in a cycle outlives its request until the collector's next pass, and the parsed trees
with it. A closure over the request's context in the context's own clean-ups once made every
SendRequest such a cycle: gen-0 passes then ran every ~25 envelopes at ~0.7 ms each (they
freed the trees), and the heap grew until a full pass stopped every thread of the worker
(~100 ms here).
"""
from __future__ import annotations

import collections
import gc
import io
import uuid

import pytest

from envelopes import build
from envelopes.demo_data import ROMASHKA
from envelopes.payloads.registration import build_organisation_registration


@pytest.fixture(scope="module")
def app(demo_settings, engine):
    from gateway.wiring import build_app

    return build_app(demo_settings, engine=engine)


def _post(app, body: bytes) -> str:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/ws", "QUERY_STRING": "",
               "CONTENT_TYPE": "text/xml; charset=utf-8", "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    status = []
    b"".join(app(environ, lambda s, h: status.append(s)))
    return status[0]


def _cyclic_garbage(call) -> collections.Counter:
    """The types of the objects that only the cycle collector could free after ``call()``."""
    gc.collect()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        call()
        gc.collect()
        return collections.Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


#: what a request builds that must never wait for the collector: its context and trees, and the
#: frames (with their locals) of an exception's traceback
REQUEST_OWNED = {"Context", "ParsedEnvelope", "_Document", "_Element", "frame", "traceback"}


def test_a_send_request_frees_everything_it_built(app, demo_client):
    key, cert, chain = demo_client
    payload = build_organisation_registration(ROMASHKA)
    bodies = [build.send_request(payload, key, cert, extra_certificates=chain) for _ in range(4)]
    assert _post(app, bodies[0]).startswith("200")  # first-use caches are not the request's
    statuses = []
    garbage = _cyclic_garbage(lambda: statuses.extend(_post(app, body) for body in bodies[1:]))
    assert statuses == ["200 OK"] * 3
    assert not garbage, f"reference cycles left by three SendRequests: {dict(garbage)}"


def test_a_poll_frees_its_context_and_trees(app, demo_client):
    key, cert, _chain = demo_client
    bodies = [build.get_request(key, cert) for _ in range(3)]
    assert _post(app, bodies[0]).startswith("200")
    statuses = []
    garbage = _cyclic_garbage(lambda: statuses.extend(_post(app, body) for body in bodies[1:]))
    assert statuses == ["200 OK"] * 2
    assert not REQUEST_OWNED & set(garbage), f"cycles left by two GetRequests: {dict(garbage)}"


def test_a_refused_request_frees_its_context_and_trees(app, demo_client):
    key, cert, _chain = demo_client
    bodies = [build.get_request(key, cert, namespace=f"urn://test/nobody/{uuid.uuid4().hex}")
              for _ in range(3)]
    assert _post(app, bodies[0]).startswith("500")  # a SOAP fault: no right to that type
    statuses = []
    garbage = _cyclic_garbage(lambda: statuses.extend(_post(app, body) for body in bodies[1:]))
    assert [s[:3] for s in statuses] == ["500"] * 2
    assert not REQUEST_OWNED & set(garbage), f"cycles left by two refusals: {dict(garbage)}"


def test_a_serving_process_freezes_its_startup_heap_and_checkpoints_in_a_thread(demo_settings):
    """``build_app(dispatcher=True)`` (every serving process): what startup made is out of the
    collector's walks (``gc.freeze``), and on SQLite a thread of its own checkpoints the log.
    In a process of its own: freezing the test runner's heap is not this test's business."""
    script = (
        "import gc, json, sys, threading\n"
        "from gateway.config import Settings\n"
        "from gateway.wiring import build_app\n"
        "s = json.loads(sys.argv[1])\n"
        "app = build_app(Settings(data_dir=__import__('pathlib').Path(s['data_dir']), "
        "database_url=s['database_url'], ca_url=s['ca_url'], registers_url=s['registers_url']), "
        "dispatcher=True)\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), "
        "'threads': sorted(t.name for t in threading.enumerate())}))\n")
    import json
    import subprocess
    import sys

    facts = {"data_dir": str(demo_settings.data_dir), "database_url": demo_settings.database_url,
             "ca_url": demo_settings.ca_url, "registers_url": demo_settings.registers_url}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(facts)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["frozen"] > 50_000  # modules, schemas, tables, the trust store
    sqlite = demo_settings.resolved_database_url.startswith("sqlite")
    assert ("gateway-checkpoints" in seen["threads"]) == sqlite
