"""Webhooks: events written in the transaction of the state change they report, delivered to a
real HTTP receiver on 127.0.0.1 — signed, retried when the receiver is down, slow or failing,
dead-lettered after their maximum age, in order per application, and at least once when the
dispatcher is killed mid-way."""
from __future__ import annotations

import http.server
import json
import random
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from gateway.pipeline.participants import add_system
from gateway.pipeline.persist import ApplicationChange, IncomingMessage, store_request
from gateway.storage import webhooks as rows
from gateway.webhooks import manage
from gateway.webhooks.dispatcher import Dispatcher, verify
from gateway.config import Settings, networks
from gateway.webhooks import destinations

LOOPBACK = networks("127.0.0.0/8")  # the receivers below listen there; refused unless allowed


class Receiver(http.server.ThreadingHTTPServer):
    """Records every POST; answers with ``self.statuses`` (popped in turn, then 200), after
    ``self.delay`` seconds; ``hold`` keeps the connection open until released."""

    daemon_threads = True

    def __init__(self):
        self.received: list[tuple[dict, bytes, dict]] = []  # (headers, body, parsed)
        self.accepted: list[str] = []  # event ids answered with 2xx, in order
        self.statuses: list[int] = []
        self.delay = 0.0
        self.hold = False
        self.arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parsed = json.loads(body)
                receiver.received.append((dict(self.headers), body, parsed))
                receiver.arrived.set()
                if receiver.hold:
                    receiver.release.wait(30)
                    return
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if 200 <= status < 300:
                    receiver.accepted.append(parsed["id"])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def no_backlog(engine):
    """Fan out the events the rest of the suite left in the shared database first: a pass fans
    out at most 200 (the oldest), and the counts below are about this test's events only."""
    while rows.fan_out(engine, datetime.now(timezone.utc), timedelta(days=1)):
        pass


@pytest.fixture
def organisation(engine):
    """A fresh IS with an organisation ИНН of its own, so no other test's events reach it."""
    mnemonic = f"WH{uuid.uuid4().hex[:8].upper()}"
    inn = "".join(random.choice("0123456789") for _ in range(10))
    add_system(engine, mnemonic, "webhook test system", [], inn_le=inn)
    return mnemonic, inn


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.release.set()
    server.shutdown()


def _store(engine, inn: str, change_kwargs: dict, at: datetime | None = None):
    msg = IncomingMessage(message_id=str(uuid.uuid1()), message_type="REQUEST",
                          reference_message_id=None, sender="ROMASHKA", recipient="GATEWAY",
                          namespace_uri="urn:test", root_element="Test", content_digest="0" * 64,
                          test_message=False, received_at=at or datetime.now(timezone.utc),
                          envelope=b"<test/>", verification={})
    change = ApplicationChange(organisation_inn=inn, **change_kwargs)
    store_request(engine, msg, lambda number: b"<receipt/>", change)
    return msg


def _application_of(engine, inn: str) -> int:
    from gateway.storage.applications import Applications

    [app] = Applications(engine).of_kind(inn, "")
    return app.id


def _subscribe(engine, mnemonic, url, events=("application.created", "application.status_changed",
                                               "report.processed")):
    sub, secret = manage.subscribe(engine, mnemonic, url, list(events), datetime.now(timezone.utc),
                                   "test", LOOPBACK)
    return sub, secret


