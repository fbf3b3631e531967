"""``make chaos``: durability under SIGKILL, and two nodes on one PostgreSQL database.

*Chaos*: a gateway (gunicorn, 2 workers) on its own data dir, with the stubs as their own
process. Concurrent clients in a separate process send unique pre-signed registration requests
and resend THE SAME BYTES whenever a try fails (connection error, 5xx, timeout), as an ERP
does; every few requests they send an accepted one again to compare the receipts. Meanwhile a
controller SIGKILLs random workers (gunicorn replaces them) and the whole node (master and
workers), which it restarts on the same data. Afterwards every receipt a client got must be
the stored one, byte for byte; no message may have opened two applications or two queue items;
``gateway journal verify`` must pass.

*Two nodes* (PostgreSQL only): two instances, each its own gunicorn and port, share the
database and the data dir. A consumer sends requests for an external provider to either node
and resends every accepted one to the OTHER node (same receipt expected); the provider takes
them with GetRequest/Ack from either node while one node is SIGKILLed mid-way. Nothing may be
lost, nothing delivered again after its Ack; un-acked deliveries come back after the (short)
visibility timeout.

Both return figures and the list of violations; ``tests/integration/test_chaos.py`` runs a
bounded version in ``make test`` and asserts there are none. This module measures, it does not
time anything.
"""
from __future__ import annotations

import argparse
import dataclasses
import http.client
import multiprocessing
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from gateway.ops.cluster import Stack, message_id_of, presign

TIMEOUT = 20.0  # seconds a client waits for one answer before it resends


