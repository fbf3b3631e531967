"""``make bench``: throughput, latency and cost of signed SendRequests through the real stack.

For each request-signing algorithm of the clients (RSA-2048, ECDSA P-256, GOST R 34.10-2012
256 when the engine is available) and each database (SQLite WAL with ``synchronous=FULL``;
PostgreSQL in a scratch schema, when it answers) it sets up a fresh data dir, starts the stubs
and the gateway (gunicorn), pre-signs unique requests and drives the gateway from a SEPARATE
process with concurrent raw HTTP/1.1 clients. Per run it prints envelopes/s, p50/p99/p999, the
server's CPU per envelope (gunicorn workers; with PostgreSQL also the database server's own
processes), the write-lock hold time per transaction (from /metrics), and beside them the
machine's load average, busy share and CPU steal over the measured window (/proc), because the
machine may be shared and the figures are only as good as that. It asserts nothing.

``--sizes`` and ``--attachments`` add runs that show how the cost grows with the envelope's
business payload (1 KB … 1 MB) and with an MTOM attachment; ``--nodes 2`` runs two gateway
nodes on one PostgreSQL (gateway/ops/cluster.py). docs/performance.md keeps the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import Settings
from gateway.ops.cluster import Stack

CLK = os.sysconf("SC_CLK_TCK")
#: client key type of the demo PKI per row: (label, GATEWAY_DEMO_ALGORITHM, client key type)
ALGORITHMS = {
    "rsa": ("RSA-2048", "rsa-ec", "rsa2048"),
    "ecdsa": ("ECDSA P-256", "rsa-ec", "ec-p256"),
    "gost": ("GOST 2012-256", "gost2012-256", "gost2012-256"),
}
BENCH_NS = "urn://smev-gateway/bench/blob/1.0"
BUDGET = Path(__file__).resolve().parents[2] / "perf-budget.json"


# ------------------------------------------------------------------ machine and process figures
def _cpu_seconds(pid: int) -> float:
    """utime+stime of a process and its reaped children, from /proc (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return sum(int(v) for v in fields[11:15]) / CLK


def _tree_pids(root: int) -> list[int]:
    pids = [root]
    for pid in pids:
        try:
            pids.extend(int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def _proc_stat() -> list[int]:
    with open("/proc/stat") as handle:
        return [int(x) for x in handle.readline().split()[1:]]


@dataclass
class Machine:
    """Load average at the end, and the shares of all CPUs' time over the window."""
    load: tuple[float, float, float]
    busy: float     # not idle nor iowait
    steal: float

    @classmethod
    def between(cls, before: list[int], after: list[int]) -> "Machine":
        delta = [b - a for a, b in zip(before, after)]
        total = max(sum(delta), 1)
        idle = delta[3] + (delta[4] if len(delta) > 4 else 0)
        steal = delta[7] if len(delta) > 7 else 0
        return cls(os.getloadavg(), 100 * (total - idle) / total, 100 * steal / total)

    def __str__(self) -> str:
        return (f"load {self.load[0]:.2f}/{self.load[1]:.2f}/{self.load[2]:.2f}, "
                f"busy {self.busy:.0f} %, steal {self.steal:.1f} %")


def _write_lock(port: int) -> tuple[float, float]:
    """(write transactions, seconds they held the write lock) from the node's /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    found = {"gateway_write_transactions_total": 0.0, "gateway_write_lock_seconds_total": 0.0}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in found:
            found[name] = float(value)
    return found["gateway_write_transactions_total"], found["gateway_write_lock_seconds_total"]


# ------------------------------------------------------------------ requests
def _payload(size: int):
    """A business payload of about ``size`` bytes (UTF-8, Cyrillic text in items of ~300 bytes) in a
    namespace routed to a provider queue."""
    from lxml import etree

    root = etree.Element(f"{{{BENCH_NS}}}Blob", nsmap={"b": BENCH_NS})
    text = "Организация «Ромашка», ул. Тверская, д. 1; " * 4           # ~300 bytes in UTF-8
    item_bytes = len(text.encode()) + len("<b:Item></b:Item>")
    for _ in range(max(1, (size - 60) // item_bytes)):
        etree.SubElement(root, f"{{{BENCH_NS}}}Item").text = text
    return root


def _sign(args) -> list[tuple[str, bytes]]:
    data_dir, count, payload_bytes, attachment_bytes = args
    from envelopes.build import send_request
    from envelopes.demo_data import ROMASHKA
    from envelopes.mtom import File, send_request_with_files
    from envelopes.payloads.registration import build_organisation_registration
    from gateway.config import Settings
    from gateway.ops.demo import load_client

    key, cert, chain = load_client(Settings(data_dir=Path(data_dir)), "ROMASHKA")
    out = []
    for _ in range(count):
        payload = _payload(payload_bytes) if payload_bytes else build_organisation_registration(ROMASHKA)
        if attachment_bytes:
            files = [File("doc1", "application/pdf", os.urandom(attachment_bytes))]
            out.append(send_request_with_files(payload, files, key, cert, extra_certificates=chain))
        else:
            out.append(("text/xml; charset=utf-8",
                        send_request(payload, key, cert, extra_certificates=chain)))
    return out


def presign(data_dir: Path, count: int, payload_bytes: int = 0, attachment_bytes: int = 0,
            processes: int = 2) -> list[tuple[str, bytes]]:
    """``count`` unique signed SendRequests of ROMASHKA as (Content-Type, body): registrations
    by default, else a payload of ``payload_bytes`` and/or one attachment of
    ``attachment_bytes``; signed in ``processes`` processes."""
    share = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(_sign, [(str(data_dir), n, payload_bytes, attachment_bytes)
                                 for n in share if n])
    return [b for part in parts for b in part]


async def _read_reply(reader) -> tuple[bytes, bool]:
    """One HTTP/1.1 reply on a kept-alive connection: (status line + head + body, may reuse)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length, reuse = 0, True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and value.strip().lower() == b"close":
            reuse = False
    return head + await reader.readexactly(length), reuse


async def _drive(ports: list[int], bodies, concurrency: int, keep_alive: bool = False):
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(bodies))

    async def worker(port: int):
        nonlocal errors
        reader = writer = None
        while queue:
            content_type, body = queue.pop()
            head = (f"POST /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
                    f"SOAPAction: \"urn:SendRequest\"\r\nContent-Length: {len(body)}\r\n"
                    f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n").encode()
            started = time.perf_counter()
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head + body)
            await writer.drain()
            if keep_alive:
                reply, reuse = await _read_reply(reader)
            else:
                reply, reuse = await reader.read(), False
            if not reuse:
                writer.close()
                reader = writer = None
            latencies.append(time.perf_counter() - started)
            if not reply.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                errors += 1
                if errors <= 3:
                    print("  error reply:", reply[:400].decode(errors="replace"), file=sys.stderr)
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(ports[i % len(ports)]) for i in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


def _client_process(ports, bodies, concurrency, out, keep_alive=False):
    cpu0 = time.process_time()
    latencies, errors, wall = asyncio.run(_drive(ports, bodies, concurrency, keep_alive))
    out.put((latencies, errors, wall, time.process_time() - cpu0))


# ------------------------------------------------------------------ one run
@dataclass
class Result:
    label: str
    database: str
    n: int
    size: float
    rate: float
    errors: int
    p50: float
    p99: float
    p999: float
    server_cpu: float               # ms per envelope, gateway processes
    db_cpu: float | None            # ms per envelope, PostgreSQL server processes of this run
    client_cpu: float
    lock_ms: float | None           # per write transaction
    transactions: float             # write transactions per envelope
    machine: Machine
    server: str = "gunicorn"
    notes: list[str] = field(default_factory=list)


def _percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))] * 1000


