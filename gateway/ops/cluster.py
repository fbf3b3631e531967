"""Real gateway processes for the chaos, two-node and soak runs (``make chaos``, ``make soak``,
``tests/integration/test_chaos.py``): a data dir set up like ``make run``, the CA and
registers stub as their own process, and gunicorn nodes that can be SIGKILLed and restarted on
the same data. Clients resend the same bytes when a try fails, as an ERP does.

Everything here is loopback-only and measures or drives; the checks of what was stored live in
``gateway/ops/chaos.py`` and the reads they need in ``gateway/storage/integrity.py``.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from gateway.config import Settings

MESSAGE_ID = re.compile(rb"MessageID>([0-9a-fA-F-]{36})<")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def rss_kib(pid: int) -> int | None:
    """Resident set size from /proc (None once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def message_id_of(body: bytes) -> str:
    return MESSAGE_ID.search(body).group(1).decode("ascii")


class Stack:
    """A data dir (PKI, keys, trust store, migrated database) and the stubs process; the nodes
    started from it share both, as nodes behind a load balancer share them (README.md)."""

    def __init__(self, database_url: str = "", data_dir: Path | None = None, **settings: str):
        self.owns_data_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="gateway-chaos-"))
        self.ca_port, self.registers_port = free_port(), free_port()
        self.env = dict(os.environ, GATEWAY_DATA_DIR=str(self.data_dir),
                        GATEWAY_CA_URL=f"http://127.0.0.1:{self.ca_port}",
                        GATEWAY_REGISTERS_URL=f"http://127.0.0.1:{self.registers_port}",
                        **settings)
        if database_url:
            self.env["GATEWAY_DATABASE_URL"] = database_url
        else:
            self.env.pop("GATEWAY_DATABASE_URL", None)
        self.settings = Settings.from_env(self.env)
        self.stubs: subprocess.Popen | None = None

    def start(self) -> "Stack":
        from gateway.ops.setup import setup

        setup(self.settings, echo=lambda *_: None)
        self.stubs = subprocess.Popen([sys.executable, "-m", "gateway.ops.cli", "stubs", "serve"],
                                      env=self.env, stdout=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{self.ca_port}/health", process=self.stubs)
        wait_http(f"http://127.0.0.1:{self.registers_port}/health", process=self.stubs)
        return self

    def node(self, workers: int = 2) -> "Node":
        return Node(self.env, self.data_dir, workers)

    def stop(self) -> None:
        if self.stubs is not None and self.stubs.poll() is None:
            self.stubs.send_signal(signal.SIGTERM)
            try:
                self.stubs.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.stubs.kill()
                self.stubs.wait()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class Node:
    """One gateway instance: ``gateway serve`` (a gunicorn master and its workers) on its own
    port. ``kill_worker`` lets gunicorn replace a worker; ``kill`` takes the whole node down
    with SIGKILL (master first, so it cannot respawn, then the workers) and ``start`` brings it
    back on the same data."""

    def __init__(self, env: dict, log_dir: Path, workers: int = 2):
        self.port = free_port()
        self.env = dict(env, GATEWAY_PORT=str(self.port))
        self.workers = workers
        self.url = f"http://127.0.0.1:{self.port}/ws"
        self.process: subprocess.Popen | None = None
        self.log = log_dir / f"node-{self.port}.log"

    def start(self, timeout: float = 90.0) -> "Node":
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", str(self.workers)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        wait_http(f"http://127.0.0.1:{self.port}/health", timeout, self.process)
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.alive else []

    def kill_worker(self, rng: random.Random) -> bool:
        pids = self.worker_pids()
        if not pids:
            return False
        try:
            os.kill(rng.choice(pids), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        if self.process is None:
            return
        workers = self.worker_pids()
        for pid in [self.process.pid, *workers]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        for pid in workers:  # not our children: wait until /proc says they are gone
            deadline = time.monotonic() + 10
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    def stop(self) -> None:
        if not self.alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def stderr_tail(self, size: int = 3000) -> str:
        return self.log.read_bytes()[-size:].decode(errors="replace")


def _presign(args) -> list[bytes]:
    data_dir, count, seed = args
    from gateway.config import Settings
    from gateway.ops.demo import load_client
    from envelopes.build import send_request
    from envelopes.demo_data import ROMASHKA
    from envelopes.payloads.registration import build_organisation_registration

    key, cert, chain = load_client(Settings(data_dir=Path(data_dir)), "ROMASHKA")
    return [send_request(build_organisation_registration(ROMASHKA), key, cert,
                         extra_certificates=chain) for _ in range(count)]


def presign(data_dir: Path, count: int, processes: int = 2) -> list[bytes]:
    """``count`` unique signed registration requests of ROMASHKA, signed in ``processes``
    processes (``make bench`` signs its requests here too). Registration accepts repeats
    (ROMASHKA's data matches ЕГРЮЛ in registry_stubs/fixtures) and each accepted request opens
    exactly one application, so a state change applied twice would show."""
    import multiprocessing

    share = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return [b for part in pool.map(_presign, [(str(data_dir), n, i) for i, n in enumerate(share)])
                for b in part]