def test_an_event_is_stored_with_its_change_and_delivered_signed(engine, organisation, receiver):
    mnemonic, inn = organisation
    sub, secret = _subscribe(engine, mnemonic, receiver.url)
    try:
        msg = _store(engine, inn, dict(domain="reporting", kind="report:2025", state="accepted"))
        app_id = _application_of(engine, inn)
        _store(engine, inn, dict(domain="reporting", kind="report:2025", state="processed",
                                 application_id=app_id, from_state="accepted"))
        dispatcher = Dispatcher(engine, allowed_networks=LOOPBACK)
        assert dispatcher.dispatch_due() == 3
        types = [parsed["type"] for _, _, parsed in receiver.received]
        assert types == ["application.created", "application.status_changed", "report.processed"]
        headers, body, parsed = receiver.received[0]
        assert verify(secret, headers["X-Webhook-Timestamp"], body, headers["X-Signature"],
                      time.time())
        assert not verify("another secret", headers["X-Webhook-Timestamp"], body,
                          headers["X-Signature"], time.time())
        assert not verify(secret, headers["X-Webhook-Timestamp"], body, headers["X-Signature"],
                          time.time() + 3600)  # an old request replayed: refused by timestamp
        assert headers["X-Webhook-Id"] == parsed["id"]
        assert parsed["data"]["message_id"] == msg.message_id
        assert parsed["data"]["organisation_inn"] == inn
        assert parsed["data"]["application_id"] == app_id
        assert receiver.received[2][2]["data"]["previous_status"] == "accepted"
        assert {d.state for d in rows.deliveries(engine, subscription_id=sub.id)} == {"done"}
        assert dispatcher.dispatch_due() == 0  # nothing twice
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_a_rolled_back_change_writes_no_event(engine, organisation, receiver):
    from gateway.domains.statemachine import IllegalTransition

    mnemonic, inn = organisation
    sub, _ = _subscribe(engine, mnemonic, receiver.url)
    try:
        with pytest.raises(IllegalTransition):  # an application that is not in that state
            _store(engine, inn, dict(domain="reporting", kind="report:2025", state="processed",
                                     application_id=10**9, from_state="accepted"))
        assert Dispatcher(engine, allowed_networks=LOOPBACK).dispatch_due() == 0
        assert receiver.received == []
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_a_receiver_that_is_down_gets_the_event_later(engine, organisation):
    mnemonic, inn = organisation
    down = Receiver()
    url = down.url
    down.shutdown()
    down.server_close()  # nothing listens there now
    sub, _ = _subscribe(engine, mnemonic, url)
    clock = Clock()
    try:
        _store(engine, inn, dict(domain="reporting", kind="report:2025", state="accepted"))
        dispatcher = Dispatcher(engine, allowed_networks=LOOPBACK, clock=clock, timeout=2)
        assert dispatcher.dispatch_due() == 1
        [delivery] = rows.deliveries(engine, subscription_id=sub.id)
        assert (delivery.state, delivery.attempts) == ("pending", 1)
        assert "ConnectionError" in delivery.last_error
        assert dispatcher.dispatch_due() == 0  # backing off
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        up = _receiver_on(port)  # the same address, now answering
        try:
            clock.advance(dispatcher.backoff_base * 2)
            assert dispatcher.dispatch_due() == 1
            assert [p["type"] for _, _, p in up.received] == ["application.created"]
            [delivery] = rows.deliveries(engine, subscription_id=sub.id)
            assert (delivery.state, delivery.attempts, delivery.last_status) == ("done", 2, 200)
        finally:
            up.shutdown()
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def _receiver_on(port: int) -> Receiver:
    """A Receiver bound to ``port`` (where a previous one stood)."""
    original = http.server.ThreadingHTTPServer.__init__

    def bind_there(self, address, handler, *args, **kwargs):
        original(self, ("127.0.0.1", port), handler, *args, **kwargs)

    http.server.ThreadingHTTPServer.__init__ = bind_there
    try:
        return Receiver()
    finally:
        http.server.ThreadingHTTPServer.__init__ = original