def run(algorithm: str, database: str, postgres: str, *, requests: int, warmup: int,
        concurrency: int, workers: int, nodes: int = 1, payload_bytes: int = 0,
        attachment_bytes: int = 0, threads: int = 1, keep_alive: bool = False,
        server: str = "gunicorn") -> Result:
    from gateway.ops.setup import issue_demo_client
    from gateway.storage.db import scratch_schema

    label, demo_algorithm, key_type = ALGORITHMS[algorithm]
    app_name = f"gw_bench_{os.getpid()}_{random.randrange(1 << 30)}"
    with contextlib.ExitStack() as stack_:
        url = ""
        if database == "postgres":
            url = stack_.enter_context(scratch_schema(postgres, "gw_bench"))
            url += f"&application_name={app_name}"
        stack = Stack(url, GATEWAY_DEMO_ALGORITHM=demo_algorithm, GATEWAY_REVOCATION="hard-fail",
                      GATEWAY_THREADS=str(threads), GATEWAY_SERVER=server)
        stack_.callback(stack.stop)
        if algorithm == "ecdsa":
            issue_demo_client(stack.settings, "ROMASHKA", key_type)   # before setup registers it
        stack.start()
        if payload_bytes:
            from gateway.pipeline.participants import SEND, SERVE, grant
            from gateway.storage.db import make_engine
            engine = make_engine(stack.settings.resolved_database_url)
            grant(engine, "ROMASHKA", SEND, BENCH_NS)
            grant(engine, "TAXOFFICE", SERVE, BENCH_NS)
            engine.dispose()
        started = []
        for _ in range(nodes):
            node = stack.node(workers)
            stack_.callback(node.stop)
            started.append(node.start())
        ports = [node.port for node in started]
        bodies = presign(stack.data_dir, requests + warmup, payload_bytes, attachment_bytes)
        size = statistics.mean(len(b) for _, b in bodies)
        ctx = multiprocessing.get_context("fork")
        for phase, batch in (("warm-up", bodies[:warmup]), ("measured", bodies[warmup:])):
            pids = [p for node in started for p in _tree_pids(node.process.pid)]
            db_pids = _db_pids(stack.settings.resolved_database_url, app_name) if url else []
            cpu_before = sum(_cpu_seconds(p) for p in pids)
            db_before = {p: _cpu_seconds(p) for p in db_pids}
            locks_before = [_write_lock(p) for p in ports]
            stat_before = _proc_stat()
            out = ctx.Queue()
            client = ctx.Process(target=_client_process,
                                 args=(ports, batch, concurrency, out, keep_alive))
            client.start()
            latencies, errors, wall, client_cpu = out.get()
            client.join()
            machine = Machine.between(stat_before, _proc_stat())
            cpu_after = sum(_cpu_seconds(p) for p in pids)
            locks_after = [_write_lock(p) for p in ports]
            db_after = _db_pids(stack.settings.resolved_database_url, app_name) if url else []
            db_cpu = sum(_cpu_seconds(p) - db_before.get(p, 0.0) for p in db_after)
        latencies.sort()
        n = len(latencies)
        count = sum(a[0] - b[0] for a, b in zip(locks_after, locks_before))
        held = sum(a[1] - b[1] for a, b in zip(locks_after, locks_before))
        return Result(label, database if nodes == 1 else f"{database} ×{nodes} nodes", n, size,
                      n / wall, errors, _percentile(latencies, 0.5), _percentile(latencies, 0.99),
                      _percentile(latencies, 0.999), (cpu_after - cpu_before) / n * 1000,
                      db_cpu / n * 1000 if url else None, client_cpu / n * 1000,
                      held / count * 1000 if count else None, count / n, machine, server=server)


