"""Each generated fault is found with the right code; the clean call has no finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxops.analysis.diagnosis import diagnose_call
from voxops.analysis.dialogs import dialogs_for
from voxops.analysis.loader import analyse_capture, policy_for

DATA = Path(__file__).resolve().parent.parent / "data" / "diagnosis"
SPEC = DATA / "topology.yaml"


def diagnose_all(name: str):
    analysis = analyse_capture(DATA / f"{name}.pcap")
    policy = policy_for(SPEC)
    return [
        diagnose_call(dialogs_for(analysis.dialogs, [d.call_id]), analysis.streams, d.call_id, policy)
        for d in analysis.dialogs
    ]


def codes(result) -> set[str]:
    return {f.code for f in result.findings}


def test_clean_call_has_no_finding():
    (result,) = diagnose_all("clean")
    assert result.findings == []
    assert result.verdict == "no problem found"
    assert result.final_status == 200
    assert result.trunk == "carrier-a/a-main"
    assert result.codecs.negotiated == "PCMU/8000"
    assert result.codecs.seen_forward == result.codecs.seen_reverse == [0]
    assert len(result.streams) == 2
    (hop, answers), = result.answered_by.items()
    assert hop.startswith("127.0.4.2:") and hop.endswith("(carrier-a/a-main)")
    assert answers == ["100 Trying", "180 Ringing", "200 OK"]


@pytest.mark.parametrize(
    ("name", "code", "runbook"),
    [
        ("one_way", "one-way-audio", "one-way-audio"),
        ("pt18", "transcoding", "silent-transcoding"),
        ("loss5", "packet-loss", "packet-loss-low-mos"),
        ("pdd3s", "high-pdd", "high-pdd"),
        ("private_media", "private-media-address", "one-way-audio"),
    ],
)
def test_fault_is_named(name, code, runbook):
    (result,) = diagnose_all(name)
    found = [f for f in result.findings if f.code == code]
    assert found, f"{code} not in {codes(result)}"
    assert found[0].runbook == runbook
    assert found[0].where and found[0].where.startswith("frame ")


def test_transcoding_evidence_and_policy():
    (result,) = diagnose_all("pt18")
    assert result.codecs.seen_reverse == [18]
    assert {"transcoding", "codec-denied"} <= codes(result)
    tx = next(f for f in result.findings if f.code == "transcoding")
    assert tx.evidence["seen"] == [18] and 0 in tx.evidence["negotiated"]


def test_loss_figures_and_mos():
    (result,) = diagnose_all("loss5")
    lossy = next(s for s in result.streams if s.lost)
    assert (lossy.lost, lossy.expected) == (5, 100)
    assert lossy.r_factor == pytest.approx(77.4, abs=0.1)
    assert lossy.mos == pytest.approx(3.92, abs=0.01)


def test_pdd_is_measured_to_ringing():
    (result,) = diagnose_all("pdd3s")
    assert 3000 <= result.pdd_ms < 3200


def test_503_from_one_trunk():
    results = diagnose_all("trunk503")
    failed = [r for r in results if r.final_status == 503]
    assert len(failed) == 6
    assert all(r.trunk == "carrier-b/b-main" for r in failed)
    assert all("service-unavailable" in codes(r) for r in failed)
    answered = [r for r in results if r.final_status == 200]
    assert all(r.trunk == "carrier-a/a-main" and "service-unavailable" not in codes(r) for r in answered)