def test_a_slow_receiver_times_out_and_is_retried(engine, organisation, receiver):
    mnemonic, inn = organisation
    sub, _ = _subscribe(engine, mnemonic, receiver.url)
    clock = Clock()
    try:
        receiver.delay = 2.0
        _store(engine, inn, dict(domain="reporting", kind="report:2025", state="accepted"))
        dispatcher = Dispatcher(engine, allowed_networks=LOOPBACK, clock=clock, timeout=0.5)
        started = time.monotonic()
        dispatcher.dispatch_due()
        assert time.monotonic() - started < 1.9  # the dispatcher did not wait for the receiver
        [delivery] = rows.deliveries(engine, subscription_id=sub.id)
        assert delivery.state == "pending" and "Timeout" in delivery.last_error
        receiver.delay = 0.0
        clock.advance(dispatcher.backoff_base * 2)
        dispatcher.dispatch_due()
        [delivery] = rows.deliveries(engine, subscription_id=sub.id)
        assert delivery.state == "done"
        # at least once: the timed-out attempt also arrived; both carry the same event id
        assert len({p["id"] for _, _, p in receiver.received}) == 1
        assert len(receiver.received) == 2
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_a_failing_receiver_holds_back_the_next_event_of_the_application(engine, organisation,
                                                                          receiver):
    mnemonic, inn = organisation
    sub, _ = _subscribe(engine, mnemonic, receiver.url)
    clock = Clock()
    try:
        _store(engine, inn, dict(domain="reporting", kind="report:2025", state="accepted"))
        app_id = _application_of(engine, inn)
        _store(engine, inn, dict(domain="reporting", kind="report:2025", state="processed",
                                 application_id=app_id, from_state="accepted"))
        receiver.statuses = [500, 500]
        dispatcher = Dispatcher(engine, allowed_networks=LOOPBACK, clock=clock)
        assert dispatcher.dispatch_due() == 1  # only the first: the others wait for it
        clock.advance(dispatcher.backoff_base * 2)
        assert dispatcher.dispatch_due() == 1
        assert receiver.accepted == []
        clock.advance(dispatcher.backoff_base * 4)
        assert dispatcher.dispatch_due() == 3  # the first, then the two it held back
        assert [p["type"] for _, _, p in receiver.received] == [
            "application.created", "application.created", "application.created",
            "application.status_changed", "report.processed"]
        [first, *_] = receiver.accepted
        assert first == receiver.received[0][2]["id"]
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_past_its_maximum_age_a_delivery_is_dead_lettered_and_can_be_replayed(engine, organisation,
                                                                             receiver):
    mnemonic, inn = organisation
    sub, _ = _subscribe(engine, mnemonic, receiver.url)
    clock = Clock()
    try:
        _store(engine, inn, dict(domain="reporting", kind="report:2025", state="accepted"),
               at=clock())
        receiver.statuses = [500] * 10
        dispatcher = Dispatcher(engine, allowed_networks=LOOPBACK, clock=clock, max_age=timedelta(seconds=5))
        for _ in range(10):
            dispatcher.dispatch_due()
            clock.advance(4)
        [delivery] = rows.deliveries(engine, subscription_id=sub.id)
        assert delivery.state == "dead" and delivery.last_status == 500
        attempts = len(receiver.received)
        assert 1 <= attempts <= 3
        dispatcher.dispatch_due()
        assert len(receiver.received) == attempts  # dead: no more attempts
        receiver.statuses = []
        assert manage.replay(engine, delivery.id, clock(), timedelta(seconds=5), "test", mnemonic)
        assert not manage.replay(engine, delivery.id, clock(), timedelta(seconds=5), "test",
                                 mnemonic)  # already pending
        assert dispatcher.dispatch_due() == 1
        [delivery] = rows.deliveries(engine, subscription_id=sub.id)
        assert delivery.state == "done"
        assert len({p["id"] for _, _, p in receiver.received}) == 1  # the same event, again
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_events_of_other_types_or_organisations_are_not_delivered(engine, organisation, receiver):
    mnemonic, inn = organisation
    sub, _ = _subscribe(engine, mnemonic, receiver.url, events=("licence.decided",))
    try:
        _store(engine, inn, dict(domain="reporting", kind="report:2025", state="accepted"))
        _store(engine, "9" + inn[1:], dict(domain="licensing", kind="licence", state="submitted"))
        Dispatcher(engine, allowed_networks=LOOPBACK).dispatch_due()
        assert receiver.received == []
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_an_unknown_event_or_a_bad_url_is_refused(engine, organisation):
    mnemonic, _ = organisation
    with pytest.raises(manage.Invalid, match="unknown event"):
        _subscribe(engine, mnemonic, "http://127.0.0.1:1/x", events=("application.deleted",))
    with pytest.raises(manage.Invalid, match="http"):
        _subscribe(engine, mnemonic, "ftp://127.0.0.1/x")


