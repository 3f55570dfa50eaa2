"""KPI math: ASR/NER/ISA/ACD, PDD percentiles, per-transaction codes, windows, 503 spikes."""

from __future__ import annotations

import pytest

from voxops.analysis.kpi import (
    CallRecord,
    TransactionRecord,
    ratios,
    response_codes,
    spikes_503,
    windows,
)
from voxops.analysis.policy import Policy


def _call(i, status, *, start=0.0, pdd=500.0, dur=None, trunk="c/t1"):
    return CallRecord(f"c{i}", start, trunk, status, pdd, dur)


def test_ratios_follow_e411_and_rfc6076():
    calls = [_call(i, 200, dur=10.0 * (i + 1)) for i in range(6)]
    calls += [_call(10, 486), _call(11, 487), _call(12, 503), _call(13, 302), _call(14, 407)]
    calls += [_call(15, None, pdd=None)]
    r = ratios(calls)
    assert r.calls == 12
    assert r.seizures == 9  # 302, the 407 and the unanswered INVITE are not seizures
    assert r.answered == 6
    assert r.asr == pytest.approx(66.67)
    assert r.ner == pytest.approx(77.78)  # 6 answered + 486
    assert ratios(calls, count_487=True).ner == pytest.approx(88.89)
    assert r.isa == pytest.approx(8.33)  # one 503 over all 12 INVITEs
    assert r.acd_s == pytest.approx(35.0)


def test_codes_are_counted_per_transaction_with_retransmissions_apart():
    tx = [
        TransactionRecord("c/t1", "INVITE", 503, 1.0, 2),
        TransactionRecord("c/t1", "INVITE", 200, 2.0, 0),
        TransactionRecord("c/t2", "INVITE", 200, 3.0, 0),
        TransactionRecord("c/t2", "BYE", 200, 4.0, 1),
    ]
    assert response_codes(tx) == {"c/t1": {"INVITE 200": 1, "INVITE 503": 1}, "c/t2": {"BYE 200": 1, "INVITE 200": 1}}


def test_window_below_asr_slo_is_flagged():
    policy = Policy(window_s=300)
    good = [_call(i, 200, start=10.0 + i) for i in range(10)]
    bad = [_call(100 + i, 200 if i < 5 else 503, start=400.0 + i) for i in range(10)]
    ws = windows(good + bad, policy)
    assert [w.start for w in ws] == [0, 300]
    assert ws[0].breaches == []
    assert ws[1].ratios.asr == 50.0
    assert [(b.trunk, b.kpi, b.value) for b in ws[1].breaches] == [(None, "asr", 50.0), ("c/t1", "asr", 50.0)]


def test_a_bad_trunk_is_flagged_inside_a_healthy_window():
    good = [_call(i, 200, start=10.0, trunk="a") for i in range(30)]
    bad = [_call(100 + i, 503, start=20.0, trunk="b") for i in range(2)]
    (w,) = windows(good + bad, Policy())
    assert w.ratios.asr == 93.75
    assert [(b.trunk, b.value) for b in w.breaches] == [("b", 0.0)]
    assert w.trunks["a"].asr == 100.0


def test_503_spike_on_one_trunk():
    policy = Policy(spike_window_s=60, spike_min_count=5, spike_min_percent=5.0)
    tx = [TransactionRecord("c/t1", "INVITE", 503, 10.0 + i, 0) for i in range(6)]
    tx += [TransactionRecord("c/t2", "INVITE", 200, 10.0 + i, 0) for i in range(20)]
    tx += [TransactionRecord("c/t2", "INVITE", 503, 11.0, 0)]
    spikes = spikes_503(tx, policy)
    assert [(s.trunk, s.count_503) for s in spikes] == [("c/t1", 6)]