def post(url: str, body: bytes, timeout: float = TIMEOUT) -> tuple[int, bytes]:
    """One POST /ws; raises OSError (incl. timeouts) and http.client errors as a client sees them."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        # an empty SOAPAction is valid for every operation (docs/protocol.md): the drivers post
        # SendRequest, GetRequest and Ack alike
        conn.request("POST", "/ws", body, {"Content-Type": "text/xml; charset=utf-8",
                                           "SOAPAction": '""'})
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


CLIENT_FAULT = re.compile(rb"<faultcode>[^<]*:Client</faultcode>")


def retryable(status: int, reply: bytes) -> bool:
    """What an ERP retries: 5xx except a SOAP Client fault (that one would come again)."""
    return status >= 500 and not CLIENT_FAULT.search(reply)


@dataclasses.dataclass
class Sent:
    """What the clients saw of one request."""

    message_id: str
    receipt: bytes | None = None
    tries: int = 0
    repeats_same: int = 0  # sent again after a receipt: the same receipt bytes
    repeats_other: int = 0  # ... different bytes: a violation
    fault: str = ""  # a non-retryable answer


def _deliver(urls: list[str], body: bytes, until: float, rng: random.Random, record: Sent,
             first: int = 0) -> bytes | None:
    """Send ``body`` until a receipt comes (or ``until``), resending the same bytes after each
    failure, moving to the next node when there are several."""
    index = first
    while time.monotonic() < until:
        record.tries += 1
        try:
            status, reply = post(urls[index % len(urls)], body)
        except (OSError, http.client.HTTPException):
            status, reply = 0, b""
        if status == 200:
            return reply
        if status and not retryable(status, reply):
            record.fault = f"{status}: {reply[:300]!r}"
            return None
        index += 1
        time.sleep(rng.uniform(0.05, 0.3))
    return None


def _client_process(urls, bodies, concurrency, seconds, repeat_every, grace, out) -> None:
    """Runs in its own process: send ``bodies`` for ``seconds`` (then finish the started ones
    within ``grace``); return one :class:`Sent` per body started."""
    results: list[Sent] = []
    lock = threading.Lock()
    pending = list(reversed(bodies))
    stop_taking = time.monotonic() + seconds
    give_up = stop_taking + grace

    def client(number: int) -> None:
        rng = random.Random(number)
        while time.monotonic() < stop_taking:
            with lock:
                if not pending:
                    return
                body = pending.pop()
                index = len(results)
                record = Sent(message_id_of(body))
                results.append(record)
            record.receipt = _deliver(urls, body, give_up, rng, record, first=number)
            if record.receipt is not None and repeat_every and index % repeat_every == 0:
                again = _deliver(urls, body, give_up, rng, Sent(record.message_id), first=number + 1)
                if again == record.receipt:
                    record.repeats_same += 1
                elif again is not None:
                    record.repeats_other += 1

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, range(concurrency)))
    out.put([dataclasses.astuple(r) for r in results])


@dataclasses.dataclass
class ChaosReport:
    seconds: float = 0.0
    requests: int = 0  # unique requests started by the clients
    receipts: int = 0
    tries: int = 0
    resends: int = 0  # tries beyond the first (after a failure)
    repeats_identical: int = 0  # accepted requests sent again: same receipt bytes
    worker_kills: int = 0
    node_kills: int = 0
    stored: int = 0  # the requests found in the messages table
    applications: int = 0  # applications the stored requests opened
    violations: list[str] = dataclasses.field(default_factory=list)

    def lines(self, title: str) -> list[str]:
        return [title,
                f"  ran                 {self.seconds:8.1f} s",
                f"  requests            {self.requests:8d} unique signed SendRequests",
                f"  receipts            {self.receipts:8d}",
                f"  resends             {self.resends:8d} (same bytes after a failed try)",
                f"  repeats identical   {self.repeats_identical:8d} (accepted, sent again: same receipt bytes)",
                f"  kills survived      {self.worker_kills + self.node_kills:8d} "
                f"({self.worker_kills} workers, {self.node_kills} whole nodes, SIGKILL)",
                f"  stored              {self.stored:8d} messages, {self.applications} applications",
                f"  duplicates found    {len([v for v in self.violations if 'twice' in v]):8d}",
                f"  violations          {len(self.violations):8d}"] + \
               [f"    {v}" for v in self.violations[:20]]


def journal_verify(stack: Stack) -> tuple[bool, str]:
    """``gateway journal verify`` as an operator runs it."""
    done = subprocess.run([sys.executable, "-m", "gateway.ops.cli", "journal", "verify"],
                          env=stack.env, capture_output=True, text=True, timeout=600)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def run_chaos(database_url: str = "", seconds: float = 20.0, clients: int = 6,
              requests_per_second: float = 25.0, seed: int | None = None,
              echo=print, threads: int = 1, server: str = "gunicorn") -> ChaosReport:
    """The chaos run (see the module docstring) on ``database_url`` (empty: SQLite in a new data
    dir; a PostgreSQL URL must point at an empty database or schema). ``requests_per_second``
    only sizes the pool of pre-signed requests: the clients send as fast as the node answers,
    and under kills that was 4-11/s here (docs/security.md), so 25/s leaves a margin.
    ``threads`` above 1 runs gthread workers, whose concurrent requests share group commits
    (gateway/storage/group_commit.py): the kills then also land in the middle of batches.
    ``server``: GATEWAY_SERVER, the HTTP server whose workers are killed."""
    from gateway.storage import integrity
    from gateway.storage.db import make_engine

    rng = random.Random(seed)
    report = ChaosReport()
    stack = Stack(database_url, GATEWAY_THREADS=str(threads), GATEWAY_SERVER=server).start()
    node = stack.node(workers=2)
    try:
        node.start()
        count = int(seconds * requests_per_second) + 50
        echo(f"pre-signing {count} unique requests...")
        bodies = presign(stack.data_dir, count)
        out = multiprocessing.get_context("fork").Queue()
        driver = multiprocessing.get_context("fork").Process(
            target=_client_process, args=([node.url], bodies, clients, seconds, 5, 120.0, out))
        started = time.monotonic()
        driver.start()
        next_node_kill = started + rng.uniform(0.3, 0.5) * seconds
        while time.monotonic() - started < seconds:
            time.sleep(rng.uniform(0.8, 2.5))
            if time.monotonic() >= next_node_kill:
                node.kill()
                report.node_kills += 1
                echo(f"  {time.monotonic() - started:6.1f} s  SIGKILL the whole node; restarting it")
                node.start()
                next_node_kill = time.monotonic() + rng.uniform(0.3, 0.5) * seconds
            elif node.kill_worker(rng):
                report.worker_kills += 1
        results = [Sent(*r) for r in out.get()]
        driver.join()
        report.seconds = time.monotonic() - started
        _check_chaos(stack, make_engine(stack.settings.resolved_database_url), results, report,
                     integrity)
    finally:
        node.stop()
        stack.stop()
    return report


def _check_chaos(stack, engine, results: list[Sent], report: ChaosReport, integrity) -> None:
    report.requests = len(results)
    report.tries = sum(r.tries for r in results)
    report.resends = report.tries - report.requests
    report.repeats_identical = sum(r.repeats_same for r in results)
    got = {r.message_id: r.receipt for r in results if r.receipt is not None}
    report.receipts = len(got)
    stored = integrity.stored_receipts(engine, [r.message_id for r in results])
    report.stored = len(stored)
    report.applications = integrity.applications_opened(engine, list(stored))
    v = report.violations
    for r in results:
        if r.fault:
            v.append(f"{r.message_id}: refused {r.fault}")
        elif r.receipt is None:
            v.append(f"{r.message_id}: no receipt after {r.tries} tries")
        if r.repeats_other:
            v.append(f"{r.message_id}: a repeat got other receipt bytes")
    from gateway import faults
    from gateway.pipeline.dispatch import wrap

    for message_id, receipt in got.items():
        if message_id not in stored:
            v.append(f"{message_id}: a receipt was given but the message is not stored")
        elif wrap(stored[message_id], faults.SOAP11) != receipt:  # the envelope the gateway sends
            v.append(f"{message_id}: the receipt given differs from the stored one")
    if report.applications != len(stored):
        v.append(f"{len(stored)} stored registrations opened {report.applications} applications")
    v.extend(f"{m}: opened {n} applications, a state change applied twice"
             for m, n in integrity.messages_with_several_applications(engine))
    v.extend(f"{m}: queued twice for {who} ({kind}, {n} items)"
             for who, kind, m, n in integrity.duplicate_queue_items(engine))
    intact, said = journal_verify(stack)
    if not intact:
        v.append(f"gateway journal verify: {said}")


# -- two nodes ------------------------------------------------------------------------------------

NS = "urn://smev-gateway/chaos/provider/1.0"


@dataclasses.dataclass
class TwoNodeReport:
    seconds: float = 0.0
    sent: int = 0
    receipts: int = 0
    resends: int = 0
    receipts_same_on_other_node: int = 0
    deliveries: int = 0
    redeliveries: int = 0  # of un-acked deliveries, after the visibility timeout
    acks_withheld: int = 0  # deliveries the provider did not acknowledge on purpose
    acked: int = 0
    node_kills: int = 0
    violations: list[str] = dataclasses.field(default_factory=list)

    def lines(self, title: str) -> list[str]:
        return [title,
                f"  ran                 {self.seconds:8.1f} s",
                f"  requests            {self.sent:8d} sent, {self.receipts} receipts, {self.resends} resends",
                f"  other node, same    {self.receipts_same_on_other_node:8d} (resent to the other node: same receipt bytes)",
                f"  deliveries          {self.deliveries:8d} (GetRequest), {self.acked} acknowledged",
                f"  redeliveries        {self.redeliveries:8d} (after the visibility timeout; "
                f"{self.acks_withheld} Acks withheld on purpose, the rest cut by the kill)",
                f"  node kills          {self.node_kills:8d} (SIGKILL, one of the two nodes)",
                f"  delivered after Ack {len([v for v in self.violations if 'after its Ack' in v]):8d}",
                f"  lost                {len([v for v in self.violations if 'lost' in v]):8d}",
                f"  violations          {len(self.violations):8d}"] + \
               [f"    {v}" for v in sorted(self.violations, key=lambda v: "lost" in v)[:20]]


def run_two_nodes(database_url: str, count: int = 120, takers: int = 3, senders: int = 4,
                  visibility: int = 3, seed: int | None = None, echo=print) -> TwoNodeReport:
    """The two-node run (see the module docstring) on an empty PostgreSQL ``database_url``."""
    from lxml import etree

    from envelopes import build, ns
    from gateway.ops.demo import load_client
    from gateway.ops.setup import open_pki
    from gateway.pipeline.participants import SEND, SERVE, add_system, grant
    from gateway.storage import integrity
    from gateway.storage.db import make_engine

    if not database_url.startswith("postgresql"):
        raise ValueError("two nodes need one shared PostgreSQL database")
    rng = random.Random(seed)
    report = TwoNodeReport()
    stack = Stack(database_url, GATEWAY_VISIBILITY_TIMEOUT_SECONDS=str(visibility),
                  GATEWAY_PARTICIPANTS_CACHE_SECONDS="0").start()
    engine = make_engine(stack.settings.resolved_database_url)
    pki = open_pki(stack.settings)
    provider = pki.issue(f"provider-{uuid.uuid4().hex[:6]}", common_name="CHAOSPROVIDER",
                         key_type="ec-p256")
    add_system(engine, "CHAOSPROVIDER", "Provider taking from two nodes", [provider.certificate])
    grant(engine, "CHAOSPROVIDER", SERVE, NS)
    grant(engine, "ROMASHKA", SEND, NS)
    key, cert, chain = load_client(stack.settings, "ROMASHKA")
    bodies = []
    for i in range(count):
        job = etree.Element(f"{{{NS}}}Job")
        job.text = str(i)
        bodies.append(build.send_request(job, key, cert, extra_certificates=chain))
    sent_ids = {message_id_of(b) for b in bodies}
    nodes = [stack.node(workers=2), stack.node(workers=2)]
    T = ns.SMEV_TYPES
    pk, pc, pchain = provider.private_key, provider.certificate, tuple(pki.intermediates())
    lock = threading.Lock()
    delivered_at: dict[str, list[float]] = {}  # MessageID -> start times of GetRequests that got it
    acked_at: dict[str, float] = {}  # MessageID -> when its Ack was answered
    senders_done = threading.Event()
    started = time.monotonic()
    try:
        for node in nodes:
            node.start()
        urls = [n.url for n in nodes]

        def send(number: int) -> None:
            my = random.Random(number)
            for body in bodies[number::senders]:
                record = Sent(message_id_of(body))
                first = my.randrange(2)
                receipt = _deliver(urls, body, time.monotonic() + 120, my, record, first)
                again = _deliver(urls, body, time.monotonic() + 120, my, Sent(record.message_id),
                                 first + 1) if receipt is not None else None
                with lock:
                    report.sent += 1
                    report.resends += record.tries - 1
                    if receipt is None:
                        report.violations.append(f"{record.message_id}: no receipt ({record.fault})")
                        continue
                    report.receipts += 1
                    if again == receipt:
                        report.receipts_same_on_other_node += 1
                    else:
                        report.violations.append(f"{record.message_id}: the other node gave other bytes")

        def call(sign, first: int, my: random.Random, ack: bool = False) -> bytes | None:
            """GetRequest/Ack: each try signed anew (a signed read is accepted once). An Ack
            carries no timestamp, so a re-signed one is the same request: REPLAYED_REQUEST on a
            later try means an earlier try was accepted (its answer was lost to a kill)."""
            for attempt in range(40):
                try:
                    status, reply = post(urls[(first + attempt) % 2], sign(), timeout=TIMEOUT)
                except (OSError, http.client.HTTPException):
                    time.sleep(my.uniform(0.05, 0.2))
                    continue
                if status == 200 or (ack and attempt and b"REPLAYED_REQUEST" in reply):
                    return reply
                if not retryable(status, reply):
                    with lock:
                        report.violations.append(f"provider refused: {status} {reply[-400:]!r}")
                    return None
                time.sleep(my.uniform(0.05, 0.2))
            with lock:
                report.violations.append("the provider got no answer from either node in 40 tries")
            return None

        def take(number: int) -> None:
            my = random.Random(1000 + number)
            idle_since = None
            while True:
                asked = time.monotonic()
                reply = call(lambda: build.get_request(pk, pc, extra_certificates=pchain),
                             my.randrange(2), my)
                data = None if reply is None else \
                    etree.fromstring(reply).find(f".//{{{T}}}SenderProvidedRequestData")
                if data is None:
                    with lock:
                        finished = senders_done.is_set() and sent_ids <= set(acked_at)
                    if finished:
                        return
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since > 60 + visibility:
                        return
                    time.sleep(0.2)
                    continue
                idle_since = None
                message_id = data.findtext(f"{{{T}}}MessageID")
                with lock:
                    report.deliveries += 1
                    earlier = delivered_at.setdefault(message_id, [])
                    if earlier:
                        report.redeliveries += 1
                    earlier.append(asked)
                    if message_id in acked_at and asked > acked_at[message_id]:
                        report.violations.append(f"{message_id}: delivered again after its Ack")
                    withhold = len(earlier) == 1 and my.random() < 0.1
                    if withhold:
                        report.acks_withheld += 1
                if withhold:
                    continue  # comes back after the visibility timeout
                if call(lambda: build.ack(message_id, pk, pc, extra_certificates=pchain),
                        my.randrange(2), my, ack=True) is not None:
                    with lock:
                        report.acked += message_id not in acked_at
                        acked_at.setdefault(message_id, time.monotonic())

        with ThreadPoolExecutor(senders + takers) as pool:
            sending = [pool.submit(send, i) for i in range(senders)]
            taking = [pool.submit(take, i) for i in range(takers)]
            while report.sent < count // 2 and not all(f.done() for f in sending):
                time.sleep(0.1)
            victim = rng.randrange(2)
            nodes[victim].kill()
            report.node_kills += 1
            echo(f"  {time.monotonic() - started:6.1f} s  SIGKILL node {victim + 1} "
                 f"after {report.sent} requests; it comes back 5 s later")
            time.sleep(5)
            nodes[victim].start()
            for f in sending:
                f.result()
            senders_done.set()
            for f in taking:
                f.result()
        report.seconds = time.monotonic() - started
        lost = sent_ids - set(acked_at)
        report.violations.extend(f"{m}: lost (sent, never acknowledged)" for m in sorted(lost))
        states = integrity.queue_states(engine, "CHAOSPROVIDER")
        if set(states) - {"acked"}:
            report.violations.append(f"provider queue not drained: {states}")
        report.violations.extend(f"{m}: queued twice for {who} ({kind}, {n} items)"
                                 for who, kind, m, n in integrity.duplicate_queue_items(engine))
        intact, said = journal_verify(stack)
        if not intact:
            report.violations.append(f"gateway journal verify: {said}")
    finally:
        senders_done.set()
        for node in nodes:
            node.stop()
        stack.stop()
        engine.dispose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="length of each chaos run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--postgres", default="", help="PostgreSQL server URL: also run there "
                        "(a fresh schema) and run the two-node test")
    parser.add_argument("--two-node-messages", type=int, default=600)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per worker (GATEWAY_THREADS): above 1 the kills also hit "
                             "group commits of several requests")
    opts = parser.parse_args()
    reports = []
    print(f"chaos on SQLite for {opts.seconds:.0f} s", flush=True)
    reports.append(run_chaos("", opts.seconds, opts.clients, threads=opts.threads)
                   .lines("\nchaos, SQLite"))
    print("\n".join(reports[-1]), flush=True)
    if opts.postgres:
        from gateway.storage.db import scratch_schema

        print(f"\nchaos on PostgreSQL for {opts.seconds:.0f} s", flush=True)
        with scratch_schema(opts.postgres, "gw_chaos") as url:
            reports.append(run_chaos(url, opts.seconds, opts.clients, threads=opts.threads)
                           .lines("\nchaos, PostgreSQL"))
        print("\n".join(reports[-1]), flush=True)
        print("\ntwo nodes on one PostgreSQL database", flush=True)
        with scratch_schema(opts.postgres, "gw_nodes") as url:
            reports.append(run_two_nodes(url, opts.two_node_messages).lines("\ntwo nodes, PostgreSQL"))
        print("\n".join(reports[-1]), flush=True)
    bad = [line for r in reports for line in r if line.startswith("  violations") and not line.endswith(" 0")]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
