"""RTP statistics: the vectorised path agrees with the packet-by-packet rules."""

from __future__ import annotations

import numpy as np
import pytest

from voxops.analysis.rtpstats import analyse, analyse_sequential, clock_rate


def _stream(rng, n, *, start_seq, loss=0.0, reorder=0.0, dup=0.0, pt=0):
    seq = (start_seq + np.arange(n)) % 65536
    ts = (rng.integers(0, 2**31) + 160 * np.arange(n)) % 2**32
    t = 20.0 * np.arange(n) + rng.normal(0, 2.0, n).cumsum() * 0.1 + rng.uniform(0, 3, n)
    keep = rng.random(n) >= loss
    idx = np.flatnonzero(keep)
    if dup:
        extra = idx[rng.random(len(idx)) < dup]
        idx = np.sort(np.r_[idx, extra])
    idx = idx.copy()
    for i in range(1, len(idx)):
        if rng.random() < reorder:
            idx[i - 1], idx[i] = idx[i], idx[i - 1]
    mk = np.zeros(len(idx), bool)
    mk[0] = True
    pts = np.full(len(idx), pt)
    pts[rng.random(len(idx)) < 0.02] = 13
    return t[idx], seq[idx], ts[idx], pts, mk


@pytest.mark.parametrize("seed", range(12))
def test_vectorised_matches_sequential(seed):
    rng = np.random.default_rng(seed)
    parts = [
        _stream(rng, 400, start_seq=65400, loss=0.05),
        _stream(rng, 300, start_seq=10, reorder=0.03 if seed % 2 else 0.0, dup=0.02 if seed % 3 else 0.0),
        _stream(rng, 200, start_seq=0, pt=8),
    ]
    stream = np.concatenate([np.full(len(p[0]), k) for k, p in enumerate(parts)])
    t = np.concatenate([p[0] for p in parts])
    order = np.argsort(t, kind="stable")
    cols = [np.concatenate([p[i] for p in parts])[order] for i in range(5)]
    st = stream[order]
    ck = np.array([clock_rate(int(x)) for x in cols[3]])
    frame = np.arange(1, len(st) + 1)
    fast = analyse(st, *cols, ck, frame)
    for k in range(len(parts)):
        m = st == k
        ref = analyse_sequential(cols[0][m], cols[1][m], cols[2][m], cols[3][m], cols[4][m], ck[m], frame[m])
        got = fast[k]
        assert (got.packets, got.lost, got.seq_errors, got.cycles) == (ref.packets, ref.lost, ref.seq_errors, ref.cycles)
        for name in ("max_delta_ms", "mean_delta_ms", "min_delta_ms", "max_jitter_ms", "mean_jitter_ms", "min_jitter_ms"):
            assert getattr(got, name) == pytest.approx(getattr(ref, name), abs=1e-6), name


def test_loss_and_wrap_counts():
    n = 1000
    seq = (65000 + np.arange(n)) % 65536
    keep = np.ones(n, bool)
    keep[::20] = False  # 5 % loss
    keep[0] = keep[-1] = True
    t = 20.0 * np.arange(n)
    ts = 160 * np.arange(n)
    res = analyse(np.zeros(keep.sum(), int), t[keep], seq[keep], ts[keep], np.zeros(keep.sum(), int),
                  np.zeros(keep.sum(), bool), np.full(keep.sum(), 8000), np.arange(keep.sum()))[0]
    assert res.expected == n
    assert res.lost == n - keep.sum() == 49
    assert res.seq_errors == 49
    assert res.max_delta_ms == pytest.approx(40.0)
    assert res.cycles == 1


def test_clock_rates_follow_wireshark():
    assert clock_rate(0) == 8000
    assert clock_rate(18) == 8000
    assert clock_rate(101, "telephone-event", 8000) == 0
    assert clock_rate(97, "L16", 11025) == 11025
    assert clock_rate(97, "opus", 0) == 48000
    assert clock_rate(97) == 0