CHILD = textwrap.dedent('''
    import sys
    from datetime import timedelta
    from gateway.storage.db import make_engine
    from gateway.webhooks.dispatcher import Dispatcher

    from gateway.config import networks
    Dispatcher(make_engine(sys.argv[1]), lease=timedelta(seconds=float(sys.argv[2])),
               timeout=30, allowed_networks=networks("127.0.0.0/8")).dispatch_due()
    print("done", flush=True)
''')


def test_a_dispatcher_killed_mid_delivery_is_taken_over_and_the_event_arrives_again(
        demo_settings, engine, organisation, receiver):
    mnemonic, inn = organisation
    sub, _ = _subscribe(engine, mnemonic, receiver.url)
    lease = 1.0
    try:
        _store(engine, inn, dict(domain="reporting", kind="report:2025", state="accepted"))
        receiver.hold = True
        child = subprocess.Popen([sys.executable, "-c", CHILD, demo_settings.resolved_database_url,
                                  str(lease)], stdout=subprocess.PIPE, text=True)
        try:
            assert receiver.arrived.wait(30), "the delivery never came"
            child.kill()  # the receiver has the request; the dispatcher never hears the answer
            child.wait(10)
        finally:
            child.kill()
        [delivery] = rows.deliveries(engine, subscription_id=sub.id)
        assert (delivery.state, delivery.attempts) == ("pending", 0)
        receiver.hold = False
        receiver.release.set()
        dispatcher = Dispatcher(engine, allowed_networks=LOOPBACK, lease=timedelta(seconds=lease))
        assert dispatcher.dispatch_due() == 0  # the dead dispatcher's lease still holds
        time.sleep(lease + 0.2)
        assert dispatcher.dispatch_due() == 1
        [delivery] = rows.deliveries(engine, subscription_id=sub.id)
        assert delivery.state == "done"
        ids = [p["id"] for _, _, p in receiver.received]
        assert len(ids) == 2 and len(set(ids)) == 1  # at least once, the same event id
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_a_certificate_running_out_is_announced_once(engine, receiver):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from gateway.ops.notifications import scan

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"short-lived {uuid.uuid4()}")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=10))
            .sign(key, hashes.SHA256()))
    mnemonic = f"WH{uuid.uuid4().hex[:8].upper()}"
    add_system(engine, mnemonic, "expiring", [cert], inn_le=None)
    sub, _ = _subscribe(engine, mnemonic, receiver.url, events=("certificate.expiring",))
    try:
        assert scan(engine, Settings(), now)["certificate.expiring"] >= 1
        assert scan(engine, Settings(), now)["certificate.expiring"] == 0  # every process scans; one event
        Dispatcher(engine, allowed_networks=LOOPBACK).dispatch_due()
        [(_, _, parsed)] = receiver.received
        assert parsed["type"] == "certificate.expiring"
        assert parsed["data"]["system"] == mnemonic and not parsed["data"]["expired"]
        assert parsed["data"]["threshold_days"] == 15  # 10 days left: the 15-day notice only
        assert parsed["data"]["not_after"].startswith(cert.not_valid_after_utc.date().isoformat())
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_internal_destinations_are_refused_unless_allowed(engine, organisation, receiver):
    """By default a subscription to loopback, link-local or private addresses is refused; at
    delivery the connected address is checked again, so a name that resolves elsewhere later
    (DNS rebinding) or a subscription made under a wider allow-list gets nothing sent."""
    mnemonic, inn = organisation
    now = datetime.now(timezone.utc)
    for url in (receiver.url, "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/x",
                "http://[::1]:8080/x", "http://localhost/x"):
        with pytest.raises(manage.Invalid, match="GATEWAY_WEBHOOK_ALLOWED_NETWORKS"):
            manage.subscribe(engine, mnemonic, url, ["application.created"], now, "test")
    with pytest.raises(manage.Invalid, match="does not resolve"):
        manage.subscribe(engine, mnemonic, "http://no-such-host.invalid/x", ["application.created"],
                         now, "test")
    public = lambda *_a, **_k: [(None, None, None, "", ("93.184.215.14", 443))]  # noqa: E731
    rebound = lambda *_a, **_k: [(None, None, None, "", ("127.0.0.1", 443))]  # noqa: E731
    assert destinations.refusal("https://hooks.example/x", (), resolve=public) is None
    assert "127.0.0.1" in destinations.refusal("https://hooks.example/x", (), resolve=rebound)
    assert destinations.refusal("https://hooks.example/x", LOOPBACK, resolve=rebound) is None

    sub, _ = _subscribe(engine, mnemonic, receiver.url)  # allowed when it was made
    try:
        _store(engine, inn, dict(domain="registration", kind="registration", state="verified"))
        strict = Dispatcher(engine, clock=Clock())  # ... but not by this dispatcher's settings
        assert strict.dispatch_due() >= 1
        [delivery] = rows.deliveries(engine, subscription_id=sub.id)
        assert delivery.state == "pending" and "not allowed" in delivery.last_error
        assert receiver.received == []  # refused on the connected socket: nothing was sent
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_delivered_webhooks_are_deleted_after_their_retention(engine, organisation, receiver):
    mnemonic, inn = organisation
    sub, _ = _subscribe(engine, mnemonic, receiver.url)
    try:
        _store(engine, inn, dict(domain="registration", kind="registration", state="verified"))
        _store(engine, inn, dict(domain="registration", kind="registration", state="verified"))
        clock = Clock()
        dispatcher = Dispatcher(engine, allowed_networks=LOOPBACK, clock=clock, max_attempts=1)
        receiver.statuses = [200, 500]  # one done, one dead at once (a single attempt allowed)
        dispatcher.dispatch_due()
        states = sorted(d.state for d in rows.deliveries(engine, subscription_id=sub.id))
        assert states == ["dead", "done"]
        soon = clock.now + timedelta(days=10)
        assert rows.prune(engine, soon - timedelta(days=30), soon - timedelta(days=90)) == 0
        month = clock.now + timedelta(days=31)  # the done one goes; the dead one waits for replay
        assert rows.prune(engine, month - timedelta(days=30), month - timedelta(days=90)) >= 1
        assert [d.state for d in rows.deliveries(engine, subscription_id=sub.id)] == ["dead"]
        later = clock.now + timedelta(days=91)
        assert rows.prune(engine, later - timedelta(days=30), later - timedelta(days=90)) >= 1
        assert rows.deliveries(engine, subscription_id=sub.id) == []
    finally:
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")


def test_serving_processes_deliver_by_themselves(demo_settings, engine, organisation, receiver):
    """``gateway serve`` (gunicorn, two workers): the background thread of the workers delivers
    an event committed elsewhere, without anyone calling the dispatcher."""
    import os

    import requests

    from conftest import free_port

    mnemonic, inn = organisation
    sub, _ = _subscribe(engine, mnemonic, receiver.url, events=("application.created",
                                                                "poa.registered"))
    port = free_port()
    env = dict(os.environ, GATEWAY_DATA_DIR=str(demo_settings.data_dir),
               GATEWAY_DATABASE_URL=demo_settings.resolved_database_url,
               GATEWAY_PORT=str(port), GATEWAY_CA_URL=demo_settings.ca_url,
               GATEWAY_REGISTERS_URL=demo_settings.registers_url,
               GATEWAY_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health/live", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        _store(engine, inn, dict(domain="poa", kind="poa", state="registered"))
        deadline = time.monotonic() + 20
        while len(receiver.accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        types = [p["type"] for _, _, p in receiver.received]
        assert types == ["application.created", "poa.registered"], types  # in order, once each
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        rows.remove_subscription(engine, sub.id, datetime.now(timezone.utc), "test")
