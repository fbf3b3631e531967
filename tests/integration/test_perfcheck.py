"""``python -m gateway.ops.perfcheck --bytecodes``: the bytecode count of real envelopes through
the app in-process (the instruction count itself needs valgrind and minutes: ``make perf-check``)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    __import__("os").environ.get("GATEWAY_TEST_DB") == "postgres",
    reason="in-process on its own SQLite data dir: one run covers it")


def test_bytecodes_of_real_envelopes_are_counted_by_function():
    out = subprocess.run([sys.executable, "-m", "gateway.ops.perfcheck", "--count", "4",
                          "--bytecodes", "5"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    head, *rows = out.stdout.strip().splitlines()
    found = re.fullmatch(r"([\d,]+) bytecodes and ([\d,]+) Python calls per envelope "
                         r"\(4 envelopes\); the costliest functions:", head)
    assert found, head
    total = int(found.group(1).replace(",", ""))
    assert 1_000 < total < 1_000_000  # an envelope runs the whole pipeline, not nothing
    assert len(rows) == 5
    counts = [int(row.split()[0].replace(",", "")) for row in rows]
    assert counts == sorted(counts, reverse=True) and sum(counts) <= total
