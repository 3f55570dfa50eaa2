"""A fault capture made live: SIPp signalling, our RTP sender, tshark capturing as root."""

from __future__ import annotations

import pytest

from tests.analysis.fault_captures import SCENARIOS, run
from tests.analysis.test_streams import tshark_streams
from tests.conftest import need_root, need_tool
from voxops.analysis.diagnosis import diagnose_call
from voxops.analysis.loader import analyse_capture
from voxops.analysis.policy import Policy


@pytest.mark.slow
def test_live_one_way_capture_is_diagnosed(tmp_path):
    need_root()
    need_tool("sipp")
    need_tool("tshark")
    pcap = run(SCENARIOS["one_way"], tmp_path / "one_way.pcap")
    analysis = analyse_capture(pcap)
    (dialog,) = analysis.dialogs
    result = diagnose_call(analysis.dialogs, analysis.streams, dialog.call_id, Policy())
    assert result.final_status == 200
    assert [f.code for f in result.findings] == ["one-way-audio"]
    reference = tshark_streams(pcap, [])
    assert {(s.src, s.dst, s.ssrc) for s in analysis.streams} == set(reference)
    (stream,) = analysis.streams
    assert stream.packets == next(iter(reference.values()))["packets"]