def _db_pids(url: str, app_name: str) -> list[int]:
    from gateway.storage.db import make_engine
    from gateway.storage.integrity import backend_pids

    engine = make_engine(url)
    try:
        return backend_pids(engine, app_name)
    finally:
        engine.dispose()


# ------------------------------------------------------------------ reporting
def _instructions() -> str:
    try:
        count = json.loads(BUDGET.read_text())["instructions_per_envelope"]
    except (OSError, ValueError, KeyError):
        return "instructions/envelope: no perf-budget.json"
    return (f"instructions/envelope: {count / 1e6:.2f} M — `make perf-check` (callgrind, user "
            f"space, in-process, RSA-2048 request, SQLite), the committed budget; not measured "
            f"per row: this VM exposes no hardware counters to `perf stat`")


HEADER = (f"{'requests signed with':16s} {'database':18s} {'server':8s} {'env/s':>7s} {'p50 ms':>7s} "
          f"{'p99 ms':>7s} {'p999 ms':>8s} {'CPU ms/env':>10s} {'DB CPU':>7s} {'client':>6s} "
          f"{'lock ms':>8s} {'tx/env':>6s} {'KB':>7s}  machine during the run")


def _row(r: Result) -> str:
    db_cpu = f"{r.db_cpu:7.2f}" if r.db_cpu is not None else f"{'-':>7s}"
    lock = f"{r.lock_ms:8.2f}" if r.lock_ms is not None else f"{'-':>8s}"
    return (f"{r.label:16s} {r.database:18s} {r.server:8s} {r.rate:7.0f} {r.p50:7.1f} {r.p99:7.1f} "
            f"{r.p999:8.1f} {r.server_cpu:10.2f} {db_cpu} {r.client_cpu:6.2f} {lock} "
            f"{r.transactions:6.2f} "
            f"{r.size / 1024:7.1f}  {r.machine}"
            + (f"  ({r.errors} errors)" if r.errors else ""))


