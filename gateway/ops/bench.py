"""``make bench``: throughput and latency of signed SendRequests through the real stack.

Starts the CA stub and the gateway (gunicorn, several workers, SQLite WAL with durable commits)
on loopback, pre-signs unique requests, then drives the gateway from a SEPARATE process with
concurrent raw HTTP/1.1 clients. Prints envelopes/s, latency percentiles and the server's CPU
cost per envelope. It asserts nothing: it measures.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gateway.ops.cluster import free_port, presign, wait_http

CLK = os.sysconf("SC_CLK_TCK")



def _cpu_seconds(pid: int) -> float:
    """utime+stime of a process and its reaped children, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / CLK


def _tree_pids(root: int) -> list[int]:
    pids = [root]
    for pid in list(pids):
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except FileNotFoundError:
            continue
        pids.extend(int(c) for c in children)
    return pids


async def _drive(port: int, bodies: list[bytes], concurrency: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(bodies))

    async def worker():
        nonlocal errors
        while queue:
            body = queue.pop()
            head = (f"POST /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/xml; charset=utf-8\r\n"
                    f"SOAPAction: \"urn:SendRequest\"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            started = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head + body)
            await writer.drain()
            reply = await reader.read()
            writer.close()
            latencies.append(time.perf_counter() - started)
            if not reply.startswith(b"HTTP/1.1 200") and not reply.startswith(b"HTTP/1.0 200"):
                errors += 1
                if errors <= 3:
                    print("  error reply:", reply[:400].decode(errors="replace"), file=sys.stderr)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, time.perf_counter() - started


def _client_process(port, bodies, concurrency, out):
    cpu0 = time.process_time()
    latencies, errors, wall = asyncio.run(_drive(port, bodies, concurrency))
    out.put((latencies, errors, wall, time.process_time() - cpu0))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)  # one per core did best here
    parser.add_argument("--warmup", type=int, default=300)
    opts = parser.parse_args()

    from gateway.config import Settings
    from gateway.ops.setup import setup

    work = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    gw_port, ca_port, registers_port = free_port(), free_port(), free_port()
    env = dict(os.environ, GATEWAY_DATA_DIR=str(work), GATEWAY_PORT=str(gw_port),
               GATEWAY_CA_URL=f"http://127.0.0.1:{ca_port}",
               GATEWAY_REGISTERS_URL=f"http://127.0.0.1:{registers_port}")
    env.pop("GATEWAY_DATABASE_URL", None)
    settings = Settings.from_env(env)
    setup(settings, echo=lambda *_: None)
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "gateway.ops.cli", "stubs", "serve"], env=env,
                                      stdout=subprocess.DEVNULL))
        wait_http(f"http://127.0.0.1:{ca_port}/health")
        wait_http(f"http://127.0.0.1:{registers_port}/health")
        server = subprocess.Popen([sys.executable, "-m", "gateway.ops.cli", "serve", "--workers",
                                   str(opts.workers)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        procs.append(server)
        wait_http(f"http://127.0.0.1:{gw_port}/health")

        total = opts.requests + opts.warmup
        print(f"pre-signing {total} unique requests (RSA-2048, SMEV profile)...", flush=True)
        bodies = presign(work, total)
        size = statistics.mean(len(b) for b in bodies)

        ctx = multiprocessing.get_context("fork")
        for label, batch in (("warm-up", bodies[:opts.warmup]), ("measured", bodies[opts.warmup:])):
            pids = _tree_pids(server.pid)
            cpu_before = sum(_cpu_seconds(p) for p in pids)
            out = ctx.Queue()
            client = ctx.Process(target=_client_process, args=(gw_port, batch, opts.concurrency, out))
            client.start()
            latencies, errors, wall, client_cpu = out.get()
            client.join()
            cpu_after = sum(_cpu_seconds(p) for p in pids)
            if label == "warm-up":
                continue
            latencies.sort()
            n = len(latencies)
            print(f"\nSendRequest, {n} signed envelopes of {size / 1024:.1f} KB, {opts.concurrency} concurrent "
                  f"clients, {opts.workers} gunicorn workers, SQLite WAL synchronous=FULL, {os.cpu_count()} cores")
            print(f"  throughput        {n / wall:8.0f} envelopes/s   ({errors} errors)")
            print(f"  latency p50       {latencies[n // 2] * 1000:8.2f} ms")
            print(f"  latency p99       {latencies[int(n * 0.99) - 1] * 1000:8.2f} ms")
            print(f"  server CPU        {(cpu_after - cpu_before) / n * 1000:8.3f} ms/envelope "
                  f"(all gunicorn workers)")
            print(f"  client CPU        {client_cpu / n * 1000:8.3f} ms/envelope (load generator)")
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)

    try:
        from signing import bench_parts
    except ImportError:
        return
    print()
    bench_parts.main()


if __name__ == "__main__":
    main()
