"""Calls on an SBC node's capture, against the truth of how it was built (sbc_synthetic):
hops, attempts, failovers, trunks, who refused, which media belongs to which call."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis import sbc_synthetic as node
from voxops.analysis.call_list import summarize
from voxops.analysis.diagnosis import diagnose_call
from voxops.analysis.dialogs import dialogs_for
from voxops.analysis.loader import analyse_capture, load_call, policy_for
from voxops.analysis.trunkstats import stats_report


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    return node.build(tmp_path_factory.mktemp("sbc-node"))


@pytest.fixture(scope="module")
def analysis(capture):
    return analyse_capture(capture)


@pytest.fixture(scope="module")
def policy():
    return policy_for(node.SPEC)


@pytest.mark.parametrize("call_id", list(node.TRUTH))
def test_each_call_has_its_hops_trunk_status_and_findings(analysis, policy, call_id):
    truth = node.TRUTH[call_id]
    result = diagnose_call(dialogs_for(analysis.dialogs, [call_id]), analysis.streams, call_id, policy)
    assert result.trunk == truth.trunk
    assert result.final_status == truth.final_status
    assert result.path is not None
    assert [(h.node, [(a.to, a.outcome) for a in h.attempts]) for h in result.path.hops] == truth.hops
    assert {f.code for f in result.findings} == truth.codes, result.findings


def test_failover_names_the_nodes_and_the_retransmissions(analysis, policy):
    result = diagnose_call(dialogs_for(analysis.dialogs, [node.FAILOVER]), analysis.streams, node.FAILOVER, policy)
    (failover,) = [f for f in result.findings if f.code == "failover"]
    assert failover.message.startswith(
        "carrier-a did not answer the INVITE or its 2 retransmissions; sbc-1 failed over to carrier-b after 3.0 s")
    assert failover.evidence["hop"] == "sbc-1 -> carrier-a"
    sbc_hop = result.path.hops[1]
    assert [a.transmissions for a in sbc_hop.attempts] == [3, 1]


def test_calls_answered_within_a_millisecond_on_the_same_ports_are_ambiguous_not_silent(analysis, policy):
    for call_id in (node.FAILOVER, node.TWIN):
        result = diagnose_call(dialogs_for(analysis.dialogs, [call_id]), analysis.streams, call_id, policy)
        codes = {f.code for f in result.findings}
        assert not codes & {"no-media", "one-way-audio"}
        assert len(result.streams) == 4 and all(s.claimed_by for s in result.streams)


def test_admission_486_is_busy_here_from_the_sbc_not_setup_failed(analysis, policy):
    result = diagnose_call(dialogs_for(analysis.dialogs, [node.BUSY]), analysis.streams, node.BUSY, policy)
    (busy,) = result.findings
    assert (busy.code, busy.runbook, busy.evidence["refused_by"]) == ("busy-here", "agent-pool-saturated", "admission")
    assert "sbc-1's admission control" in busy.message
    assert result.streams == []  # media of the other calls on the same agent port is not its own


def test_calls_json_has_trunk_and_hops(analysis, policy):
    rows = {r.call_id: r for r in summarize(analysis.dialogs, policy=policy)}
    for call_id, truth in node.TRUTH.items():
        row = rows[call_id]
        assert row.trunk == truth.trunk
        assert [(h.node, [(a.to, a.outcome) for a in h.attempts]) for h in row.hops] == truth.hops
    assert [f.message for f in rows[node.FAILOVER].failovers] == [
        "carrier-a did not answer the INVITE or its 2 retransmissions; sbc-1 failed over to carrier-b after 3.0 s"]


def test_per_trunk_figures_count_each_call_once_on_its_carrier(analysis, policy):
    report = stats_report("x", analysis.dialogs, analysis.streams, policy)
    assert report.calls == 5 and report.answered == 4
    assert set(report.trunks) == {node.TRUNK_A, node.TRUNK_B}  # neither sbc-1 nor an agent
    a, b = report.trunks[node.TRUNK_A], report.trunks[node.TRUNK_B]
    # carrier-a: FAILOVER's unanswered attempt and NO_BYE's inbound call
    assert (a.calls, a.seizures, a.answered) == (2, 2, 1)
    # carrier-b: FAILOVER and TWIN outbound, DTMF inbound
    assert (b.calls, b.seizures, b.answered) == (3, 3, 3)
    assert report.response_codes[node.TRUNK_B]["INVITE 200"] == 3
    assert "INVITE 200" not in report.response_codes.get(node.TRUNK_A, {}) or \
        report.response_codes[node.TRUNK_A]["INVITE 200"] == 1
    assert report.retransmissions == {node.TRUNK_A: 2}
    assert all(set(w.trunks) <= {node.TRUNK_A, node.TRUNK_B} for w in report.windows)  # the 486 is in no trunk


def test_telephone_events_stay_out_of_jitter_and_mos(analysis, policy):
    (events,) = [s for s in analysis.streams if s.call_id == node.DTMF and 101 in s.payload_types]
    assert events.telephone_events == 50
    assert events.max_jitter_ms < 1.0 and events.max_delta_ms < 21.0
    assert events.jitter_buffer_discards == 0 and events.lost == 0


def test_a_stream_without_bye_is_drawn_whole(capture):
    from voxops.analysis.ladder import build_ladder
    from voxops.capture.engines import Engine
    from voxops.views.ladder import load_call as load_ladder_call

    dialogs, udp = load_ladder_call(capture, [node.NO_BYE], ("X-CID",), engine=Engine.native, tls_keylog=None,
                                    warn=None)
    ladder = build_ladder(dialogs, udp=udp)
    assert sorted(s.packets for s in ladder.spans) == [int(node.NO_BYE_SECONDS * 50)] * 2


def test_export_and_ladder_of_the_486_call_hold_only_its_messages(capture):
    from voxops.analysis.ladder import call_frames
    from voxops.capture.engines import Engine
    from voxops.views.ladder import load_call as load_ladder_call

    dialogs, udp = load_ladder_call(capture, [node.BUSY], ("X-CID",), engine=Engine.native, tls_keylog=None,
                                    warn=None)
    assert len(call_frames(dialogs, udp)) == 3


def test_index_keeps_an_ambiguous_stream_for_both_calls(capture, policy):
    for call_id in (node.FAILOVER, node.TWIN):
        load_call(capture, call_id)  # builds the index on the first call
        dialogs, streams = load_call(capture, call_id)
        assert len([s for s in streams if s.call_id == call_id or call_id in s.claimed_by]) == 4
