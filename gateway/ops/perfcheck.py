"""``make perf-check``: instructions per envelope, in-process, counted by callgrind.

Wall-clock figures on a shared machine vary by 2-5x between runs; user-space instruction counts
do not. The same SendRequest path the benchmark drives (the WSGI app, hardened parse, XSDs,
signature and certificate path, the handler, one durable SQLite transaction, the signed receipt)
is run in one process under ``valgrind --tool=callgrind``, twice: after ``WARMUP`` envelopes
(first-use costs: imports, schema loading, the certificate path and the register answers
cached) with ``N`` more, and with none, each from its own copy of the same freshly set-up data
dir. ``(count(N) - count(0)) / N`` of the main thread, which runs the envelopes, is what one
envelope costs (why the copies and the main thread: ``_instructions``). The result is compared
with ``perf-budget.json`` at the repository root and the command fails when it is more than
10 % over the committed budget: a regression guard that machine noise cannot trip (the count is
repeatable to a fraction of a percent).

The envelopes are signed, and the CA and registers stubs run, OUTSIDE the measured process.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gateway.ops.cluster import free_port, wait_http

from gateway.config import ROOT

BUDGET_FILE = ROOT / "perf-budget.json"
WARMUP = 30
TOLERANCE = 0.10




def _environment(work: Path) -> dict[str, str]:
    ca, registers = free_port(), free_port()
    env = dict(os.environ, GATEWAY_DATA_DIR=str(work), GATEWAY_CA_URL=f"http://127.0.0.1:{ca}",
               GATEWAY_REGISTERS_URL=f"http://127.0.0.1:{registers}",
               PYTHONHASHSEED="0",  # the same hashing in every run: the same instructions
               # caches that expire by the clock would make the count depend on how slowly
               # callgrind runs: keep them warm for the whole measurement
               GATEWAY_PARTICIPANTS_CACHE_SECONDS="86400", GATEWAY_REGISTERS_CACHE_SECONDS="86400")
    env.pop("GATEWAY_DATABASE_URL", None)
    return env


def _presign(work: Path, count: int) -> Path:
    """``count`` unique signed registration requests of the demo organisation, length-prefixed."""
    from envelopes.build import send_request
    from envelopes.demo_data import ROMASHKA
    from envelopes.payloads.registration import build_organisation_registration
    from gateway.config import Settings
    from gateway.ops.demo import load_client

    key, cert, chain = load_client(Settings(data_dir=work), "ROMASHKA")
    path = work / "bodies.bin"
    with open(path, "wb") as out:
        for _ in range(count):
            body = send_request(build_organisation_registration(ROMASHKA), key, cert,
                                extra_certificates=chain)
            out.write(len(body).to_bytes(4, "big") + body)
    return path


def read_bodies(path: Path) -> list[bytes]:
    """The envelopes :func:`_presign` wrote, in order."""
    data = path.read_bytes()
    bodies, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        bodies.append(data[at + 4:at + 4 + size])
        at += 4 + size
    return bodies


def run(count: int, bytecodes: int = 0) -> None:
    """The measured process: build the app, send WARMUP + ``count`` envelopes through it;
    with ``bytecodes``, count the Python bytecodes of the ``count`` envelopes by function and
    print the ``bytecodes`` costliest (:func:`_bytecodes`)."""
    import io

    from gateway.config import Settings
    from gateway.wiring import build_app

    settings = Settings.from_env()
    app = build_app(settings)
    bodies = read_bodies(settings.data_dir / "bodies.bin")
    failures = 0

    def send(body: bytes) -> None:
        nonlocal failures
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/ws", "QUERY_STRING": "",
                   "CONTENT_TYPE": "text/xml; charset=utf-8", "CONTENT_LENGTH": str(len(body)),
                   "wsgi.input": io.BytesIO(body)}
        status = []
        b"".join(app(environ, lambda s, h: status.append(s)))
        failures += not status[0].startswith("200")

    for body in bodies[:WARMUP]:
        send(body)
    measured = bodies[WARMUP:WARMUP + count]
    if bytecodes:
        _bytecodes(send, measured, bytecodes)
    else:
        for body in measured:
            send(body)
    if failures:
        raise SystemExit(f"{failures} of the envelopes were refused: the measurement is void")


def _bytecodes(send, bodies: list[bytes], most: int) -> None:
    """Python bytecodes executed per envelope, in all and by function, and function calls: a
    count as repeatable as callgrind's, without valgrind, that says where the interpreter's
    share goes. A bytecode costs some 20–30 instructions on average here (docs/performance.md),
    so this ranks Python work; C work is callgrind's to show."""
    import collections

    ops: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()

    def trace(frame, event, arg):
        code = frame.f_code
        if event == "call":
            frame.f_trace_opcodes = True
            calls[code] += 1
        elif event == "opcode":
            ops[code] += 1
        return trace

    sys.settrace(trace)
    try:
        for body in bodies:
            send(body)
    finally:
        sys.settrace(None)
    n = len(bodies)
    print(f"{sum(ops.values()) / n:,.0f} bytecodes and {sum(calls.values()) / n:,.0f} Python "
          f"calls per envelope ({n} envelopes); the costliest functions:")
    root = str(ROOT) + os.sep
    for code, count in ops.most_common(most):
        where = code.co_filename.replace(root, "")
        print(f"  {count / n:8,.0f}  {calls[code] / n:6.1f} calls  {where}:{code.co_firstlineno} "
              f"{code.co_name}")


