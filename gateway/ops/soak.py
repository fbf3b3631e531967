"""``make soak``: a long run at about 70 % of the measured capacity; errors and worker RSS.

Starts its own gateway (gunicorn, 2 workers) and stubs like ``make bench``
(gateway/ops/bench.py), measures the capacity briefly with a burst of pre-signed requests,
then sends unique signed SendRequests at 0.7 × that rate for ``--seconds``. The requests are
signed while the run goes (a 30-minute run would need too many pre-signed ones), by signer
processes of their own. Every answer other than a receipt, and every connection error or
timeout, is an error; nothing is resent. The RSS of each worker is read from /proc every 10 s
and the mean of the first window is compared with the mean of the last (5 minutes each, or a
quarter of a shorter run). It prints figures and asserts nothing.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gateway.ops.cluster import Stack, presign, rss_kib

SAMPLE_SECONDS = 10.0


def _signer(data_dir: str, out, stop) -> None:
    """Runs in its own process: sign unique registration requests into ``out`` until ``stop``."""
    from envelopes.build import send_request
    from envelopes.demo_data import ROMASHKA
    from envelopes.payloads.registration import build_organisation_registration
    from gateway.config import Settings
    from gateway.ops.demo import load_client

    key, cert, chain = load_client(Settings(data_dir=Path(data_dir)), "ROMASHKA")
    while not stop.is_set():
        body = send_request(build_organisation_registration(ROMASHKA), key, cert,
                            extra_certificates=chain)
        while not stop.is_set():
            try:
                out.put(body, timeout=0.5)
                break
            except Exception:  # queue.Full
                continue


def capacity(url: str, bodies: list[bytes], concurrency: int = 8) -> float:
    """Receipts per second of a burst of ``bodies`` sent by ``concurrency`` clients at once."""
    from gateway.ops.chaos import post

    pending = list(bodies)
    lock = threading.Lock()
    ok = 0

    def client() -> None:
        nonlocal ok
        while True:
            with lock:
                if not pending:
                    return
                body = pending.pop()
            try:
                status, _ = post(url, body, timeout=60)
            except (OSError, http.client.HTTPException):
                status = 0
            with lock:
                ok += status == 200
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(client)
    return ok / (time.perf_counter() - started)


def soak(database_url: str = "", seconds: float = 1800.0, fraction: float = 0.7,
         probe: int = 600, signers: int = 1, echo=print) -> dict:
    from gateway.ops.chaos import post

    stack = Stack(database_url).start()
    node = stack.node(workers=2)
    figures: dict = {"seconds": seconds, "fraction": fraction}
    try:
        node.start()
        echo(f"measuring capacity: pre-signing {probe} requests, sending them from 8 clients...")
        bodies = presign(stack.data_dir, probe)
        capacity(node.url, bodies[:probe // 5])  # warm-up
        figures["capacity"] = capacity(node.url, bodies[probe // 5:])
        rate = figures["rate_target"] = fraction * figures["capacity"]
        echo(f"capacity {figures['capacity']:.1f}/s; soaking at {rate:.1f}/s for {seconds:.0f} s")

        ctx = multiprocessing.get_context("fork")
        queue, stop = ctx.Queue(maxsize=2000), ctx.Event()
        procs = [ctx.Process(target=_signer, args=(str(stack.data_dir), queue, stop), daemon=True)
                 for _ in range(signers)]
        for proc in procs:
            proc.start()
        lock = threading.Lock()
        counts = {"sent": 0, "ok": 0, "errors": 0, "late": 0}
        samples: list[tuple[float, dict[int, int]]] = []
        errors_seen: list[str] = []
        started = time.monotonic()
        end = started + seconds
        index = iter(range(10 ** 9))

        def client() -> None:
            while True:
                with lock:
                    i = next(index)
                due = started + i / rate
                if due >= end:
                    return
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                body = queue.get()
                with lock:
                    counts["late"] += time.monotonic() - due > 1.0
                try:
                    status, reply = post(node.url, body, timeout=30)
                except (OSError, http.client.HTTPException) as exc:
                    status, reply = 0, repr(exc).encode()
                with lock:
                    counts["sent"] += 1
                    if status == 200:
                        counts["ok"] += 1
                    else:
                        counts["errors"] += 1
                        if len(errors_seen) < 5:
                            errors_seen.append(f"{status}: {reply[-300:]!r}")

        pool = ThreadPoolExecutor(16)
        futures = [pool.submit(client) for _ in range(16)]
        next_report = started + 60
        while not all(f.done() for f in futures):
            samples.append((time.monotonic() - started,
                            {pid: rss_kib(pid) or 0 for pid in node.worker_pids()}))
            if time.monotonic() >= next_report:
                echo(f"  {time.monotonic() - started:6.0f} s  {counts['ok']} receipts, "
                     f"{counts['errors']} errors, workers RSS "
                     f"{sum(samples[-1][1].values()) / 1024:.1f} MiB")
                next_report += 60
            time.sleep(min(SAMPLE_SECONDS, max(1.0, seconds / 30)))
        samples.append((time.monotonic() - started,
                        {pid: rss_kib(pid) or 0 for pid in node.worker_pids()}))
        pool.shutdown()
        stop.set()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        elapsed = time.monotonic() - started
        window = min(300.0, elapsed / 4)
        first = [sum(s.values()) for t, s in samples if t <= window and s]
        last = [sum(s.values()) for t, s in samples if t >= elapsed - window and s]
        figures.update(counts, elapsed=elapsed, rate_achieved=counts["sent"] / seconds,
                       window=window, rss_first_kib=statistics.mean(first),
                       rss_last_kib=statistics.mean(last), errors_seen=errors_seen,
                       worker_restarts=len({p for _, s in samples for p in s}) - 2)
        figures["rss_growth"] = figures["rss_last_kib"] / figures["rss_first_kib"] - 1
    finally:
        node.stop()
        stack.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1800.0)
    parser.add_argument("--fraction", type=float, default=0.7, help="of the measured capacity")
    parser.add_argument("--signers", type=int, default=1, help="processes signing requests")
    parser.add_argument("--database-url", default="", help="default: SQLite in a new data dir")
    opts = parser.parse_args()
    f = soak(opts.database_url, opts.seconds, opts.fraction, signers=opts.signers)
    print(f"\nsoak, {f['elapsed']:.0f} s, 2 gunicorn workers, "
          f"{'SQLite' if not opts.database_url else 'PostgreSQL'}")
    print(f"  capacity            {f['capacity']:8.1f} receipts/s (burst, 8 clients)")
    print(f"  rate                {f['rate_target']:8.1f} /s target ({f['fraction']:.0%}), "
          f"{f['rate_achieved']:.1f} /s sent ({f['late']} sends over 1 s late)")
    print(f"  requests            {f['sent']:8d} ({f['ok']} receipts)")
    print(f"  errors              {f['errors']:8d}")
    for line in f["errors_seen"]:
        print(f"    {line}")
    print(f"  worker RSS          {f['rss_first_kib'] / 1024:8.1f} MiB first {f['window']:.0f} s, "
          f"{f['rss_last_kib'] / 1024:.1f} MiB last {f['window']:.0f} s "
          f"({f['rss_growth']:+.1%}; both workers summed)")
    print(f"  worker restarts     {f['worker_restarts']:8d}")


if __name__ == "__main__":
    main()
