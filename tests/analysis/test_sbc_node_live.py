"""A capture of the rendered SBC (kamailio) between SIPp and silent peers (sbc_node): every
call's trunk, hops, final status and findings, and the per-trunk figures, against the
truth the peers logged."""

from __future__ import annotations

import pytest

from tests.analysis import sbc_node as live
from tests.conftest import need_tool
from voxops.analysis.call_list import summarize
from voxops.analysis.diagnosis import diagnose_call
from voxops.analysis.dialogs import dialogs_for
from voxops.analysis.loader import analyse_capture, policy_for
from voxops.analysis.trunkstats import stats_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    for tool in ("kamailio", "sipp", "dumpcap", "kamcmd"):
        need_tool(tool)
    capture = live.generate(tmp_path_factory.mktemp("sbc-node-live"))
    analysis = analyse_capture(capture.pcap)
    return capture, analysis, policy_for(capture.spec)


def _expected_hops(truth: live.CallTruth) -> list[tuple[str, list[tuple[str, str]]]]:
    caller = "agent-2" if truth.direction == "out" else "carrier-b"
    if truth.final_status == 486:
        return [(caller, [("sbc-1", "rejected")])]
    outcomes = [(node, "no-answer") for node in truth.tried[:-1]] + [(truth.tried[-1], "answered")]
    return [(caller, [("sbc-1", "answered")]), ("sbc-1", outcomes)]


def test_the_scenario_is_what_it_claims(node):
    capture, _, _ = node
    out = [t for t in capture.calls.values() if t.direction == "out"]
    assert len(out) == live.OUTBOUND_CALLS and len(capture.calls) == live.OUTBOUND_CALLS + live.INBOUND_CALLS
    assert sum(t.final_status == 200 for t in out) >= 50  # at least 50 calls up at once
    assert sum(t.final_status == 486 for t in out) == live.OUTBOUND_CALLS - live.ADMITTED
    assert any("carrier-a" in t.tried for t in out) and any("agent-1" in t.tried for t in capture.calls.values())


def test_every_call_has_its_trunk_hops_and_status(node):
    capture, analysis, policy = node
    rows = {r.call_id: r for r in summarize(analysis.dialogs, policy=policy)}
    for cid, truth in capture.calls.items():
        row = rows[cid]
        assert (row.final_status, row.trunk) == (truth.final_status, truth.trunk), cid
        assert [(h.node, [(a.to, a.outcome) for a in h.attempts]) for h in row.hops] == _expected_hops(truth), cid
        if truth.silent_transmissions:
            (failover,) = row.failovers
            assert failover.failed == truth.tried[0] and failover.to == truth.tried[1]
            assert row.hops[1].attempts[0].transmissions == truth.silent_transmissions


def test_every_call_has_the_findings_of_its_fault(node):
    capture, analysis, policy = node
    for cid, truth in capture.calls.items():
        result = diagnose_call(dialogs_for(analysis.dialogs, [cid]), analysis.streams, cid, policy)
        # the SIPp peers send no RTP: "no media" is true of every answered call here
        findings = [f for f in result.findings if f.code != "no-media"]
        codes = {f.code for f in findings}
        if truth.final_status == 486:
            (busy,) = findings
            assert (busy.code, busy.evidence["refused_by"], busy.evidence["node"]) == ("busy-here", "admission", "sbc-1")
        elif truth.silent_transmissions:
            retrans = truth.silent_transmissions - 1
            (failover,) = [f for f in findings if f.code == "failover"]
            after = failover.evidence["after_s"]
            assert abs(after - live.FAILOVER_MS / 1000) < 0.25, after  # kamailio's timer ticks
            assert failover.message.startswith(
                f"{truth.tried[0]} did not answer the INVITE or its {retrans} retransmissions; "
                f"sbc-1 failed over to {truth.tried[1]} after {after:.1f} s"), failover.message
            assert codes <= {"failover", "sip-retransmissions", "high-pdd"}, (cid, codes)
        else:
            assert [f for f in findings if f.severity.value != "info"] == [], (cid, findings)


def test_per_trunk_figures_equal_the_truth(node):
    capture, analysis, policy = node
    report = stats_report(str(capture.pcap), analysis.dialogs, analysis.streams, policy)
    calls = capture.calls.values()
    assert report.calls == len(capture.calls)
    assert report.answered == sum(t.final_status == 200 for t in calls)
    assert set(report.trunks) <= {live.TRUNK_A, live.TRUNK_B}  # never sbc-1 nor an agent
    tried_a = sum("carrier-a" in t.tried for t in calls)
    via_b = sum(t.trunk == live.TRUNK_B for t in calls)
    a, b = report.trunks.get(live.TRUNK_A), report.trunks[live.TRUNK_B]
    assert ((a.calls, a.answered) if a else (0, 0)) == (tried_a, 0)
    assert (b.calls, b.answered) == (via_b, via_b)
    assert report.response_codes[live.TRUNK_B]["INVITE 200"] == via_b
