"""Register writes go through the outbox: stored with the decision, carried out after the
commit, and carried out ONCE even when the process dies between the commit and the register
call, or after the call reached the register but before it was marked done."""
from __future__ import annotations

import http.server
import json
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests

from gateway.registers import Registers
from gateway.registers.outbox import Outbox
from gateway.storage import outbox as rows
from registry_stubs.registers import FIXTURES, serve as serve_registers

LEASE = 1.0

CHILD = textwrap.dedent('''
    import sys, uuid
    from datetime import datetime, timedelta, timezone
    from gateway.domains.base import RegisterWrite
    from gateway.pipeline.persist import IncomingMessage, store_request
    from gateway.registers import Registers
    from gateway.registers.outbox import Outbox
    from gateway.storage.db import make_engine
    import json

    url, registers_url, record = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    message_id = str(uuid.uuid1())
    msg = IncomingMessage(message_id=message_id, message_type="REQUEST", reference_message_id=None,
                          sender="ROMASHKA", recipient="GATEWAY", namespace_uri="urn:test",
                          root_element="Test", content_digest="0" * 64, test_message=False,
                          received_at=now, envelope=b"<test/>", verification={})
    stored = store_request(engine, msg, lambda number: b"<receipt/>", None, None,
                           (RegisterWrite("register_power_of_attorney", {"record": record}),),
                           outbox_lease=timedelta(seconds=%s))
    print(message_id, flush=True)  # committed
    Outbox(engine, Registers(registers_url, timeout=30)).run(stored.outbox_ids)
    print("done", flush=True)
''' % LEASE)


class _Proxy(http.server.ThreadingHTTPServer):
    """Stands between the writer and the register: tells the test when a write arrives, passes
    it on first if ``forward``, then holds the connection so the writer can be killed."""

    daemon_threads = True

    def __init__(self, target: str, forward: bool):
        self.target, self.forward = target, forward
        self.arrived = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                reply = requests.get(proxy.target + self.path, timeout=10)
                self._send(reply)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.forward:
                    requests.post(proxy.target + self.path, data=body, timeout=10,
                                  headers={k: v for k, v in self.headers.items()
                                           if k.lower() in ("content-type", "idempotency-key")})
                proxy.arrived.set()
                proxy.release.wait(30)  # the writer is killed meanwhile

            def _send(self, reply):
                self.send_response(reply.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

        super().__init__(("127.0.0.1", 0), Handler)


def _record() -> dict:
    record = json.loads((FIXTURES / "powers_of_attorney.json").read_text("utf-8"))[0]
    record.update(number=str(uuid.uuid4()))
    for key in ("status", "revoked_at"):
        record.pop(key, None)
    return record


@pytest.mark.parametrize("reached_register", [False, True],
                         ids=["killed-before-the-call", "killed-after-the-register-wrote"])
def test_a_register_write_happens_once_although_the_writer_was_killed(
        demo_settings, engine, tmp_path, reached_register):
    stub = serve_registers(state_file=tmp_path / "registers-state.json")
    proxy = _Proxy(stub.url, forward=reached_register)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    record = _record()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, demo_settings.resolved_database_url,
         f"http://127.0.0.1:{proxy.server_address[1]}", json.dumps(record)],
        stdout=subprocess.PIPE, text=True)
    try:
        message_id = child.stdout.readline().strip()
        assert message_id, "the writer did not commit"
        assert proxy.arrived.wait(30), "the register call never came"
        child.kill()  # between the commit and the end of the register call: SIGKILL
        child.wait(10)
        [(key, action, state, attempts)] = rows.states(engine, message_id)
        assert (action, state) == ("register_power_of_attorney", "pending")
        assert stub.app.store.applied[key] == (1 if reached_register else 0)

        time.sleep(LEASE + 0.2)  # the dead writer's lease runs out; a dispatcher takes over
        dispatcher = Outbox(engine, Registers(stub.url), lease=timedelta(seconds=LEASE))
        assert dispatcher.dispatch_due() >= 1
        [(key, action, state, attempts)] = rows.states(engine, message_id)
        assert state == "done"
        assert stub.app.store.applied[key] == 1  # written once ...
        assert stub.app.store.replayed[key] == (1 if reached_register else 0)  # ... repeated safely
        assert Registers(stub.url).power_of_attorney(record["number"]) is not None
    finally:
        child.kill()
        proxy.release.set()
        proxy.shutdown()
        stub.shutdown()


def test_a_register_that_is_down_gets_the_write_later(demo_settings, engine, tmp_path):
    from datetime import datetime, timezone

    from gateway.storage.db import write_transaction

    stub = serve_registers(state_file=tmp_path / "registers-state.json")
    record = _record()
    message_id = str(uuid.uuid1())
    now = datetime.now(timezone.utc)
    with write_transaction(engine) as conn:
        [item_id] = rows.add(conn, message_id, [("register_power_of_attorney", {"record": record})],
                             now, timedelta(seconds=LEASE))
    try:
        stub.app.offline = True
        outbox = Outbox(engine, Registers(stub.url, timeout=2), lease=timedelta(seconds=LEASE))
        outbox.run([item_id])  # never raises: the row stays pending, retried with backoff
        [(key, _, state, attempts)] = rows.states(engine, message_id)
        assert (state, attempts) == ("pending", 1)
        stub.app.offline = False
        deadline = time.monotonic() + 10
        while rows.states(engine, message_id)[0][2] != "done" and time.monotonic() < deadline:
            time.sleep(0.3)
            outbox.dispatch_due()
        assert rows.states(engine, message_id)[0][2] == "done"
        assert stub.app.store.applied[key] == 1
    finally:
        stub.shutdown()


def test_a_write_the_register_refuses_is_buried_with_its_reason(engine, tmp_path):
    from datetime import datetime, timezone

    from gateway.storage.db import write_transaction

    stub = serve_registers(state_file=tmp_path / "registers-state.json")
    taken = json.loads((FIXTURES / "powers_of_attorney.json").read_text("utf-8"))[0]
    record = _record()
    record["number"] = taken["number"]  # held by another power of attorney
    record["powers"] = ["REPORTS_SUBMIT"]  # not the registered one's powers: another POA
    message_id = str(uuid.uuid1())
    with write_transaction(engine) as conn:
        ids = rows.add(conn, message_id, [("register_power_of_attorney", {"record": record})],
                       datetime.now(timezone.utc), timedelta(seconds=LEASE))
    try:
        Outbox(engine, Registers(stub.url)).run(ids)
        [(_, _, state, _)] = rows.states(engine, message_id)
        assert state == "dead"
        [reason] = rows.last_errors(engine, message_id)
        assert reason.startswith("refused: another power of attorney is registered under")
    finally:
        stub.shutdown()