def _server_text(server: str, threads: int, keep_alive: bool) -> str:
    threads = Settings(server=server, threads=threads).app_threads
    if server == "granian":
        return f"granian: {threads} app thread{'s' if threads > 1 else ''} per worker"
    if threads > 1:
        return f"gunicorn: gthread, {threads} threads"
    return "gunicorn: sync" + (", which closes every connection" if keep_alive else "")


def _bytes(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("m", 1 << 20), ("k", 1 << 10)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def _postgres_answers(url: str) -> str | None:
    from gateway.storage.db import make_engine, ping

    try:
        engine = make_engine(url)
        try:
            ping(engine)
        finally:
            engine.dispose()
    except Exception as exc:  # any reason it cannot be used is printed, the run goes on
        return str(exc).splitlines()[0]
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", default="rsa,ecdsa,gost",
                        help="client request-signing algorithms: rsa, ecdsa, gost (default all; "
                             "gost is left out with a line when the engine is unavailable)")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres", default=os.environ.get(
        "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL server URL (each run makes and drops a schema of its own)")
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32,
                        help="concurrent clients (the p99 target in docs/performance.md is at 32)")
    parser.add_argument("--servers", default="gunicorn",
                        help="HTTP servers (GATEWAY_SERVER), e.g. gunicorn,granian: the matrix "
                             "runs for each")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per node")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads per worker (GATEWAY_THREADS; gunicorn above 1: gthread "
                             "workers; granian: the threads that run the app); default 0, each "
                             "server's own: gunicorn 1 (sync workers), granian 16")
    parser.add_argument("--keep-alive", action="store_true",
                        help="clients keep their connection open (granian and gunicorn's "
                             "gthread workers keep it; its sync workers close every one)")
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", ""),
                        help="business payload sizes, e.g. 1k,16k,256k,1m: one run each "
                             "(first algorithm, SQLite)")
    parser.add_argument("--attachments", default=os.environ.get("BENCH_ATTACHMENTS", ""),
                        help="MTOM attachment sizes, e.g. 64k,1m,8m: one run each")
    parser.add_argument("--size-requests", type=int, default=100,
                        help="measured requests per size run (fewer above 100 KB)")
    parser.add_argument("--nodes", type=int, default=1,
                        help="also run this many nodes on one PostgreSQL (first algorithm)")
    parser.add_argument("--parts", action="store_true",
                        help="then print where one signature check's time goes (signing.bench_parts)")
    opts = parser.parse_args(argv)

    from signing import gost
    servers = [x.strip() for x in opts.servers.split(",") if x.strip()]
    for server in servers:
        if server not in ("gunicorn", "granian"):
            parser.error(f"--servers: gunicorn or granian, not {server!r}")
    algorithms = [a.strip() for a in opts.algorithms.split(",") if a.strip()]
    if "gost" in algorithms and not gost.backend().available:
        print(f"GOST row left out: {gost.backend()}")
        algorithms.remove("gost")
    databases = [d.strip() for d in opts.databases.split(",") if d.strip()]
    if "postgres" in databases:
        why = _postgres_answers(opts.postgres)
        if why:
            print(f"PostgreSQL rows left out: {opts.postgres} does not answer ({why})")
            databases.remove("postgres")
    print(f"make bench: {os.cpu_count()} CPUs; SendRequest of unique pre-signed registrations, "
          f"{opts.requests} measured after {opts.warmup} warm-up per run, {opts.concurrency} "
          f"concurrent clients in a separate process"
          f"{', keeping connections open' if opts.keep_alive else ', a connection per request'}, "
          f"{opts.workers} workers per node "
          f"({', '.join(_server_text(x, opts.threads, opts.keep_alive) for x in servers)}), revocation "
          f"hard-fail, SMEV profile; receipts ECDSA P-256 (GOST rows: GOST PKI and receipts)")
    print("CPU ms/env: the gateway's processes; DB CPU: the PostgreSQL server processes of the "
          "run; client: the load generator's own CPU per envelope (it shares the machine); lock ms: write-lock hold per write transaction (/metrics), tx/env: write "
          "transactions per envelope (below 1: group commits of several); the machine's load, "
          "busy share and steal are of the measured window — the machine may be shared, so "
          "compare rows of one run")
    print(_instructions(), flush=True)
    print(HEADER, flush=True)
    results = []
    # the servers of one algorithm and database run back to back: the machine's speed drifts
    # over minutes (docs/performance.md), so pairs compare what the matrix's halves would not
    for algorithm in algorithms:
        for database in databases:
            for server in servers:
                r = run(algorithm, database, opts.postgres, requests=opts.requests,
                        warmup=opts.warmup, concurrency=opts.concurrency, workers=opts.workers,
                        threads=opts.threads, keep_alive=opts.keep_alive, server=server)
                results.append(r)
                print(_row(r), flush=True)
    if opts.nodes > 1 and "postgres" in databases and algorithms:
        r = run(algorithms[0], "postgres", opts.postgres, requests=opts.requests,
                warmup=opts.warmup, concurrency=opts.concurrency, workers=opts.workers,
                nodes=opts.nodes, threads=opts.threads, keep_alive=opts.keep_alive,
                server=servers[-1])
        print(_row(r), flush=True)
    sized = [(f"payload {s}", _bytes(s), 0) for s in opts.sizes.split(",") if s.strip()] + \
            [(f"attachment {s}", 0, _bytes(s)) for s in opts.attachments.split(",") if s.strip()]
    if sized and algorithms:
        print(f"\ncost by size ({ALGORITHMS[algorithms[0]][0]}, {databases[0]}; payload: a "
              f"business document routed to a provider queue, attachment: one MTOM part beside "
              f"a 1 KB payload)")
        print(f"{'what':18s} {'KB sent':>9s} {'n':>4s} {'env/s':>7s} {'MB/s':>6s} {'p50 ms':>8s} "
              f"{'p99 ms':>8s} {'CPU ms/env':>10s} {'lock ms':>8s}  machine")
        for what, payload_bytes, attachment_bytes in sized:
            biggest = max(payload_bytes, attachment_bytes)
            n = max(20, min(opts.size_requests, int(opts.size_requests * (100 << 10) / max(biggest, 1))))
            r = run(algorithms[0], databases[0], opts.postgres, requests=n, warmup=5,
                    concurrency=4, workers=opts.workers,
                    payload_bytes=payload_bytes or (1024 if attachment_bytes else 0),
                    attachment_bytes=attachment_bytes)
            lock = f"{r.lock_ms:8.2f}" if r.lock_ms is not None else f"{'-':>8s}"
            print(f"{what:18s} {r.size / 1024:9.1f} {r.n:4d} {r.rate:7.1f} "
                  f"{r.rate * r.size / (1 << 20):6.1f} {r.p50:8.1f} {r.p99:8.1f} "
                  f"{r.server_cpu:10.2f} {lock}  {r.machine}"
                  + (f"  ({r.errors} errors)" if r.errors else ""), flush=True)
    if opts.parts:
        from signing import bench_parts
        print()
        bench_parts.main()


if __name__ == "__main__":
    main()
