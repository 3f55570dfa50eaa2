"""Compact dialogs (folded while reading) give the same calls, KPIs and streams as full ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxops.analysis.call_list import CallFilter, summarize
from voxops.analysis.dialog_summaries import KEEP_FIRST, DialogSummaries
from voxops.analysis.dialogs import build_dialogs
from voxops.analysis.loader import analyse_capture
from voxops.analysis.policy import Policy
from voxops.analysis.trunkstats import stats_of_calls, stats_report
from voxops.capture import scan
from voxops.capture.writer import write_sip_calls as write_calls

ROOT = Path(__file__).resolve().parents[1] / "data"
CAPTURES = sorted(p for p in (ROOT / "capture").glob("*.pcap*")) + sorted((ROOT / "diagnosis").glob("*.pcap"))


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_compact_call_rows_equal_full_ones(path):
    full = build_dialogs(scan(path, media=False).sip)
    summaries = DialogSummaries(keep_sdp=False)
    assert len(scan(path, media=False, sip_filter=summaries).sip) <= KEEP_FIRST
    compact = summaries.dialogs()
    flt = CallFilter(all_methods=True)
    assert summarize(compact, flt) == summarize(full, flt)
    assert [d.legs for d in compact] == [d.legs for d in full]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_compact_stats_and_streams_equal_full_ones(path):
    full = analyse_capture(path)
    compact = analyse_capture(path, compact=True)
    assert compact.calls is not None
    assert [p.raw for p in compact.scan.sip] == [p.raw for p in full.scan.sip[:KEEP_FIRST]]
    assert compact.streams == full.streams
    policy = Policy()
    assert stats_of_calls("x", compact.calls.calls(), compact.streams, policy) == \
        stats_report("x", full.dialogs, full.streams, policy)


def test_generated_b2bua_calls_equal(tmp_path):
    path = tmp_path / "calls.pcap"
    write_calls(path, 300, b2bua_every=4)
    full, compact = analyse_capture(path), analyse_capture(path, compact=True)
    assert compact.calls is not None
    flt = CallFilter(all_methods=True)
    assert summarize(compact.calls.calls(), flt) == summarize(full.dialogs, flt)
    assert len(compact.calls) == 375
    assert stats_of_calls("x", compact.calls.calls(), compact.streams, Policy()) == \
        stats_report("x", full.dialogs, full.streams, Policy())