def _instructions(env: dict[str, str], count: int, pristine: Path, out_dir: Path,
                  module: str = "gateway.ops.perfcheck") -> int:
    """Instructions of the main thread of one measured run, from a fresh copy of ``pristine``.

    Why a fresh copy each time: both runs send the same first ``WARMUP`` envelopes, and in a
    database that already holds them the second run would answer them as replays (about 3 M
    instructions instead of 8 M), and count(N) - count(0) would fall short by WARMUP times
    the difference — by half of it at N = 60, by 15 % at N = 200. That is what once made the
    figure "grow with N" (5.75 M at N = 60, 7.65 M at N = 200).

    Why the main thread only (``--separate-threads``): it runs the envelopes; the process's
    background threads (gateway/ops/background.py) follow the clock, and callgrind runs ~50x
    slower than real time. Their count is printed apart.
    """
    data_dir = out_dir / f"data.{count}"
    shutil.copytree(pristine, data_dir)
    out = out_dir / f"callgrind.{count}.out"
    subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes",
                    f"--callgrind-out-file={out}",
                    sys.executable, "-m", module, "--run", str(count)],
                   env=dict(env, GATEWAY_DATA_DIR=str(data_dir)), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    counts = {}
    for part in sorted(out_dir.glob(f"callgrind.{count}.out-*")):
        match = re.search(r"^(?:summary|totals):\s*(\d+)", part.read_text(errors="replace"),
                          re.M)
        if not match:
            raise SystemExit(f"no instruction total in {part}")
        counts[int(part.name.rsplit("-", 1)[1])] = int(match.group(1))
    if 1 not in counts:
        raise SystemExit(f"callgrind wrote no file for the main thread in {out_dir}")
    others = sum(n for thread, n in counts.items() if thread != 1)
    print(f"  N = {count}: {counts[1]:,} instructions in the main thread, {others:,} in "
          f"{len(counts) - 1} background threads (not counted)", flush=True)
    return counts[1]


def _prepared(count: int):
    """A set-up data dir with ``WARMUP + count`` signed envelopes, its environment and the
    stubs' process (the caller stops it and removes the dir)."""
    from gateway.config import Settings
    from gateway.ops.setup import setup

    work = Path(tempfile.mkdtemp(prefix="gateway-perf-"))
    pristine = work / "pristine"
    env = _environment(pristine)
    setup(Settings.from_env(env), echo=lambda *_: None)
    stubs = subprocess.Popen([sys.executable, "-m", "gateway.ops.cli", "stubs", "serve"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        settings = Settings.from_env(env)
        wait_http(f"{settings.ca_url}/health")
        wait_http(f"{settings.registers_url}/health")
        _presign(pristine, WARMUP + count)
    except BaseException:
        stubs.terminate()
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work, pristine, env, stubs


def bytecodes(count: int, most: int) -> None:
    """``--bytecodes``: the Python bytecodes of ``count`` envelopes, in-process, no valgrind."""
    work, pristine, env, stubs = _prepared(count)
    try:
        subprocess.run([sys.executable, "-m", "gateway.ops.perfcheck", "--run", str(count),
                        "--bytecodes", str(most)], env=env, check=True, stderr=subprocess.DEVNULL)
    finally:
        stubs.terminate()
        stubs.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)


def measure(count: int, keep: Path | None = None,
            module: str = "gateway.ops.perfcheck") -> float:
    """Instructions per envelope of ``python -m <module> --run N``: this module's SendRequest
    path, or ``gateway.ops.floor``'s C-level floor (``--floor``)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian package valgrind; make perf-check "
                         "installs it as root)")
    work, pristine, env, stubs = _prepared(count)
    try:
        base = _instructions(env, 0, pristine, work, module)
        loaded = _instructions(env, count, pristine, work, module)
    finally:
        stubs.terminate()
        stubs.wait(timeout=15)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for part in work.glob("callgrind.*"):
                shutil.copy2(part, keep / part.name)
        shutil.rmtree(work, ignore_errors=True)
    per = (loaded - base) / count
    print(f"instructions: {base:,} after the warm-up envelopes, {loaded:,} with {count} more")
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="envelopes measured (N)")
    parser.add_argument("--run", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep the callgrind files there (for callgrind_annotate)")
    parser.add_argument("--update", action="store_true",
                        help="write the measured figure to perf-budget.json as the new budget")
    parser.add_argument("--bytecodes", type=int, default=0, metavar="K",
                        help="instead: count Python bytecodes per envelope (no valgrind) and "
                             "print the K costliest functions")
    parser.add_argument("--floor", action="store_true",
                        help="instead: count the C-level work an envelope cannot do without "
                             "(gateway/ops/floor.py), the floor under any budget")
    opts = parser.parse_args()
    if opts.run is not None:
        run(opts.run, opts.bytecodes)
        return
    if opts.bytecodes:
        bytecodes(opts.count, opts.bytecodes)
        return
    if opts.floor:
        per = measure(opts.count, opts.keep, module="gateway.ops.floor")
        print(f"the C-level floor of a SendRequest (gateway/ops/floor.py): {per / 1e6:.2f} M "
              f"instructions per envelope")
        return
    per = measure(opts.count, opts.keep)
    budget = json.loads(BUDGET_FILE.read_text())["instructions_per_envelope"]
    print(f"SendRequest, SMEV profile, in-process: {per / 1e6:.2f} M instructions per envelope "
          f"(budget {budget / 1e6:.2f} M, fails above {budget * (1 + TOLERANCE) / 1e6:.2f} M)")
    if opts.update:
        BUDGET_FILE.write_text(json.dumps({"instructions_per_envelope": round(per)}, indent=2) + "\n")
        print(f"budget updated in {BUDGET_FILE.name}")
    elif per > budget * (1 + TOLERANCE):
        raise SystemExit(f"regression: {per / 1e6:.2f} M instructions per envelope is more than "
                         f"{TOLERANCE:.0%} over the budget of {budget / 1e6:.2f} M")


if __name__ == "__main__":
    main()
