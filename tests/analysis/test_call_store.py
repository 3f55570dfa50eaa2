"""Ended dialogs are folded into the call store while the capture is read; `calls` and
`stats` print what they printed when every dialog was held, from flat memory."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from tests.analysis.test_dialog_summaries import CAPTURES
from tests.support.capture import request, response
from tests.support.cli import run_cli
from voxops.analysis import call_store, kpi, kpi_columns
from voxops.analysis.call_list import CallFilter, summarize, summary_rows
from voxops.analysis.call_store import CallStore
from voxops.analysis.dialog_summaries import LINGER_S, DialogSummaries
from voxops.analysis.dialogs import DEFAULT_CORRELATION, build_dialogs
from voxops.analysis.kpi_columns import KpiColumns
from voxops.analysis.loader import analyse_capture
from voxops.analysis.policy import Policy
from voxops.analysis.trunkstats import stats_of_calls, stats_report
from voxops.capture import scan
from voxops.capture.writer import PcapWriter, udp_frame
from voxops.capture.writer import write_sip_calls as write_calls
from voxops.views.output import emit_json, emit_json_rows, emit_json_with_rows

A, B = ("10.0.0.1", 5060), ("10.0.0.2", 5060)


class MaxLive(DialogSummaries):
    """DialogSummaries noting the most dialogs it held live at once."""

    most = 0

    def add(self, cid, pkt):  # type: ignore[no-untyped-def]
        super().add(cid, pkt)
        self.most = max(self.most, len(self.partial))


def stored_calls(path, **kw):
    summaries = MaxLive(keep_sdp=False, store=CallStore(DEFAULT_CORRELATION), **kw)
    scan(path, media=False, sip_filter=summaries)
    return summaries, list(summaries.finish().dialogs())


def stored_rows(path, flt):
    with CallStore(DEFAULT_CORRELATION) as store:
        summaries = DialogSummaries(keep_sdp=False, store=store)
        scan(path, media=False, sip_filter=summaries)
        summaries.finish()
        return list(summary_rows(store.dialogs(), store.leg_dialogs, flt))


@pytest.mark.parametrize("held", [0, call_store.HELD_DIALOGS], ids=["on-disk", "in-memory"])
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_stored_call_rows_equal_full_ones(path, held, monkeypatch):
    monkeypatch.setattr(call_store, "HELD_DIALOGS", held)
    full = build_dialogs(scan(path, media=False).sip)
    flt = CallFilter(all_methods=True)
    assert stored_rows(path, flt) == summarize(full, flt)


@pytest.mark.timeout(900)
def test_ended_dialogs_are_dropped_while_reading(tmp_path):
    path = tmp_path / "calls.pcap"
    write_calls(path, 10_000, b2bua_every=4)  # a call every 10 ms: 100 s of capture
    summaries, stored = stored_calls(path)
    assert len(stored) == 12_500
    # live: the calls of the last LINGER_S (+ a sweep), not the capture's 12,500
    assert summaries.most < 1.25 * (LINGER_S + 10) * 100 + 100
    full = build_dialogs(scan(path, media=False).sip)
    assert stored_rows(path, CallFilter(all_methods=True)) == summarize(full, CallFilter(all_methods=True))


def test_a_dialog_seen_again_after_it_was_folded_is_one_row(tmp_path):
    path = tmp_path / "late.pcap"
    t0 = 1_700_000_000.0
    with PcapWriter(path) as w:
        w.write(t0, udp_frame(*A, *B, request("INVITE", "late@x")))
        w.write(t0 + 0.1, udp_frame(*B, *A, response(486, "Busy Here", "late@x")))
        w.write(t0 + 0.2, udp_frame(*A, *B, request("ACK", "late@x", to_tag="b1")))
        for i in range(1, 40):  # other calls move the capture's clock on
            w.write(t0 + i * 5, udp_frame(*A, *B, request("OPTIONS", f"o{i}@x")))
        w.write(t0 + 300, udp_frame(*B, *A, response(486, "Busy Here", "late@x")))  # very late
    _, stored = stored_calls(path)
    late = [c for c in stored if c.call_id == "late@x"]
    assert len(late) == 1
    assert (late[0].message_count, late[0].final_status, late[0].end) == (4, 486, t0 + 300)
    assert [c.call_id for c in stored] == [d.call_id for d in build_dialogs(scan(path, media=False).sip)]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_stored_stats_and_streams_equal_full_ones(path):
    full = analyse_capture(path)
    stored = analyse_capture(path, stored=True)
    assert stored.calls is not None and stored.dialogs == []
    assert stored.streams == full.streams
    with stored.calls as store:
        assert stats_of_calls("x", store.groups(), stored.streams, Policy()) == \
            stats_report("x", full.dialogs, full.streams, Policy())


def test_streamed_json_is_the_json_of_the_whole_list(tmp_path, capsys):
    path = tmp_path / "calls.pcap"
    write_calls(path, 40, b2bua_every=3)
    analysis = analyse_capture(path)
    rows = summarize(analysis.dialogs, CallFilter(all_methods=True))
    emit_json([r.model_dump() for r in rows])
    whole = capsys.readouterr().out
    emit_json_rows(r.model_dump() for r in rows)
    assert capsys.readouterr().out == whole
    emit_json_rows([])
    assert json.loads(capsys.readouterr().out) == []
    report = stats_report("x", analysis.dialogs, analysis.streams, Policy())
    emit_json(report)
    whole = capsys.readouterr().out
    emit_json_with_rows(report.model_copy(update={"call_list": []}), "call_list", report.call_list)
    assert capsys.readouterr().out == whole
    emit_json_with_rows(report.model_copy(update={"call_list": []}), "call_list", [])
    assert json.loads(capsys.readouterr().out)["call_list"] == []


def test_kpi_columns_give_the_figures_of_kpi_lists():
    rng = random.Random(7)
    statuses = [None, 200, 200, 200, 486, 503, 487, 407, 302, 480, 404, 500]
    calls = []
    for i in range(3000):
        status = rng.choice(statuses)
        calls.append(kpi.CallRecord(f"c{i}", 1_700_000_000 + i * rng.random() * 3, rng.choice(["a", "b", None]),
                                    status,
                                    rng.choice([None, rng.random() * 9000]),
                                    rng.random() * 300 if status == 200 and rng.random() < .9 else None))
    calls.sort(key=lambda c: c.start)
    status = np.array([-1 if c.final_status is None else c.final_status for c in calls], np.int32)
    duration = np.array([np.nan if c.duration_s is None else c.duration_s for c in calls])
    pdd = np.array([np.nan if c.pdd_ms is None else c.pdd_ms for c in calls])
    for count_487 in (False, True):
        assert kpi_columns.ratios(status, duration, count_487) == kpi.ratios(calls, count_487=count_487)
    ok, failed = kpi.setup_pdds(calls)
    ok_c, failed_c = kpi_columns.setup_pdds(status, pdd)
    assert (kpi.percentiles(ok), kpi.percentiles(failed)) == (kpi.percentiles(ok_c), kpi.percentiles(failed_c))
    policy = Policy(spike_min_count=2, spike_min_percent=10.0)
    columns = KpiColumns(policy)
    txs = [kpi.TransactionRecord(rng.choice(["a", "b"]), rng.choice(["INVITE", "BYE"]),
                                 rng.choice([None, 100, 200, 503, 486]), c.start, rng.choice([0, 0, 1, 3]))
           for c in calls]
    for c, t in zip(calls, txs, strict=True):
        columns.add(c)
        columns.add_transaction(t)
    assert columns.windows() == kpi.windows(calls, policy)
    _, trunk, status_c, _, duration_c = columns.columns()
    assert columns.by_trunk(trunk, status_c, duration_c) == {
        t: kpi.ratios([c for c in calls if c.trunk == t]) for t in ("a", "b")}
    assert columns.response_codes() == kpi.response_codes(txs)
    assert dict(sorted(columns.retransmissions.items())) == kpi.retransmissions(txs)
    assert columns.spikes_503() == kpi.spikes_503(txs, policy) != []


@pytest.fixture(scope="module")
def many_calls(tmp_path_factory) -> dict[int, Path]:
    """A capture of 5 k and one of 50 k calls, written once for both commands."""
    folder = tmp_path_factory.mktemp("many-calls")
    paths = {}
    for calls in (5_000, 50_000):
        paths[calls] = folder / f"{calls}.pcap"
        write_calls(paths[calls], calls)
    return paths


def peak_rss_mib(path: Path, command: str) -> float:
    code, _, err, rss = run_cli(command, path, "--format", "json", timeout=1000)
    assert code in (0, 1), err
    return float(rss)


@pytest.mark.timeout(2400)
@pytest.mark.parametrize("command", ["calls", "stats"])
def test_peak_rss_is_flat_in_the_number_of_calls(many_calls, command):
    small, large = (peak_rss_mib(many_calls[calls], command) for calls in (5_000, 50_000))
    # every dialog held (folded, not whole) went 6.5x from 10k to 100k calls
    assert large / small < 1.5, f"{small:.0f} MiB -> {large:.0f} MiB"
