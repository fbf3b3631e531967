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


def test_the_floor_does_the_checks_it_counts(tmp_path):
    """``gateway/ops/floor.py`` (``perfcheck --floor``) runs every check on real envelopes: it
    passes on the envelopes perf-check sends and stops on one whose signed data was changed,
    so its count cannot come from work that was skipped."""
    import os
    import shutil

    from lxml import etree

    from envelopes import ns
    from gateway.ops import perfcheck

    work, pristine, env, stubs = perfcheck._prepared(2)
    try:
        stubs.terminate()
        stubs.wait(timeout=15)

        def floor(count: int) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "gateway.ops.floor", "--run", str(count)],
                                  env=dict(env, GATEWAY_DATA_DIR=str(pristine)),
                                  capture_output=True, text=True, timeout=300)

        done = floor(2)
        assert done.returncode == 0, done.stderr[-2000:]
        bodies = perfcheck.read_bodies(pristine / "bodies.bin")
        root = etree.fromstring(bodies[0])
        message_id = next(root.iter(ns.q(ns.SMEV_TYPES, "MessageID")))
        message_id.text = message_id.text[:-1] + ("0" if message_id.text[-1] != "0" else "1")
        bodies[0] = etree.tostring(root)
        with open(pristine / "bodies.bin", "wb") as out:
            for body in bodies:
                out.write(len(body).to_bytes(4, "big") + body)
        changed = floor(0)
        assert changed.returncode != 0 and "envelope 0: the reference digest does not match" \
            in changed.stderr, changed.stderr[-2000:]
    finally:
        shutil.rmtree(work, ignore_errors=True)
        assert not os.path.exists(work)
