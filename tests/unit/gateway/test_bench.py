"""make bench's own arithmetic: sizes it is told, the payloads it builds, the machine shares it
prints beside its figures (the runs themselves are measured, not tested)."""
from __future__ import annotations

from lxml import etree

from gateway.ops import bench


def test_sizes_are_read_as_bytes():
    assert [bench._bytes(s) for s in ("1k", "16K", "1m", "1.5k", "512")] == \
        [1024, 16384, 1 << 20, 1536, 512]


def test_payloads_have_about_the_size_asked_for():
    for size in (1 << 10, 16 << 10, 256 << 10):
        payload = bench._payload(size)
        got = len(etree.tostring(payload, encoding="utf-8"))
        assert size * 0.8 <= got <= size * 1.05, (size, got)
        assert etree.QName(payload).namespace == bench.BENCH_NS


def test_machine_shares_come_from_proc_stat_deltas():
    # user nice system idle iowait irq softirq steal
    before = [100, 0, 50, 800, 50, 0, 0, 0]
    after = [160, 0, 70, 900, 60, 0, 0, 10]     # +60 +20 +100 idle +10 iowait +10 steal = 200
    machine = bench.Machine.between(before, after)
    assert machine.steal == 5.0
    assert machine.busy == 45.0                  # (200 - 100 - 10) / 200
    assert "steal 5.0 %" in str(machine)


def test_percentiles_of_the_sorted_latencies():
    ordered = [i / 1000 for i in range(1, 1001)]   # 1 ms .. 1000 ms
    assert bench._percentile(ordered, 0.5) == 500.0
    assert bench._percentile(ordered, 0.99) == 990.0
    assert bench._percentile(ordered, 0.999) == 999.0
