"""Cost of the GOST binding per call, median of many runs, with the machine's load beside it.

    PYTHONPATH=. python -m signing.gost_bench [--runs 41] [--calls 200] [--instructions]

Prints µs per call (the median over ``runs`` batches of ``calls`` calls, and the best batch) of
Streebog over 4 KB and of sign / verify over a ~0.9 KB SignedInfo (what one envelope costs the
binding), for 256-bit TC26-A / CryptoPro-A / CryptoPro-B and 512-bit TC26-A / TC26-B keys;
"verify" is the path in use (the engine, or precomputed tables on the curves of
``signing.gost_tables.TABLE_CURVES``), "engine verify" the engine's own, plus the load average and
the CPU steal seen while it ran (from /proc). Used for the before/after table in docs/gost.md;
asserts nothing: the machine is shared and the figures are noisy. ``--instructions`` counts
user-space instructions per call under callgrind instead ((count at N - count at 0) / N), which
load does not change: that is how a few microseconds of binding overhead show at all.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import statistics
import time

from signing import gost, gost_openssl


def _proc_stat() -> tuple[int, int]:
    """(total jiffies, steal jiffies) of all CPUs."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    return sum(fields), (fields[7] if len(fields) > 7 else 0)


def _median_us(fn, runs: int, calls: int) -> tuple[float, float]:
    fn()
    batches = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        batches.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(batches), min(batches)


_CASES = (("256 TC26-A", gost_openssl.KEY_2012_256, "TCA", gost_openssl.DIGEST_256),
          ("256 CryptoPro-A", gost_openssl.KEY_2012_256, "A", gost_openssl.DIGEST_256),
          ("256 CryptoPro-B", gost_openssl.KEY_2012_256, "B", gost_openssl.DIGEST_256),
          ("512 TC26-A", gost_openssl.KEY_2012_512, "A", gost_openssl.DIGEST_512),
          ("512 TC26-B", gost_openssl.KEY_2012_512, "B", gost_openssl.DIGEST_512))
_OPERATIONS = ("streebog 4 KB", "sign", "verify", "engine verify")


def _operations(key, md: str, data: bytes, signed_info: bytes) -> dict:
    spki = key.public_key_der()
    signature = gost.sign(key, signed_info, md)
    public = gost_openssl.public_key(spki)
    return {"streebog 4 KB": lambda: gost.digest(md, data),
            "sign": lambda: gost.sign(key, signed_info, md),
            "verify": lambda: gost.verify(spki, signature, signed_info, md),
            "engine verify": lambda: public.engine_verify_digest(
                signature, gost.digest(md, signed_info))}


def _loop(case: int, operation: str, calls: int) -> None:
    """What callgrind runs: one operation ``calls`` times after the same set-up."""
    _label, key_type, paramset, md = _CASES[case]
    data, signed_info = bytes(4096), bytes(range(256)) * 3 + bytes(132)
    key = gost.PrivateKey.generate(key_type, paramset)
    operations = _operations(key, md, data, signed_info)
    for warm in operations.values():
        warm()
    fn = operations[operation]
    for _ in range(calls):
        fn()


def _callgrind(case: int, operation: str, calls: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, "-m", "signing.gost_bench", "--loop", str(case),
                        operation, str(calls)], check=True, capture_output=True)
        with open(out) as handle:
            return int(re.search(r"^(?:summary|totals): (\d+)", handle.read(), re.M).group(1))


def _instructions(calls: int) -> None:
    print(f"user-space instructions per call (callgrind, (count at {calls} - count at 0) / "
          f"{calls}; the same on a loaded machine)")
    for case, (label, *_rest) in enumerate(_CASES):
        figures = []
        for operation in _OPERATIONS:
            zero, many = _callgrind(case, operation, 0), _callgrind(case, operation, calls)
            figures.append(f"{operation} {(many - zero) / calls / 1000:8.1f} k")
        print(f"  {label:16s} " + "  ".join(figures), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=41)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per call under callgrind instead of timing")
    parser.add_argument("--loop", nargs=3, metavar=("CASE", "OPERATION", "CALLS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.loop:
        _loop(int(args.loop[0]), args.loop[1], int(args.loop[2]))
        return
    if args.instructions:
        print(gost.backend())
        _instructions(min(args.calls, 50))
        return
    print(gost.backend())
    data, signed_info = os.urandom(4096), os.urandom(900)
    total0, steal0 = _proc_stat()
    rows = []
    for label, key_type, paramset, md in _CASES:
        key = gost.PrivateKey.generate(key_type, paramset)
        operations = _operations(key, md, data, signed_info)
        rows.append((label, {name: _median_us(fn, args.runs, args.calls)
                             for name, fn in operations.items()}))
    total1, steal1 = _proc_stat()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"CPU steal {100 * (steal1 - steal0) / max(total1 - total0, 1):.1f} % while measuring, "
          f"{os.cpu_count()} CPUs; µs per call, median (best) of {args.runs} x {args.calls}")
    for label, figures in rows:
        print(f"  {label:16s} " + "  ".join(f"{name} {median:7.1f} ({best:6.1f})"
                                            for name, (median, best) in figures.items()))


if __name__ == "__main__":
    main()
