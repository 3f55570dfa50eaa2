"""RTP statistics: Wireshark's rules on synthetic streams, and tshark on rewritten captures
with loss, reordering, duplicates, sequence wrap, comfort noise and a timestamp jump."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from tests.analysis.test_streams import assert_same_figures, tshark_streams
from voxops.analysis.rtpstats import analyse, clock_rate
from voxops.analysis.streams import find_streams
from voxops.capture import scan


def _heads(seq, ts, pt, marker, ssrc=0x1234):
    h = np.zeros((len(seq), 12), np.uint8)
    for i, (s, t, p, m) in enumerate(zip(seq, ts, pt, marker, strict=True)):
        h[i] = np.frombuffer(struct.pack("!BBHII", 0x80, (0x80 if m else 0) | p, s % 65536, t % 2**32, ssrc), np.uint8)
    return h


def _one(seq, ts, arrival_ms, pt=None, marker=None):
    n = len(seq)
    pt = [0] * n if pt is None else pt
    marker = [False] * n if marker is None else marker
    head = _heads(seq, ts, pt, marker)
    clock = np.array([clock_rate(p) for p in pt], np.int64)
    (st,) = analyse(np.zeros(n, np.int64), np.arange(n), np.asarray(arrival_ms) / 1000.0,
                    np.arange(1, n + 1), head, clock, 1)
    return st


def test_loss_across_a_sequence_wrap():
    n = 1000
    keep = np.ones(n, bool)
    keep[::20] = False  # 5 % loss
    keep[0] = keep[-1] = True
    seq = (65000 + np.arange(n))[keep]
    st = _one(seq, (160 * np.arange(n))[keep], (20.0 * np.arange(n))[keep])
    assert (st.expected, st.lost, st.seq_errors, st.cycles) == (1000, 49, 49, 1)
    assert st.max_delta_ms == pytest.approx(40.0)
    assert st.max_jitter_ms < 1e-6  # timestamps jump with the sequence: no jitter


def test_duplicates_make_loss_negative_as_in_wireshark():
    seq = [1, 2, 3, 3, 4, 5]
    ts = [160 * s for s in seq]
    st = _one(seq, ts, [0, 20, 40, 41, 60, 80])
    assert (st.packets, st.expected, st.lost, st.duplicates, st.seq_errors) == (6, 5, -1, 1, 1)


def test_jitter_is_rfc3550_and_undefined_without_clock():
    st = _one([1, 2, 3], [0, 160, 320], [0, 30, 40])
    # diff 10 ms then 10 ms: J = 10/16, then J = (15 * J + 10) / 16
    assert st.max_jitter_ms == pytest.approx((15 * 10 / 16 + 10) / 16)
    assert _one([1, 2, 3], [0, 160, 320], [0, 30, 40], pt=[101] * 3).max_jitter_ms == 0.0


def test_clock_rates_follow_wireshark():
    assert clock_rate(0) == 8000
    assert clock_rate(18) == 8000
    assert clock_rate(101, "telephone-event", 8000) == 0
    assert clock_rate(97, "L16", 11025) == 11025
    assert clock_rate(97, "opus", 0) == 48000
    assert clock_rate(97) == 0


def _udp_frame(src_port, dst_port, payload):
    ulen = 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return b"\0" * 12 + b"\x08\x00" + ip + struct.pack("!HHHH", src_port, dst_port, ulen, 0) + payload


def write_rewritten(path: Path, seed: int) -> None:
    """Three streams to port 7078 with the faults a lossy, reordering network makes."""
    rng = np.random.default_rng(seed)
    records = []
    for sport, ssrc, start_seq, ts0 in ((4000, 1, 65400, 1000), (4002, 2, 10, 2**32 - 8000), (4004, 3, 0, 5)):
        n = 600
        order = list(range(n))
        for i in range(1, n - 1):  # reorder neighbours
            if rng.random() < 0.03:
                order[i], order[i + 1] = order[i + 1], order[i]
        t = 1_700_000_000.0
        for pos, k in enumerate(order):
            if rng.random() < 0.04:  # loss
                continue
            pt = 13 if rng.random() < 0.02 else 0
            marker = k == 0 or rng.random() < 0.01
            rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, (start_seq + k) % 65536,
                              (ts0 + 160 * k) % 2**32, ssrc) + b"\xff" * 160
            when = t + 0.02 * pos + abs(rng.normal(0, 0.004))
            records.append((when, _udp_frame(sport, 7078, rtp)))
            if rng.random() < 0.02:  # duplicate
                records.append((when + 0.001, _udp_frame(sport, 7078, rtp)))
    records.sort(key=lambda r: r[0])
    with path.open("wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for when, data in records:
            sec = int(when)
            fh.write(struct.pack("<IIII", sec, int(round((when - sec) * 1e6)), len(data), len(data)) + data)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rewritten_capture_matches_tshark(tmp_path, seed):
    pcap = tmp_path / "rewritten.pcap"
    write_rewritten(pcap, seed)
    reference = tshark_streams(pcap, ["-d", "udp.port==7078,rtp"])
    result = scan(pcap)
    ours = {(s.src, s.dst, s.ssrc): s for s in find_streams(result, [], heuristic=True)[0]}
    assert len(reference) == 3
    for key, ref in reference.items():
        s = ours[key]
        assert (s.packets, s.lost) == (ref["packets"], ref["lost"]), key
        assert_same_figures(s, ref, key)


def test_jit_fallback_agrees_with_the_compiled_kernels(tmp_path):
    """Machines without a C compiler run the same kernels through numba's JIT."""
    from voxops.analysis import kernels

    pcap = tmp_path / "rewritten.pcap"
    write_rewritten(pcap, 7)
    result = scan(pcap)
    compiled = find_streams(result, [], heuristic=True)[0]
    saved = kernels._loaded
    kernels._loaded = kernels.jit_kernels()
    try:
        jitted = find_streams(result, [], heuristic=True)[0]
    finally:
        kernels._loaded = saved
    assert [s.model_dump() for s in jitted] == [s.model_dump() for s in compiled]
