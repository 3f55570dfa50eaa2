"""A capture read on two cores (the second half in a child process) gives exactly what one
process reading it whole gives: every SIP message, the UDP table, RTCP, warnings, and the
RTP streams' sequence, jitter and loss figures bit for bit."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from voxops.analysis.loader import analyse_capture
from voxops.capture import scanner, split
from voxops.capture.scanner import scan
from voxops.capture.writer import PcapWriter, udp_frame

DATA = Path(__file__).resolve().parents[1] / "data"
CAPTURES = sorted(p for p in DATA.rglob("*") if p.name.endswith((".pcap", ".pcapng", ".pcap.gz")))
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def two_cores(monkeypatch):
    """Every capture is split (however small), and the parts the child read are counted."""
    monkeypatch.setattr(split, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(split, "SPLIT_CHAIN", 3)
    monkeypatch.setattr(split, "workers", lambda: 2)
    used = []
    absorb = scanner.absorb

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        used.append(args[1].packets)
        return absorb(*args, **kwargs)

    monkeypatch.setattr(scanner, "absorb", counted)
    return used


def one_core(monkeypatch, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(split, "workers", lambda: 1)
        return fn(*args, **kwargs)


def udp_rows(result):  # type: ignore[no-untyped-def]
    """The UDP table with addresses as text (their numbering may differ, never their value)."""
    t = result.udp
    names = np.array(t.addresses + [""], dtype=object)
    return (t.frame.tolist(), t.ts.tolist(), names[t.src].tolist(), names[t.dst].tolist(), t.sport.tolist(),
            t.dport.tolist(), t.length.tolist(), t.head.tobytes())


def assert_same_scan(a, b) -> None:  # type: ignore[no-untyped-def]
    assert [(p.frame, p.ts, p.raw, p.src, p.dst) for p in a.sip] == [(p.frame, p.ts, p.raw, p.src, p.dst) for p in b.sip]
    assert udp_rows(a) == udp_rows(b)
    assert [(p.frame, p.payload) for p in a.rtcp] == [(p.frame, p.payload) for p in b.rtcp]
    assert (a.packets, a.warnings, a.link_types) == (b.packets, b.warnings, b.link_types)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_every_test_capture_reads_the_same_on_two_cores(path, two_cores, monkeypatch):
    single = one_core(monkeypatch, analyse_capture, path)
    double = analyse_capture(path)
    assert two_cores  # the child read the second half
    assert_same_scan(double.scan, single.scan)
    assert double.streams == single.streams
    assert [d.call_id for d in double.dialogs] == [d.call_id for d in single.dialogs]


def test_a_generated_rtp_capture_splits_and_its_streams_are_bit_for_bit_equal(tmp_path, two_cores, monkeypatch):
    import sys

    sys.path.insert(0, str(BENCHMARKS))
    try:
        from capture import generate  # benchmarks/capture.py
    finally:
        sys.path.remove(str(BENCHMARKS))
    path = tmp_path / "rtp.pcap"
    packets, _ = generate(path, 30_000)
    single = one_core(monkeypatch, analyse_capture, path, keep_jitter=True)
    double = analyse_capture(path, keep_jitter=True)
    assert two_cores and 0 < two_cores[0] < packets  # the child read part of it
    assert_same_scan(double.scan, single.scan)
    assert double.streams == single.streams and len(double.streams) > 10
    for k, jitter in single.jitter.items():
        assert np.array_equal(double.jitter[k], jitter)


def test_a_split_point_inside_a_record_is_never_used(tmp_path, two_cores, monkeypatch):
    """A payload that looks like a chain of record headers right at the middle of the file:
    the split lands inside a record, the parent's own walk does not land on it, and the
    file is read whole."""
    path = tmp_path / "forged.pcap"
    a, b = ("10.0.0.1", 4000), ("10.0.0.2", 4002)
    fake = b"".join(struct.pack("<IIII", 1_700_000_000, 0, 20, 20) + bytes(20) for _ in range(40))
    with PcapWriter(path) as w:
        for i in range(200):
            w.write(1_700_000_000 + i * 0.02, udp_frame(*a, *b, bytes([0x80, 0, 0, i]) + bytes(156)))
        w.write(1_700_000_004.0, udp_frame(*a, *b, fake))
    size = path.stat().st_size
    with path.open("rb") as fh:
        data = fh.read()
    at = data.index(fake)
    monkeypatch.setattr(split, "SPLIT_CHAIN", 30)
    monkeypatch.setattr(split, "SEARCH_BYTES", size)
    monkeypatch.setattr(split, "plan_split", lambda p: (split.Split(at, 24), data[:24]))
    single = one_core(monkeypatch, scan, path)
    double = scan(path)
    assert not two_cores  # the child's part was not used
    assert_same_scan(double, single)


def test_a_signalling_heavy_part_is_read_by_the_parent(tmp_path, two_cores, monkeypatch):
    """Past SLOW_BYTES of frames for the slow path the child stops (it would hold them all
    to hand over): the parent reads the file whole, with the same result."""
    monkeypatch.setattr(split, "SLOW_BYTES", 10_000)
    path = tmp_path / "sip.pcap"
    from voxops.capture.writer import write_sip_calls

    write_sip_calls(path, 200)
    single = one_core(monkeypatch, scan, path)
    part = scanner.read_part(path, *split.plan_split(path))  # type: ignore[misc]
    assert part.declined and not part.slow
    double = scan(path)
    assert not two_cores
    assert_same_scan(double, single)
